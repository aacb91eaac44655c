// Package resolve finds where to send SIP requests for a trunk address, per
// RFC 3263: a numeric address is used as is; a name with a port is looked up
// as A/AAAA; a name with a transport but no port as the SRV records of that
// transport; a bare name as NAPTR (choosing the transport), then SRV, then
// A/AAAA. SRV targets are ordered by priority and weight (RFC 2782) and every
// address of every target is returned, so a caller fails over by walking the
// list.
//
// Answers are cached for their TTL. A lookup never waits longer than the
// configured timeout: an expired answer is returned at once while a
// background query refreshes it (stale-while-refresh), and a failed refresh
// keeps the stale answer. It owns github.com/miekg/dns; no sip types here.
package resolve

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/switchboard/switchboard/internal/rfc2782"
)

// Target is one place to send a request.
type Target struct {
	Addr      string // ip:port
	Transport string // udp, tcp or tls
}

func (t Target) String() string { return t.Transport + ":" + t.Addr }

// Config configures a Resolver.
type Config struct {
	// Servers are the DNS servers to ask (ip or ip:port), in order; empty =
	// the nameservers of /etc/resolv.conf.
	Servers []string
	// Timeout bounds one Resolve call (default 1s).
	Timeout time.Duration
	// Rand returns a value in [0, n) for the SRV weight draw; nil =
	// math/rand/v2.IntN.
	Rand func(n int) int
	// Now is the clock for TTLs; nil = time.Now.
	Now func() time.Time
	// MaxTTL caps how long an answer is kept (default 1h); negative answers
	// are kept at most NegativeTTL (default 30s).
	MaxTTL, NegativeTTL time.Duration
}

// ErrNotFound is returned when a name has no usable records.
var ErrNotFound = errors.New("resolve: no records")

// Resolver resolves trunk addresses with a TTL cache. It is safe for
// concurrent use; Close stops its background refreshes.
type Resolver struct {
	cfg     Config
	servers []string
	client  *dns.Client

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	cache map[cacheKey]*entry
	// queries counts DNS queries sent, by type, for tests and debugging.
	queries map[uint16]int
}

type cacheKey struct {
	name  string
	qtype uint16
}

type entry struct {
	rrs        []dns.RR
	expires    time.Time
	refreshing bool
}

// New builds a resolver.
func New(cfg Config) (*Resolver, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.IntN
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxTTL <= 0 {
		cfg.MaxTTL = time.Hour
	}
	if cfg.NegativeTTL <= 0 {
		cfg.NegativeTTL = 30 * time.Second
	}
	servers := make([]string, 0, len(cfg.Servers))
	for _, s := range cfg.Servers {
		servers = append(servers, withPort(s, "53"))
	}
	if len(servers) == 0 {
		cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return nil, fmt.Errorf("resolve: read /etc/resolv.conf: %w", err)
		}
		for _, s := range cc.Servers {
			servers = append(servers, net.JoinHostPort(s, cc.Port))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Resolver{
		cfg: cfg, servers: servers, client: &dns.Client{Net: "udp", Timeout: cfg.Timeout},
		ctx: ctx, cancel: cancel, cache: map[cacheKey]*entry{}, queries: map[uint16]int{},
	}, nil
}

// Close stops background refreshes and waits for them. Idempotent.
func (r *Resolver) Close() {
	r.cancel()
	r.wg.Wait()
}

// Queries reports how many queries of a type (dns.TypeSRV, …) were sent.
func (r *Resolver) Queries(qtype uint16) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queries[qtype]
}

// Resolve returns the targets for a trunk address ("host", "host:port",
// "[v6]:port") and configured transport ("" = let NAPTR choose, else udp),
// best first.
func (r *Resolver) Resolve(ctx context.Context, address, transport string) ([]Target, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	host, port := splitAddress(address)
	if a, err := netip.ParseAddr(host); err == nil {
		tr := orUDP(transport)
		return []Target{{Addr: net.JoinHostPort(a.String(), portOr(port, tr)), Transport: tr}}, nil
	}
	name := dns.Fqdn(strings.ToLower(host))
	if port != "" {
		tr := orUDP(transport)
		return r.hosts(ctx, name, port, tr)
	}
	if transport != "" {
		ts, err := r.srv(ctx, srvName(transport, name), transport)
		if err == nil && len(ts) > 0 {
			return ts, nil
		}
		return r.hosts(ctx, name, portOr("", transport), transport)
	}
	if ts, err := r.naptr(ctx, name); err == nil && len(ts) > 0 {
		return ts, nil
	}
	// RFC 3263 §4.1: no NAPTR — SRV for each transport we support.
	for _, tr := range []string{"udp", "tcp"} {
		if ts, err := r.srv(ctx, srvName(tr, name), tr); err == nil && len(ts) > 0 {
			return ts, nil
		}
	}
	return r.hosts(ctx, name, "5060", "udp")
}

// naptr follows the NAPTR records of name that lead to SIP SRV records, in
// order then preference.
func (r *Resolver) naptr(ctx context.Context, name string) ([]Target, error) {
	rrs, err := r.lookup(ctx, name, dns.TypeNAPTR)
	if err != nil {
		return nil, err
	}
	type np struct {
		order, pref int
		transport   string
		repl        string
	}
	var ns []np
	for _, rr := range rrs {
		n, ok := rr.(*dns.NAPTR)
		if !ok || !strings.EqualFold(n.Flags, "s") {
			continue
		}
		tr := map[string]string{"SIP+D2U": "udp", "SIP+D2T": "tcp", "SIPS+D2T": "tls"}[strings.ToUpper(n.Service)]
		if tr == "" {
			continue
		}
		ns = append(ns, np{int(n.Order), int(n.Preference), tr, n.Replacement})
	}
	// Order is the primary key, preference the secondary; rfc2782.Order
	// with a weight of 0 keeps the input order within a key, so sort by a
	// combined key.
	ns = rfc2782.Order(ns, func(n np) int { return n.order<<16 | n.pref }, func(np) int { return 0 }, func(int) int { return 0 })
	var out []Target
	for _, n := range ns {
		ts, err := r.srv(ctx, n.repl, n.transport)
		if err != nil {
			continue
		}
		out = append(out, ts...)
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return out, nil
}

// srv returns the targets of an SRV name, ordered per RFC 2782.
func (r *Resolver) srv(ctx context.Context, name, transport string) ([]Target, error) {
	rrs, err := r.lookup(ctx, name, dns.TypeSRV)
	if err != nil {
		return nil, err
	}
	var srvs []*dns.SRV
	for _, rr := range rrs {
		if s, ok := rr.(*dns.SRV); ok && s.Target != "." {
			srvs = append(srvs, s)
		}
	}
	srvs = rfc2782.Order(srvs, func(s *dns.SRV) int { return int(s.Priority) }, func(s *dns.SRV) int { return int(s.Weight) }, r.cfg.Rand)
	var out []Target
	for _, s := range srvs {
		ts, err := r.hosts(ctx, s.Target, strconv.Itoa(int(s.Port)), transport)
		if err != nil {
			continue
		}
		out = append(out, ts...)
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return out, nil
}

// hosts returns the A addresses of name, or its AAAA addresses when it has
// no A records.
func (r *Resolver) hosts(ctx context.Context, name, port, transport string) ([]Target, error) {
	var out []Target
	var firstErr error
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, err := r.lookup(ctx, name, qt)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		for _, rr := range rrs {
			switch a := rr.(type) {
			case *dns.A:
				out = append(out, Target{Addr: net.JoinHostPort(a.A.String(), port), Transport: transport})
			case *dns.AAAA:
				out = append(out, Target{Addr: net.JoinHostPort(a.AAAA.String(), port), Transport: transport})
			}
		}
		if len(out) > 0 {
			// IPv4 answered: skip the AAAA query (one round trip less on
			// the call path; carriers publish v4 for SIP).
			break
		}
	}
	if len(out) == 0 {
		if firstErr != nil && !errors.Is(firstErr, ErrNotFound) {
			return nil, firstErr
		}
		return nil, fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	return out, nil
}

// lookup answers from the cache, or asks the servers. An expired entry is
// returned at once while a background query refreshes it.
func (r *Resolver) lookup(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	k := cacheKey{name, qtype}
	now := r.cfg.Now()
	r.mu.Lock()
	e := r.cache[k]
	if e != nil {
		if now.Before(e.expires) {
			rrs := e.rrs
			r.mu.Unlock()
			return found(rrs)
		}
		if !e.refreshing && r.ctx.Err() == nil {
			e.refreshing = true
			r.wg.Add(1)
			go r.refresh(k)
		}
		rrs := e.rrs
		r.mu.Unlock()
		return found(rrs)
	}
	r.mu.Unlock()
	rrs, ttl, err := r.query(ctx, name, qtype)
	if err != nil {
		return nil, err
	}
	r.store(k, rrs, ttl)
	return found(rrs)
}

func found(rrs []dns.RR) ([]dns.RR, error) {
	if len(rrs) == 0 {
		return nil, ErrNotFound
	}
	return rrs, nil
}

// refresh re-queries an expired entry in the background; a failure keeps
// the stale answer and lets the next lookup try again.
func (r *Resolver) refresh(k cacheKey) {
	defer r.wg.Done()
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.Timeout)
	defer cancel()
	rrs, ttl, err := r.query(ctx, k.name, k.qtype)
	if err != nil {
		r.mu.Lock()
		if e := r.cache[k]; e != nil {
			e.refreshing = false
		}
		r.mu.Unlock()
		return
	}
	r.store(k, rrs, ttl)
}

func (r *Resolver) store(k cacheKey, rrs []dns.RR, ttl time.Duration) {
	r.mu.Lock()
	r.cache[k] = &entry{rrs: rrs, expires: r.cfg.Now().Add(ttl)}
	r.mu.Unlock()
}

// query asks each server in turn. It returns the answer records of qtype
// (CNAMEs followed within the answer) and the TTL to keep them: the lowest
// record TTL, or for an empty answer the SOA minimum capped at NegativeTTL.
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, time.Duration, error) {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	r.mu.Lock()
	r.queries[qtype]++
	r.mu.Unlock()
	var lastErr error
	for _, srv := range r.servers {
		in, _, err := r.client.ExchangeContext(ctx, m, srv)
		if err == nil && in.Truncated {
			tcp := &dns.Client{Net: "tcp", Timeout: r.cfg.Timeout}
			in, _, err = tcp.ExchangeContext(ctx, m, srv)
		}
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		switch in.Rcode {
		case dns.RcodeSuccess, dns.RcodeNameError:
		default:
			lastErr = fmt.Errorf("%s %s: %s", name, dns.TypeToString[qtype], dns.RcodeToString[in.Rcode])
			continue
		}
		var rrs []dns.RR
		ttl := r.cfg.MaxTTL
		for _, rr := range in.Answer {
			if rr.Header().Rrtype == qtype {
				rrs = append(rrs, rr)
				ttl = min(ttl, time.Duration(rr.Header().Ttl)*time.Second)
			}
		}
		if len(rrs) == 0 {
			ttl = r.cfg.NegativeTTL
			for _, rr := range in.Ns {
				if soa, ok := rr.(*dns.SOA); ok {
					ttl = min(ttl, time.Duration(min(soa.Minttl, soa.Hdr.Ttl))*time.Second)
				}
			}
		}
		return rrs, ttl, nil
	}
	if lastErr == nil {
		lastErr = errors.New("no DNS server configured")
	}
	return nil, 0, fmt.Errorf("resolve %s %s: %w", name, dns.TypeToString[qtype], lastErr)
}

func srvName(transport, name string) string {
	switch transport {
	case "tls":
		return "_sips._tcp." + name
	case "tcp":
		return "_sip._tcp." + name
	default:
		return "_sip._udp." + name
	}
}

// splitAddress splits host[:port] and [v6][:port]; a bare IPv6 address has
// no port.
func splitAddress(s string) (host, port string) {
	if h, p, err := net.SplitHostPort(s); err == nil {
		return h, p
	}
	return strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), ""
}

func withPort(s, port string) string {
	if _, _, err := net.SplitHostPort(s); err == nil {
		return s
	}
	return net.JoinHostPort(strings.Trim(s, "[]"), port)
}

func orUDP(t string) string {
	if t == "" {
		return "udp"
	}
	return t
}

func portOr(port, transport string) string {
	if port != "" {
		return port
	}
	if transport == "tls" {
		return "5061"
	}
	return "5060"
}
