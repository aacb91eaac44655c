package sip

import (
	"context"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/switchboard/switchboard/resolve"
	"github.com/switchboard/switchboard/trunk"
)

// Trunk is a carrier connection: where outbound calls go, how to
// authenticate and register there, and which sources may send calls to
// tenant numbers without a challenge.
type Trunk struct {
	Name string
	// Address is host[:port] or a DNS name resolved per RFC 3263.
	Address   string
	Transport string // udp, tcp, tls; "" = NAPTR's choice, else udp
	// TLSCA is a PEM file of CA certificates the carrier's TLS certificate
	// may chain to, besides the system roots; "" = system roots only.
	TLSCA string
	// Username and Password answer the carrier's 401/407 challenges.
	Username, Password string
	Register           bool
	RegisterExpires    time.Duration // default 600s
	InboundFrom        []netip.Prefix
	Priority, Weight   int
	Probe              time.Duration // OPTIONS interval; 0 = none
	MaxCalls           int           // 0 = no limit
	NumberFormat       string        // trunk.E164 (default), trunk.E164NoPlus, trunk.National
	FailAfter          time.Duration // no provisional within this: next trunk (default 2s)
	DIDFrom            string        // ruri (default), to, p-called-party-id, diversion
	Private            bool
}

// Resolver turns a trunk address into places to send to (resolve.Resolver).
type Resolver interface {
	Resolve(ctx context.Context, address, transport string) ([]resolve.Target, error)
}

// trunkState is one trunk's live state: health, calls in progress and the
// registration's flow. Guarded by trunks.mu.
type trunkState struct {
	cfg    Trunk
	health trunk.Health
	active int
	// registered is the carrier address our registration was accepted by
	// (ip:port) and until when; inbound calls from its IP are this trunk's.
	registered    string
	registeredTil time.Time
	// flowHosts are the IPs the trunk's address resolved to at the last
	// registration: with no inbound_from, calls from any of them are the
	// trunk's while the registration lives (a carrier's SRV set often
	// sends calls from another server than the registrar).
	flowHosts  map[string]bool
	regError   string
	lastProbe  time.Time
	probeError string
}

// trunks is the server's set of trunks.
type trunks struct {
	mu      sync.Mutex
	byName  map[string]*trunkState
	order   []string // config order
	specs   []trunk.Spec
	rnd     func(int) int
	metrics *trunkMetrics
}

func newTrunks(cfg []Trunk, m *trunkMetrics) *trunks {
	ts := &trunks{byName: map[string]*trunkState{}, rnd: rand.IntN, metrics: m}
	for _, t := range cfg {
		if t.FailAfter <= 0 {
			t.FailAfter = 2 * time.Second
		}
		if t.RegisterExpires <= 0 {
			t.RegisterExpires = 600 * time.Second
		}
		ts.byName[t.Name] = &trunkState{cfg: t}
		ts.order = append(ts.order, t.Name)
		ts.specs = append(ts.specs, trunk.Spec{Name: t.Name, Priority: t.Priority, Weight: t.Weight, Private: t.Private})
		m.up.WithLabelValues(t.Name).Set(1)
		m.active.WithLabelValues(t.Name).Set(0)
		if t.Register {
			m.registered.WithLabelValues(t.Name).Set(0)
		}
	}
	return ts
}

// huntOrder is the trunks a tenant's call may use, in hunt order.
func (ts *trunks) huntOrder(tenant []string) []string {
	return trunk.Order(ts.specs, tenant, ts.rnd)
}

// get returns a copy of a trunk's configuration.
func (ts *trunks) get(name string) (Trunk, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	st := ts.byName[name]
	if st == nil {
		return Trunk{}, false
	}
	return st.cfg, true
}

// acquire takes a call slot on a trunk that is up and below max_calls; why
// says what refused it. An emergency call is never refused by max_calls (it
// still counts).
func (ts *trunks) acquire(name string, now time.Time, emergency bool) (ok bool, why string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	st := ts.byName[name]
	if st == nil {
		return false, "unknown"
	}
	if ok, why := st.health.Usable(now); !ok {
		return false, why
	}
	if st.cfg.MaxCalls > 0 && st.active >= st.cfg.MaxCalls && !emergency {
		return false, "max_calls"
	}
	st.active++
	ts.metrics.active.WithLabelValues(name).Set(float64(st.active))
	return true, ""
}

// release gives a call slot back.
func (ts *trunks) release(name string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if st := ts.byName[name]; st != nil && st.active > 0 {
		st.active--
		ts.metrics.active.WithLabelValues(name).Set(float64(st.active))
	}
}

// retryAfter records a 503 Retry-After from a trunk.
func (ts *trunks) retryAfter(name string, d time.Duration) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if st := ts.byName[name]; st != nil {
		st.health.RetryAfter(time.Now(), d)
	}
}

// probed records a probe result.
func (ts *trunks) probed(name string, ok bool, errText string) (changed, down bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	st := ts.byName[name]
	if st == nil {
		return false, false
	}
	changed = st.health.Probe(ok)
	st.lastProbe, st.probeError = time.Now(), errText
	up := 1.0
	if st.health.Down() {
		up = 0
	}
	ts.metrics.up.WithLabelValues(name).Set(up)
	return changed, st.health.Down()
}

// setRegistered records a registration's state: the carrier address that
// accepted it (and until when), or the error of the last attempt.
func (ts *trunks) setRegistered(name, addr string, until time.Time, errText string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	st := ts.byName[name]
	if st == nil {
		return
	}
	st.registered, st.registeredTil, st.regError = addr, until, errText
	v := 0.0
	if addr != "" {
		v = 1
	}
	ts.metrics.registered.WithLabelValues(name).Set(v)
}

// setFlowAddrs records the resolved addresses of a registered trunk.
func (ts *trunks) setFlowAddrs(name string, targets []resolve.Target) {
	hosts := map[string]bool{}
	for _, tg := range targets {
		if h, _, err := net.SplitHostPort(tg.Addr); err == nil {
			hosts[h] = true
		}
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if st := ts.byName[name]; st != nil {
		st.flowHosts = hosts
	}
}

// byFlow returns the trunk whose live registration was accepted from the
// source's IP address: the carrier sends calls for the registered contact
// from its registrar (or the same host).
func (ts *trunks) byFlow(source string, now time.Time) (Trunk, bool) {
	host, _, err := net.SplitHostPort(source)
	if err != nil {
		return Trunk{}, false
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, name := range ts.order {
		st := ts.byName[name]
		if st.registered == "" || now.After(st.registeredTil) {
			continue
		}
		if h, _, err := net.SplitHostPort(st.registered); err == nil && h == host {
			return st.cfg, true
		}
		if st.flowHosts[host] {
			return st.cfg, true
		}
	}
	return Trunk{}, false
}

// Trunks reports every trunk's state, in config order.
func (s *Server) Trunks() []trunk.Status {
	ts := s.trunks
	ts.mu.Lock()
	defer ts.mu.Unlock()
	now := time.Now()
	out := make([]trunk.Status, 0, len(ts.order))
	for _, name := range ts.order {
		st := ts.byName[name]
		up, why := st.health.Usable(now)
		s := trunk.Status{Name: name, Address: st.cfg.Address, Transport: st.cfg.Transport, Priority: st.cfg.Priority,
			Weight: st.cfg.Weight, Private: st.cfg.Private, Up: up, Reason: why, CallsActive: st.active,
			MaxCalls: st.cfg.MaxCalls, LastProbe: st.lastProbe, ProbeError: st.probeError, Register: st.cfg.Register}
		if st.cfg.Probe > 0 {
			s.Probe = st.cfg.Probe.String()
		}
		if st.registered != "" && now.Before(st.registeredTil) {
			s.Registered, s.RegisteredWith, s.RegistrationUntil = true, st.registered, st.registeredTil
		}
		s.RegisterError = st.regError
		out = append(out, s)
	}
	return out
}
