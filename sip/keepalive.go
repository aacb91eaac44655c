package sip

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchboard/switchboard/location"
)

// NAT keepalive for phones registered over UDP (sip.keepalive). A phone
// behind a NAT that refreshes its registration rarely loses the pinhole,
// and calls to it vanish. One sweeper goroutine (no timer or goroutine
// per registration) sends every UDP flow this instance holds an OPTIONS
// per interval, statelessly; the answer — any status, 200 or 405 alike —
// comes back as a response matching no transaction (strayResponse) and
// marks the flow alive. A flow that has not answered the last
// keepaliveMisses probes is taken out of the location store at once, so
// calls stop being forked to a dead device long before its expiry.
//
//	REGISTER over UDP ──▶ track(flow)          every interval: sweep
//	                                             ├ expired → forget
//	OPTIONS answer ──▶ alive(flow)               ├ misses reached → unregister
//	                                             └ else OPTIONS ka-… → flow

// keepaliveMisses is how many probes in a row may go unanswered.
const keepaliveMisses = 2

const keepaliveCallID = "ka-"

type kaFlow struct {
	aor, tenant, contact string
	expires              time.Time
	unanswered           int
}

type keepalive struct {
	interval time.Duration
	dropped  prometheus.Counter
	probes   prometheus.Counter

	mu    sync.Mutex
	flows map[string]*kaFlow // by "ip:port" of the UDP flow
}

func newKeepalive(interval time.Duration, reg prometheus.Registerer) *keepalive {
	f := promauto.With(reg)
	return &keepalive{interval: interval, flows: map[string]*kaFlow{},
		probes: f.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_keepalive_probes_total",
			Help: "OPTIONS keepalives sent to UDP registrations.",
		}),
		dropped: f.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_keepalive_dropped_total",
			Help: "UDP registrations removed because their device stopped answering keepalives.",
		}),
	}
}

// track notes the UDP bindings of a REGISTER's flow this instance holds.
func (s *Server) trackKeepalive(req *sip.Request, bindings []location.Binding) {
	k := s.ka
	if k.interval == 0 || !strings.EqualFold(req.Transport(), "udp") {
		return
	}
	src := req.Source()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, b := range bindings {
		if b.Source != src || !strings.EqualFold(b.Transport, "udp") {
			continue
		}
		k.flows[src] = &kaFlow{aor: b.AOR, tenant: b.Tenant, contact: b.Contact, expires: b.Expires}
	}
}

// keepaliveResponse takes the answer to one of our probes.
func (s *Server) keepaliveResponse(res *sip.Response) bool {
	if res.CallID() == nil || !strings.HasPrefix(res.CallID().Value(), keepaliveCallID) {
		return false
	}
	k := s.ka
	k.mu.Lock()
	if f := k.flows[res.Source()]; f != nil {
		f.unanswered = 0
	}
	k.mu.Unlock()
	return true
}

// runKeepalive is the sweeper; it returns when ctx ends.
func (s *Server) runKeepalive(ctx context.Context) {
	if s.ka.interval == 0 {
		return
	}
	t := time.NewTicker(s.ka.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.sweepKeepalive(ctx, now)
		}
	}
}

func (s *Server) sweepKeepalive(ctx context.Context, now time.Time) {
	k := s.ka
	type probe struct {
		addr string
		f    kaFlow
	}
	var send, dead []probe
	k.mu.Lock()
	for addr, f := range k.flows {
		switch {
		case !now.Before(f.expires):
			delete(k.flows, addr)
		case f.unanswered >= keepaliveMisses:
			delete(k.flows, addr)
			dead = append(dead, probe{addr, *f})
		default:
			f.unanswered++
			send = append(send, probe{addr, *f})
		}
	}
	k.mu.Unlock()
	for _, p := range dead {
		s.dropDeadFlow(ctx, p.addr, p.f)
	}
	host, port := s.localAddr("udp")
	for _, p := range send {
		s.sendProbe(p.addr, p.f, host, port)
	}
}

// sendProbe writes one OPTIONS without a transaction: its answer is
// matched by Call-ID in keepaliveResponse.
func (s *Server) sendProbe(addr string, f kaFlow, host string, port int) {
	var uri sip.Uri
	if sip.ParseUri(f.contact, &uri) != nil {
		return
	}
	r := sip.NewRequest(sip.OPTIONS, uri)
	me := sip.Uri{Scheme: "sip", User: "switchboard", Host: host, Port: port}
	r.AppendHeader(&sip.FromHeader{Address: me, Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(8)}}})
	r.AppendHeader(&sip.ToHeader{Address: uri, Params: sip.NewParams()})
	cid := sip.CallIDHeader(keepaliveCallID + sip.GenerateTagN(16))
	r.AppendHeader(&cid)
	r.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.OPTIONS})
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	r.SetTransport("UDP")
	r.SetDestination(addr)
	s.ka.probes.Inc()
	if err := s.client.WriteRequest(r, sipgo.ClientRequestAddVia); err != nil {
		s.log.Debug("keepalive send failed", "dest", addr, "error", err)
	}
}

// dropDeadFlow removes the bindings of a flow that stopped answering.
func (s *Server) dropDeadFlow(ctx context.Context, addr string, f kaFlow) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err := s.loc.Update(ctx, f.aor, f.tenant, func(_ time.Time, cur []location.Binding) ([]location.Binding, error) {
		out := make([]location.Binding, 0, len(cur))
		for _, b := range cur {
			if b.Source == addr && strings.EqualFold(b.Transport, "udp") {
				continue
			}
			out = append(out, b)
		}
		return out, nil
	})
	if err != nil {
		s.log.Warn("keepalive: cannot remove a dead contact", "error", err)
		return
	}
	s.ka.dropped.Inc()
	s.log.Info("contact stopped answering keepalives; unregistered", "tenant", f.tenant, "source", addr)
}
