package sip

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/routing"
)

// Transfer of a carrier caller, performed by switchboard. A carrier cannot
// be trusted to act on a REFER (and must not be sent one: it would dial the
// target itself, outside the tenant's rules), so when the callee of a
// proxied call from a trunk sends REFER, switchboard carries it out with
// third-party call control (RFC 3725 flow I), signalling only — media
// then flows between the carrier and the target directly:
//
//	B ── REFER Refer-To: C ──▶ sb        202; NOTIFY 100 Trying ──▶ B
//	sb ── INVITE C (no SDP), routed as a call from B ──▶ C   200 with C's offer
//	sb ── re-INVITE carrier, as B, with C's offer ──▶ carrier   200 answer, ACK
//	sb ── ACK C with the carrier's answer ──▶ C;  NOTIFY 200 OK ──▶ B, B hangs up
//
// From then on switchboard stands between the two dialogs (xfer): a BYE,
// re-INVITE, UPDATE or INFO from one side is sent to the other and its
// answer relayed back. The target is planned by routing as a call of the
// transferor (forking, forwards, voicemail, trunks and caller-ID rules
// apply; the transferor's credentials go nowhere), and transferAllowed is
// asked first. On any failure the transferor gets the failure in its NOTIFY
// and keeps the caller.

// carrierCall is what a proxied call from a trunk keeps for a transfer.
type carrierCall struct {
	view       *dialplan.View
	callerFrom *sip.FromHeader // the carrier's identity and tag
	callerURI  sip.Uri         // the carrier's Contact
	calleeTo   *sip.ToHeader   // the callee's identity and tag
	calleeAOR  string

	mu         sync.Mutex
	callerCSeq uint32 // highest CSeq seen from the carrier
	busy       bool   // a transfer is under way or done
	x          *xfer  // set once the transfer connected
}

func newCarrierCall(c *call, b *branch, res *sip.Response) *carrierCall {
	if c.caller.Caller.Trunk == "" {
		return nil
	}
	from := c.req.From()
	target := from.Address
	if ct := c.req.Contact(); ct != nil {
		target = ct.Address
	}
	to := res.To()
	return &carrierCall{
		view:       c.view,
		callerFrom: &sip.FromHeader{DisplayName: from.DisplayName, Address: *from.Address.Clone(), Params: from.Params.Clone()},
		callerURI:  *target.Clone(),
		calleeTo:   &sip.ToHeader{DisplayName: to.DisplayName, Address: *to.Address.Clone(), Params: to.Params.Clone()},
		calleeAOR:  b.aor,
		callerCSeq: c.req.CSeq().SeqNo,
	}
}

// transferAllowed is the toll-fraud check of a transfer target: a transfer
// is a call placed for the transferor, so the tenant's call limits apply
// to it exactly as to the transferor's own calls. It returns 0 or the
// status to refuse with.
//
// The destination limits (international, allow_countries, deny_prefixes)
// are checked here (sip/limits.go); emergency numbers always pass.
func (s *Server) transferAllowed(_ context.Context, view *dialplan.View, _ routing.Call, plan routing.Plan) int {
	l := dialplan.LimitsOf(view.Tenant)
	for _, st := range plan.Steps {
		var number string
		switch st := st.(type) {
		case routing.Outbound:
			number = st.Number
		case routing.Forward:
			number = st.Number
		}
		if name := routing.CheckDestination(l, view.Tenant.CountryCode, number); number != "" && name != "" {
			s.refused.WithLabelValues(name).Inc()
			s.log.Info("transfer refused by limit", "tenant", view.Tenant.Domain, "limit", name)
			return 403
		}
	}
	return 0
}

// carrierInDialog takes the in-dialog requests of carrier calls that the
// proxy must not relay: a REFER from the callee, and everything once the
// engine has transferred the call.
func (s *Server) carrierInDialog(req *sip.Request, tx sip.ServerTransaction) bool {
	dl := s.dialogs.get(req.CallID().Value())
	if dl == nil || dl.carrier == nil {
		return false
	}
	cc := dl.carrier
	from := tagOf(req.From().Params)
	cc.mu.Lock()
	x := cc.x
	if from == dl.callerTag && req.CSeq().SeqNo > cc.callerCSeq {
		cc.callerCSeq = req.CSeq().SeqNo
	}
	cc.mu.Unlock()
	if x != nil {
		x.request(req, tx)
		return true
	}
	if req.Method != sip.REFER || from != dl.calleeTag {
		return false
	}
	cc.mu.Lock()
	busy := cc.busy
	cc.busy = true
	cc.mu.Unlock()
	if busy {
		s.reply(tx, req, 491, "Request Pending")
		return true
	}
	s.carrierTransfer(dl, req, tx)
	return true
}

// carrierTransfer answers the REFER and runs the transfer on a B2BUA call
// goroutine (owned, waited for at shutdown).
func (s *Server) carrierTransfer(dl *dialog, req *sip.Request, tx sip.ServerTransaction) {
	cc := dl.carrier
	release := func() { cc.mu.Lock(); cc.busy = false; cc.mu.Unlock() }
	rt := req.GetHeader("Refer-To")
	var target sip.Uri
	if rt == nil || len(req.GetHeaders("Refer-To")) != 1 || sip.ParseUri(strings.Trim(strings.TrimSpace(stripDisplay(rt.Value())), "<>"), &target) != nil {
		release()
		s.reply(tx, req, 400, "Bad Refer-To")
		return
	}
	if target.Headers.Length() > 0 {
		// Refer-To with Replaces: attended transfer of a carrier caller.
		release()
		s.reply(tx, req, 501, "Attended Transfer of a Carrier Call Not Supported")
		return
	}
	transferor := blfUser(cc.view, cc.calleeAOR)
	if transferor == nil {
		release()
		s.reply(tx, req, 403, "Forbidden")
		return
	}
	rc := routing.Call{Dialled: target.User, Caller: routing.Caller{User: transferor,
		Number: firstOr(transferor.Extensions, transferor.ID), Name: transferor.Name}}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	plan := routing.Decide(rc, cc.view, routing.Options{
		Trunks:   s.trunks.huntOrder(cc.view.Tenant.Trunks),
		Contacts: func(aor string) []location.Binding { return s.contacts(ctx, aor) },
	})
	if code := s.transferAllowed(ctx, cc.view, rc, plan); code != 0 {
		release()
		s.reply(tx, req, code, statusText(code))
		return
	}
	if plan.Kind != "outbound" {
		// The target sees who is calling, not the transferor.
		plan.CallerID = routing.CallerID{}
	}
	s.metrics.routing.WithLabelValues(plan.Kind).Inc()
	x := &xfer{s: s, dl: dl, cc: cc, refer: req, bCSeq: req.CSeq().SeqNo, referredBy: "<sip:" + rc.Caller.Number + "@" + cc.view.Tenant.Domain + ">"}
	if c := req.Contact(); c != nil {
		x.bURI = *c.Address.Clone()
	} else {
		x.bURI = *req.From().Address.Clone()
	}
	s.reply(tx, req, 202, "Accepted")
	s.ctl.transfers.WithLabelValues("started").Inc()
	s.b2b.goCall("carrier transfer", func(ctx context.Context) {
		if !x.run(ctx, plan, rc) {
			release()
		}
	})
}

// stripDisplay drops a display name before the <uri>.
func stripDisplay(v string) string {
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j >= 0 {
			return v[i : i+j+1]
		}
	}
	return v
}

func blfUser(view *dialplan.View, aor string) *dialplan.User {
	name, _, _ := strings.Cut(aor, "@")
	if e, ok := view.Lookup(name); ok && e.User != nil {
		return e.User
	}
	return nil
}

// xfer is a transferred carrier call: the carrier's dialog, in which
// switchboard now plays the transferor, and the new leg to the target.
type xfer struct {
	s          *Server
	dl         *dialog
	cc         *carrierCall
	refer      *sip.Request
	bURI       sip.Uri // the transferor's Contact, for the NOTIFYs
	referredBy string

	mu      sync.Mutex
	bCSeq   uint32 // our CSeq toward the carrier (continuing the transferor's)
	nCSeq   uint32 // our CSeq toward the transferor (continuing the carrier's)
	leg     *sigLeg
	cAck    *sip.Request // ACK of the carrier re-INVITE, for retransmitted 2xx
	bGone   bool
	ended   bool
	endOnce sync.Once
}

// run performs the transfer; false when it failed and the call stays as it was.
func (x *xfer) run(ctx context.Context, plan routing.Plan, rc routing.Call) bool {
	s := x.s
	x.notify("SIP/2.0 100 Trying", false)
	leg := x.originate(plan, rc)
	var res *sip.Response
	select {
	case res = <-leg.vtx.final:
	case <-ctx.Done():
		leg.vtx.cancel()
		x.notify("SIP/2.0 487 Request Terminated", true)
		return false
	}
	if res.StatusCode >= 300 {
		s.ctl.transfers.WithLabelValues("failed").Inc()
		x.notify("SIP/2.0 "+strconv.Itoa(res.StatusCode)+" "+res.Reason, true)
		leg.wait()
		return false
	}
	leg.accept(res)
	offer := res.Body()
	if len(offer) == 0 {
		leg.ack(nil)
		leg.bye()
		x.notify("SIP/2.0 488 Not Acceptable Here", true)
		return false
	}
	// Re-INVITE the carrier, as the transferor, with the target's offer.
	reinv := x.carrierRequest(sip.INVITE)
	reinv.AppendHeader(s.b2b.contact(x.dl.caller.transport))
	reinv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	reinv.SetBody(offer)
	ans, err := x.s.transact(ctx, reinv)
	if err != nil || ans.StatusCode >= 300 {
		s.ctl.transfers.WithLabelValues("failed").Inc()
		leg.ack(nil)
		leg.bye()
		x.notify("SIP/2.0 500 Server Internal Error", true)
		return false
	}
	ack := x.carrierRequestCSeq(sip.ACK, reinv.CSeq().SeqNo)
	x.mu.Lock()
	x.cAck = ack
	x.leg = leg
	x.mu.Unlock()
	x.s.sendStateless(ack, x.dl.caller)
	leg.ack(ans.Body())
	x.cc.mu.Lock()
	x.cc.x = x
	x.cc.mu.Unlock()
	s.b2b.register(leg.callID, x)
	s.ctl.transfers.WithLabelValues("completed").Inc()
	x.notify("SIP/2.0 200 OK", true)
	s.log.Info("carrier call transferred", "call_id", x.dl.callID, "transfer_call_id", leg.callID, "plan", plan.Kind)
	return true
}

// originate places the new leg: a late-offer INVITE from the carrier
// caller's identity, executed by plan as a call of the transferor.
func (x *xfer) originate(plan routing.Plan, rc routing.Call) *sigLeg {
	s := x.s
	host, _ := s.localAddr("udp")
	l := &sigLeg{s: s, callID: "xfer-" + sip.GenerateTagN(20) + "@" + host, tag: sip.GenerateTagN(16), vtx: newVirtualTx(), nested: make(chan struct{})}
	to := sip.Uri{Scheme: "sip", User: rc.Dialled, Host: x.cc.view.Tenant.Domain}
	r := sip.NewRequest(sip.INVITE, to)
	cf := x.cc.callerFrom
	r.AppendHeader(&sip.FromHeader{DisplayName: cf.DisplayName, Address: *cf.Address.Clone(), Params: sip.HeaderParams{{K: "tag", V: l.tag}}})
	r.AppendHeader(&sip.ToHeader{Address: to, Params: sip.NewParams()})
	cid := sip.CallIDHeader(l.callID)
	r.AppendHeader(&cid)
	r.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	r.AppendHeader(s.b2b.contact("udp"))
	r.AppendHeader(sip.NewHeader("Referred-By", x.referredBy))
	r.SetTransport("UDP")
	l.invite, l.cseq = r, 1
	nc := newCall(s, r, l.vtx, x.cc.view, rc, plan)
	go func() {
		defer close(l.nested)
		defer s.b2b.recoverPanic("transfer leg")
		nc.run()
	}()
	return l
}

// carrierRequest builds a request in the carrier's dialog from the
// transferor's side.
func (x *xfer) carrierRequest(method sip.RequestMethod) *sip.Request {
	x.mu.Lock()
	x.bCSeq++
	n := x.bCSeq
	x.mu.Unlock()
	return x.carrierRequestCSeq(method, n)
}

func (x *xfer) carrierRequestCSeq(method sip.RequestMethod, cseq uint32) *sip.Request {
	cc := x.cc
	r := sip.NewRequest(method, *cc.callerURI.Clone())
	r.AppendHeader(&sip.FromHeader{DisplayName: cc.calleeTo.DisplayName, Address: *cc.calleeTo.Address.Clone(), Params: cc.calleeTo.Params.Clone()})
	r.AppendHeader(&sip.ToHeader{DisplayName: cc.callerFrom.DisplayName, Address: *cc.callerFrom.Address.Clone(), Params: cc.callerFrom.Params.Clone()})
	cid := sip.CallIDHeader(x.dl.callID)
	r.AppendHeader(&cid)
	r.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	r.SetTransport(strings.ToUpper(x.dl.caller.transport))
	r.SetDestination(x.dl.caller.addr)
	return r
}

// notify sends the transferor a NOTIFY of the refer subscription (RFC 3515
// §2.4.4) from the carrier's side of the dialog. Best effort: a transferor
// that is gone does not stop the transfer.
func (x *xfer) notify(frag string, final bool) {
	cc := x.cc
	cc.mu.Lock()
	if x.nCSeq == 0 {
		x.nCSeq = cc.callerCSeq
	}
	x.nCSeq++
	n := x.nCSeq
	cc.mu.Unlock()
	r := sip.NewRequest(sip.NOTIFY, *x.bURI.Clone())
	r.AppendHeader(&sip.FromHeader{DisplayName: cc.callerFrom.DisplayName, Address: *cc.callerFrom.Address.Clone(), Params: cc.callerFrom.Params.Clone()})
	r.AppendHeader(&sip.ToHeader{DisplayName: cc.calleeTo.DisplayName, Address: *cc.calleeTo.Address.Clone(), Params: cc.calleeTo.Params.Clone()})
	cid := sip.CallIDHeader(x.dl.callID)
	r.AppendHeader(&cid)
	r.AppendHeader(&sip.CSeqHeader{SeqNo: n, MethodName: sip.NOTIFY})
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	r.AppendHeader(sip.NewHeader("Event", "refer"))
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
	}
	r.AppendHeader(sip.NewHeader("Subscription-State", state))
	r.AppendHeader(x.s.b2b.contact(x.dl.callee.transport))
	r.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	r.SetBody([]byte(frag + "\r\n"))
	r.SetTransport(strings.ToUpper(x.dl.callee.transport))
	r.SetDestination(x.dl.callee.addr)
	ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
	defer cancel()
	if _, err := x.s.transact(ctx, r); err != nil {
		x.s.log.Debug("transfer NOTIFY failed", "error", err)
	}
}

// request handles an in-dialog request of either dialog once transferred.
func (x *xfer) request(req *sip.Request, tx sip.ServerTransaction) bool {
	s := x.s
	x.mu.Lock()
	leg := x.leg
	x.mu.Unlock()
	fromTag := tagOf(req.From().Params)
	switch {
	case req.CallID().Value() == x.dl.callID && fromTag == x.dl.calleeTag:
		// The transferor: it hangs up after the final NOTIFY.
		if req.IsAck() {
			return true
		}
		if req.Method == sip.BYE {
			x.mu.Lock()
			first := !x.bGone
			x.bGone = true
			x.mu.Unlock()
			if first {
				s.blfHangup(s.dialogs.takeBLF(x.dl.callID)) // the transferor's lamp goes out
			}
			s.reply(tx, req, 200, "OK")
			return true
		}
		s.reply(tx, req, 481, "Call/Transaction Does Not Exist")
	case req.CallID().Value() == x.dl.callID && fromTag == x.dl.callerTag:
		x.relay(req, tx, leg.request, func(r *sip.Request) { leg.ackReply(r) })
	case req.CallID().Value() == leg.callID && fromTag == leg.remoteTag && tagOf(req.To().Params) == leg.tag:
		x.relay(req, tx, func(m sip.RequestMethod) *sip.Request { return x.carrierRequest(m) },
			func(r *sip.Request) { x.s.sendStateless(x.carrierRequestCSeq(sip.ACK, r.CSeq().SeqNo), x.dl.caller) })
	default:
		if !req.IsAck() {
			s.reply(tx, req, 481, "Call/Transaction Does Not Exist")
		}
	}
	return true
}

// relay sends a request of one side to the other (build makes it, in the
// other dialog) and the answer back; a 2xx to an INVITE is ACKed there by
// ack, and the sender's own ACK is absorbed. BYE ends the transfer.
func (x *xfer) relay(req *sip.Request, tx sip.ServerTransaction, build func(sip.RequestMethod) *sip.Request, ack func(*sip.Request)) {
	if req.IsAck() {
		return
	}
	if req.Method != sip.BYE && req.Method != sip.INVITE && req.Method != sip.UPDATE && req.Method != sip.INFO {
		x.s.reply(tx, req, 405, "Method Not Allowed", sip.NewHeader("Allow", "ACK, BYE, INVITE, UPDATE, INFO"))
		return
	}
	out := build(req.Method)
	if ct := req.ContentType(); ct != nil {
		out.AppendHeader(sip.NewHeader("Content-Type", ct.Value()))
	}
	if req.Method == sip.INVITE || req.Method == sip.UPDATE {
		out.AppendHeader(x.s.b2b.contact(out.Transport()))
	}
	out.SetBody(req.Body())
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	res, err := x.s.transact(ctx, out)
	if req.Method == sip.BYE {
		x.s.reply(tx, req, 200, "OK")
		x.end("bye")
		return
	}
	if err != nil {
		x.s.reply(tx, req, 408, "Request Timeout")
		return
	}
	if out.Method == sip.INVITE && res.StatusCode >= 200 && res.StatusCode < 300 {
		ack(out)
	}
	back := sip.NewResponseFromRequest(req, res.StatusCode, res.Reason, res.Body())
	if ct := res.ContentType(); ct != nil {
		back.AppendHeader(sip.NewHeader("Content-Type", ct.Value()))
	}
	if res.StatusCode < 300 && (req.Method == sip.INVITE || req.Method == sip.UPDATE) {
		back.AppendHeader(x.s.b2b.contact(req.Transport()))
	}
	x.s.send(tx, req, back)
}

// response re-ACKs a retransmitted 2xx of either INVITE we sent.
func (x *xfer) response(res *sip.Response) bool {
	if res.StatusCode < 200 || res.StatusCode >= 300 || res.CSeq() == nil || res.CSeq().MethodName != sip.INVITE {
		return false
	}
	x.mu.Lock()
	leg, cAck := x.leg, x.cAck
	x.mu.Unlock()
	if leg != nil && res.CallID().Value() == leg.callID {
		leg.reAck()
		return true
	}
	if cAck != nil && res.CallID().Value() == x.dl.callID {
		x.s.sendStateless(cAck, x.dl.caller)
		return true
	}
	return false
}

// end closes both dialogs' records once either side hung up.
func (x *xfer) end(reason string) {
	x.endOnce.Do(func() {
		x.mu.Lock()
		leg := x.leg
		x.mu.Unlock()
		x.s.b2b.unregister(leg.callID, x)
		x.s.endDialog(leg.callID, reason)
		x.s.endDialog(x.dl.callID, "transferred")
	})
}

// transact sends a request in its own client transaction and returns the
// final response.
func (s *Server) transact(ctx context.Context, r *sip.Request) (*sip.Response, error) {
	tx, err := s.client.TransactionRequest(ctx, r, sipgo.ClientRequestAddVia)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.StatusCode >= 200 {
				return res, nil
			}
		case <-tx.Done():
			if err := tx.Err(); err != nil {
				return nil, err
			}
			return nil, context.DeadlineExceeded
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// sendStateless sends an ACK (no transaction) to a flow.
func (s *Server) sendStateless(r *sip.Request, f flow) {
	r = r.Clone()
	r.SetTransport(strings.ToUpper(f.transport))
	r.SetDestination(f.addr)
	if err := s.client.WriteRequest(r, sipgo.ClientRequestAddVia); err != nil {
		s.log.Debug("ACK failed", "dest", f.addr, "error", err)
	}
}

// sigLeg is the new leg of a carrier transfer: a late-offer INVITE run
// through the plan executor with a virtualTx, signalling only (no media of
// ours), ACKed with the carrier's answer.
type sigLeg struct {
	s      *Server
	callID string
	tag    string
	invite *sip.Request
	vtx    *virtualTx
	nested chan struct{} // closed when the plan executor returned

	mu        sync.Mutex
	res       *sip.Response
	remoteTag string
	target    sip.Uri
	routes    []sip.Uri
	dest      string
	transport string
	cseq      uint32
	ackReq    *sip.Request
}

func (l *sigLeg) accept(res *sip.Response) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.res, l.remoteTag = res, tagOf(res.To().Params)
	l.target = res.To().Address
	if c := res.Contact(); c != nil {
		l.target = c.Address
	}
	l.dest, l.transport = res.Source(), transportOf(l.target)
	l.routes, l.transport = routeSet(l.s, res, l.transport)
}

// newRequest builds an in-dialog request; mu is held.
func (l *sigLeg) newRequest(method sip.RequestMethod, cseq uint32) *sip.Request {
	r := sip.NewRequest(method, *l.target.Clone())
	r.AppendHeader(sip.HeaderClone(l.res.From()))
	r.AppendHeader(sip.HeaderClone(l.res.To()))
	cid := sip.CallIDHeader(l.callID)
	r.AppendHeader(&cid)
	r.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: method})
	dest, transport := l.dest, l.transport
	if len(l.routes) > 0 {
		dest, transport = hostPort(l.routes[0]), transportOf(l.routes[0])
		for _, u := range l.routes {
			r.AppendHeader(&sip.RouteHeader{Address: u})
		}
	}
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	r.SetTransport(strings.ToUpper(transport))
	r.SetDestination(dest)
	return r
}

// request builds the next in-dialog request toward the target.
func (l *sigLeg) request(method sip.RequestMethod) *sip.Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cseq++
	return l.newRequest(method, l.cseq)
}

// ack ACKs the INVITE's 2xx, with the answer SDP when there is one.
func (l *sigLeg) ack(answer []byte) {
	l.mu.Lock()
	r := l.newRequest(sip.ACK, 1)
	if len(answer) > 0 {
		r.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		r.SetBody(answer)
	} else {
		r.SetBody(nil)
	}
	l.ackReq = r
	l.mu.Unlock()
	l.write(r)
}

// ackReply ACKs the 2xx of a re-INVITE we relayed to the target.
func (l *sigLeg) ackReply(reinv *sip.Request) {
	l.mu.Lock()
	r := l.newRequest(sip.ACK, reinv.CSeq().SeqNo)
	l.mu.Unlock()
	r.SetBody(nil)
	l.write(r)
}

func (l *sigLeg) reAck() {
	l.mu.Lock()
	r := l.ackReq
	l.mu.Unlock()
	if r != nil {
		l.write(r)
	}
}

func (l *sigLeg) write(r *sip.Request) {
	if err := l.s.client.WriteRequest(r.Clone(), sipgo.ClientRequestAddVia); err != nil {
		l.s.log.Debug("ACK failed", "dest", r.Destination(), "error", err)
	}
}

// bye hangs up the target's leg and waits for the plan executor.
func (l *sigLeg) bye() {
	r := l.request(sip.BYE)
	r.SetBody(nil)
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if _, err := l.s.transact(ctx, r); err != nil {
		l.s.log.Debug("transfer leg BYE failed", "error", err)
	}
	l.s.endDialog(l.callID, "transfer_failed")
	l.wait()
}

// wait waits for the plan executor of the leg to return.
func (l *sigLeg) wait() {
	for {
		select {
		case <-l.nested:
			return
		case res := <-l.vtx.final:
			_ = res // a late 2xx of another fork is hung up by the proxy's stray handling
		}
	}
}

// callControlMetrics are the counters of transfers the engine performs.
type callControlMetrics struct {
	transfers *prometheus.CounterVec
}

func newCallControlMetrics(reg prometheus.Registerer) *callControlMetrics {
	return &callControlMetrics{
		transfers: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_transfers_total",
			Help: "Transfers of carrier callers performed by switchboard, by result (started, completed, failed).",
		}, []string{"result"}),
	}
}
