package sip

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// flow is how to reach one side of a dialog: the address and transport its
// requests came from (its NAT binding), not the Contact it advertises.
type flow struct {
	addr      string
	transport string
}

// dialog is a confirmed call the proxy record-routed.
type dialog struct {
	callID    string
	callerTag string
	calleeTag string
	caller    flow
	callee    flow
	answered  time.Time
	cdr       []any // fields for the CDR line written at BYE
	kind      string
	blf       []dialogEvent // confirmed states to end at BYE (blf.go)
	carrier   *carrierCall  // set when the caller is a trunk (carriertransfer.go)

	// A call through a trunk (trunk_dialog.go): the trunk, whether the
	// dialog holds one of its max_calls slots, the CSeq offset of requests
	// from the caller (one per challenge the carrier made), and the
	// credentials of the INVITE, repeated in the ACK of its 2xx.
	trunk     string
	trunkSlot bool
	// limitTenant is the tenant whose concurrent_calls slot the call
	// holds (sip/limits.go); "" when none.
	limitTenant string
	cseqBump    atomic.Uint32
	ackAuth     sip.Header
	adopted     bool // loaded from the dialog store (dialogstore.go)
}

// dialogs tracks confirmed calls for in-dialog routing, active-call metrics
// and CDRs. Keyed by Call-ID: a proxy sees one dialog per Call-ID except in
// forking races, where the first 2xx's dialog is the one tracked.
type dialogs struct {
	mu sync.Mutex
	m  map[string]*dialog
}

func (d *dialogs) add(c *call, b *branch, res *sip.Response, blf []dialogEvent) {
	dl := &dialog{
		callID:    c.req.CallID().Value(),
		callerTag: tagOf(c.req.From().Params),
		calleeTag: tagOf(res.To().Params),
		caller:    flow{addr: c.req.Source(), transport: tpLower(c.req.Transport())},
		callee:    flow{addr: b.dest, transport: tpLower(b.transport)},
		answered:  time.Now(),
		kind:      c.plan.Kind,
		blf:       blf,
		carrier:   newCarrierCall(c, b, res),
	}
	c.huntAnswered(b, dl)
	if c.limitSlot {
		dl.limitTenant, c.limitSlot = c.view.Tenant.Domain, false
	}
	dl.cdr = c.cdrFields("answered", 0)
	d.mu.Lock()
	if d.m == nil {
		d.m = make(map[string]*dialog)
	}
	d.m[dl.callID] = dl
	d.mu.Unlock()
	c.s.dsync.saved(dl)
	c.s.metrics.calls.WithLabelValues(c.plan.Kind, "answered").Inc()
}

func (d *dialogs) get(callID string) *dialog {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m[callID]
}

// adopt tracks a dialog loaded from the store unless one with its Call-ID
// is tracked already.
func (d *dialogs) adopt(dl *dialog) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = make(map[string]*dialog)
	}
	if _, ok := d.m[dl.callID]; ok {
		return false
	}
	d.m[dl.callID] = dl
	return true
}

// takeBLF returns a dialog's confirmed BLF states and forgets them, so
// they are ended once.
func (d *dialogs) takeBLF(callID string) []dialogEvent {
	d.mu.Lock()
	defer d.mu.Unlock()
	dl := d.m[callID]
	if dl == nil {
		return nil
	}
	evs := dl.blf
	dl.blf = nil
	return evs
}

func (d *dialogs) remove(callID string) *dialog {
	d.mu.Lock()
	defer d.mu.Unlock()
	dl := d.m[callID]
	delete(d.m, callID)
	return dl
}

// Len is the number of confirmed calls.
func (d *dialogs) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.m)
}

// expire drops dialogs older than maxAge: a call whose BYE was lost must not
// stay in the table (and in calls_active) forever.
func (d *dialogs) expire(maxAge time.Duration) []*dialog {
	cut := time.Now().Add(-maxAge)
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*dialog
	for id, dl := range d.m {
		if dl.answered.Before(cut) {
			out = append(out, dl)
			delete(d.m, id)
		}
	}
	return out
}

func tagOf(p sip.HeaderParams) string {
	t, _ := p.Get("tag")
	return t
}

// inDialog forwards a request inside a dialog (re-INVITE, BYE, UPDATE, INFO,
// PRACK, …) along the route set, to the flow the other side uses.
func (s *Server) inDialog(req *sip.Request, tx sip.ServerTransaction) {
	if s.carrierInDialog(req, tx) { // REFER from the callee of a carrier call (carriertransfer.go)
		return
	}
	if s.isLoop(req) {
		s.reply(tx, req, 482, "Loop Detected")
		return
	}
	dest, transport, ok := s.nextHop(req)
	if !ok {
		s.reply(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	if mf := maxForwards(req); mf <= 0 {
		s.reply(tx, req, 483, "Too Many Hops")
		return
	}
	tl := s.toTrunk(req)
	fwd := forwardHop(req, tl != nil)
	s.popOwnRoutes(fwd)
	fwd.SetTransport(tpUpper(transport))
	fwd.SetDestination(dest)
	var pristine *sip.Request
	if tl != nil {
		fwd.CSeq().SeqNo += tl.cseqBump.Load() // fwd's own CSeq (forwardHop)
		pristine = fwd.Clone()                 // before our Via: the base of a re-sent request with credentials
	}
	// Bounded by Timer B/F (32 s) plus margin; independent of the caller's
	// transaction so a retransmission race cannot cut it short.
	ctxTx, cancelTx := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancelTx()
	clTx, err := s.client.TransactionRequest(ctxTx, fwd, sipgo.ClientRequestAddVia)
	if err != nil {
		s.log.Warn("in-dialog forward failed", "method", req.Method, "dest", dest, "error", err)
		s.reply(tx, req, 503, "Service Unavailable")
		return
	}
	defer func() { clTx.Terminate() }()
	challenged := false
	if req.Method == sip.BYE {
		s.endDialog(req.CallID().Value(), "bye")
	}
	for {
		select {
		case res := <-clTx.Responses():
			if (res.StatusCode == 401 || res.StatusCode == 407) && tl != nil && !challenged {
				// The carrier challenges a request inside the call: answer
				// once with the trunk's credentials (trunk_dialog.go).
				challenged = true
				if retry := s.trunkReauth(ctxTx, pristine, res, tl); retry != nil {
					clTx.Terminate()
					clTx = retry
					continue
				}
			}
			s.send(tx, req, upstream(res, req))
			if res.StatusCode >= 200 {
				return
			}
		case <-clTx.Done():
			s.reply(tx, req, 408, "Request Timeout")
			return
		case <-tx.Done():
			return
		case <-ctxTx.Done():
			return
		}
	}
}

// ack forwards an ACK for a 2xx end to end; ACKs for our own non-2xx
// responses were absorbed by their transaction and never get here.
func (s *Server) ack(req *sip.Request) {
	if maxForwards(req) <= 0 || s.isLoop(req) {
		// An ACK gets no response to carry a 482/483, so a looping one is
		// dropped here; without this a stale hop bounced it to ourselves
		// until Max-Forwards ran out, gaining a Via each time.
		return
	}
	dest, transport, ok := s.nextHop(req)
	if !ok {
		return
	}
	tl := s.toTrunk(req)
	fwd := forwardHop(req, tl != nil)
	s.popOwnRoutes(fwd)
	fwd.SetTransport(tpUpper(transport))
	fwd.SetDestination(dest)
	if tl != nil {
		fwd.CSeq().SeqNo += tl.cseqBump.Load() // fwd's own CSeq (forwardHop)
		if tl.ackAuth != nil {
			fwd.AppendHeader(sip.HeaderClone(tl.ackAuth))
		}
	}
	if err := s.client.WriteRequest(fwd, sipgo.ClientRequestAddVia); err != nil {
		s.log.Debug("ack forward failed", "dest", dest, "error", err)
	}
}

// forwardHop is the copy of an in-dialog request sent on to the next hop,
// Max-Forwards decremented, sharing req's header values (forward.go);
// ownCSeq for a request to a trunk, whose CSeq is renumbered.
func forwardHop(req *sip.Request, ownCSeq bool) *sip.Request {
	fwd := forwardRequest(req, req.Recipient, ownCSeq, "Max-Forwards")
	mf := sip.MaxForwardsHeader(maxForwards(req) - 1)
	fwd.AppendHeader(&mf)
	return fwd
}

// nextHop finds where an in-dialog request goes: to the other side's flow
// when the dialog is ours and the From tag is one of its two parties.
func (s *Server) nextHop(req *sip.Request) (string, string, bool) {
	dl := s.dialogs.get(req.CallID().Value())
	if dl == nil {
		dl = s.dsync.adopt(req.CallID().Value()) // set up before a restart, or elsewhere
	}
	if dl != nil {
		hop := flow{}
		switch tagOf(req.From().Params) {
		case dl.callerTag:
			hop = dl.callee
		case dl.calleeTag:
			hop = dl.caller
		}
		if hop.addr != "" && !s.ownAddrs[hop.addr] {
			return hop.addr, hop.transport, true
		}
		// A hop naming this very server comes from a record another
		// instance on the call's path wrote under the same Call-ID (it
		// points at us as its relay): following it would loop.
	}
	// A dialog this instance did not set up is not relayed: forwarding
	// along whatever Route an unauthenticated request names would make the
	// proxy an open relay for BYE/INFO/MESSAGE-style traffic.
	return "", "", false
}

// popOwnRoutes removes the Route entries that name this server (one, or two
// after a transport change).
func (s *Server) popOwnRoutes(req *sip.Request) {
	for {
		if header(req, "Route") == nil {
			return // sipgo's Route() allocates a header each time there is none
		}
		rh := req.Route()
		if rh == nil || !s.isOwnURI(rh.Address) {
			return
		}
		req.RemoveHeader("Route")
	}
}

func hostPort(u sip.Uri) string {
	port := u.Port
	if port == 0 {
		port = 5060
	}
	return net.JoinHostPort(strings.Trim(u.Host, "[]"), strconv.Itoa(port))
}

func transportOf(u sip.Uri) string {
	if t, ok := u.UriParams.Get("transport"); ok && t != "" {
		return strings.ToLower(t)
	}
	return "udp"
}

// endDialog removes a dialog and writes its CDR.
func (s *Server) endDialog(callID, reason string) {
	dl := s.dialogs.remove(callID)
	if dl == nil {
		return
	}
	s.dialogGone(dl)
	s.metrics.callsActive.Dec()
	s.blfHangup(dl.blf)
	if !s.dsync.ended(dl) {
		return // another instance ended this adopted call and wrote its CDR
	}
	talk := time.Since(dl.answered).Round(time.Second)
	// Room for ended_by: appending to an exact copy made it twice.
	fields := make([]any, len(dl.cdr), len(dl.cdr)+2)
	copy(fields, dl.cdr)
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i] == "talk" {
			fields[i+1] = talk.String()
		}
	}
	s.cdr(append(fields, "ended_by", reason)...)
}

// cdr writes one structured line per finished call and keeps it in the
// recent-calls list the admin API reads (cdrlog.go).
func (s *Server) cdr(fields ...any) {
	s.log.Info("cdr", fields...)
	s.cdrs.add(cdrOf(time.Now(), fields))
}

// upstream turns a response from a downstream branch into the one relayed to
// the request's sender: our Via removed, addressed to the sender's flow.
func upstream(res *sip.Response, req *sip.Request) *sip.Response {
	out := relayResponse(res) // shares res's header values (forward.go)
	if cs, rcs := out.CSeq(), req.CSeq(); cs != nil && rcs != nil && cs.SeqNo != rcs.SeqNo {
		// A response carries its request's CSeq; towards a carrier that
		// challenged, ours ran ahead of the caller's (trunk_dialog.go).
		// The CSeq is res's own value: replaced, not edited.
		fixed := *cs
		fixed.SeqNo = rcs.SeqNo
		out.ReplaceHeader(&fixed)
	}
	out.SetDestination(req.Source())
	out.SetTransport(req.Transport())
	return out
}

// strayResponse forwards a response that matches no client transaction — a
// retransmitted 2xx after its INVITE transaction ended, or a second 2xx from a
// fork — statelessly along its Via (RFC 3261 §16.7, RFC 6026): ours on top is
// removed and the next one says where it goes. Anything else is dropped.
func (s *Server) strayResponse(res *sip.Response) {
	if s.keepaliveResponse(res) { // answers to our stateless OPTIONS (keepalive.go)
		return
	}
	if s.b2b.response(res) { // B2BUA hook: a retransmitted 2xx of a leg we originated
		return
	}
	top := res.Via()
	if top == nil || !s.ownAddrs[net.JoinHostPort(top.Host, strconv.Itoa(top.Port))] || res.StatusCode < 200 || res.StatusCode >= 300 {
		return
	}
	out := res.Clone()
	out.RemoveHeader("Via")
	next := out.Via()
	if next == nil {
		return
	}
	host, port := next.Host, next.Port
	if r, ok := next.Params.Get("received"); ok && r != "" {
		host = r
	}
	if p, ok := next.Params.Get("rport"); ok && p != "" {
		if n, err := strconv.Atoi(p); err == nil {
			port = n
		}
	}
	if port == 0 {
		port = 5060
	}
	out.SetDestination(net.JoinHostPort(host, strconv.Itoa(port)))
	out.SetTransport(next.Transport)
	if err := s.srv.WriteResponse(out); err != nil {
		s.log.Debug("stray 2xx forward failed", "error", err)
	}
}
