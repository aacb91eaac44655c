package sip

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/media"
	"github.com/switchboard/switchboard/routing"
)

// byeTimeout bounds the wait for the answer to a BYE we send; it does not
// use the call's context, which may be ending (shutdown).
const byeTimeout = 4 * time.Second

// once is a channel closed at most once.
type once struct {
	c chan struct{}
	o sync.Once
}

func newOnce() once    { return once{c: make(chan struct{})} }
func (o *once) close() { o.o.Do(func() { close(o.c) }) }
func (o *once) done() bool {
	select {
	case <-o.c:
		return true
	default:
		return false
	}
}
func (o *once) ch() <-chan struct{} { return o.c }

// mediaLeg is what a leg's in-dialog requests change: its RTP session and
// our SDP version.
type mediaLeg struct {
	sess    *media.Session
	mu      sync.Mutex
	local   media.Local
	hungUp  once // the peer sent BYE
	contact sip.Header
	reneg   chan struct{} // hold.go
}

// inDialog answers the requests a peer sends inside one of our dialogs:
// BYE ends it, INFO carries DTMF, re-INVITE and UPDATE renegotiate media
// (hold, a new address), ACK confirms.
func (m *mediaLeg) inDialog(s *Server, req *sip.Request, tx sip.ServerTransaction) {
	switch req.Method {
	case sip.ACK:
	case sip.BYE:
		m.hungUp.close()
		s.reply(tx, req, 200, "OK")
	case sip.INFO:
		if err := m.sess.DTMF().Info(contentType(req), req.Body()); err != nil {
			s.reply(tx, req, 415, "Unsupported Media Type", sip.NewHeader("Accept", "application/dtmf-relay, application/dtmf"))
			return
		}
		s.reply(tx, req, 200, "OK")
	case sip.INVITE, sip.UPDATE:
		if len(req.Body()) == 0 {
			s.reply(tx, req, 200, "OK", m.contact)
			return
		}
		m.mu.Lock()
		m.local.Version++
		answer, neg, err := media.Negotiate(req.Body(), m.local)
		m.mu.Unlock()
		if err != nil {
			code, reason := sdpStatus(err)
			s.reply(tx, req, code, reason)
			return
		}
		m.sess.SetRemote(neg)
		m.renegotiated() // a bridge looks at the hold state again (hold.go)
		res := sip.NewResponseFromRequest(req, 200, "OK", answer)
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		res.AppendHeader(m.contact)
		s.send(tx, req, res)
	case sip.OPTIONS:
		s.reply(tx, req, 200, "OK", sip.NewHeader("Allow", allowed))
	default:
		s.reply(tx, req, 405, "Method Not Allowed", sip.NewHeader("Allow", allowed))
	}
}

func contentType(req *sip.Request) string {
	if h := req.ContentType(); h != nil {
		return h.Value()
	}
	return ""
}

// uasLeg is the caller's dialog when switchboard answers the INVITE itself.
type uasLeg struct {
	mediaLeg
	b      *b2bua
	req    *sip.Request
	tx     sip.ServerTransaction
	tag    string
	answer []byte // our SDP in the 200: the answer, or our offer after a late offer
	// lateOffer: the INVITE had no SDP, so the caller's answer comes in the
	// ACK; badAnswer: that answer was unusable and the call must end.
	lateOffer bool
	badAnswer bool
	ok        *sip.Response
	acked     once
	cseq      atomic.Uint32
}

// newUAS negotiates the caller's offer on a fresh RTP port. A non-zero code
// is the final response to send instead (488, 400, 503).
func (b *b2bua) newUAS(req *sip.Request, tx sip.ServerTransaction) (*uasLeg, int, string) {
	sess, local, err := b.newSession()
	if err != nil {
		b.log.Warn("no RTP port for a call", "error", err)
		code, reason := sdpStatus(err)
		return nil, code, reason
	}
	a := &uasLeg{b: b, req: req, tx: tx, tag: sip.GenerateTagN(16), acked: newOnce()}
	if len(req.Body()) == 0 {
		// Late offer (RFC 3264 §5, RFC 3261 §13.2.1): we offer in the 200
		// and the caller answers in its ACK.
		a.lateOffer = true
		a.answer = media.Offer(local)
	} else {
		answer, neg, err := media.Negotiate(req.Body(), local)
		if err != nil {
			sess.Close()
			code, reason := sdpStatus(err)
			return nil, code, reason
		}
		sess.SetRemote(neg)
		a.answer = answer
	}
	a.sess, a.local, a.hungUp = sess, local, newOnce()
	a.contact = b.contact(req.Transport())
	return a, 0, ""
}

// contact is our Contact header for dialogs on a transport.
func (b *b2bua) contact(transport string) sip.Header {
	host, port := b.s.localAddr(transport)
	return &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "switchboard", Host: host, Port: port,
		UriParams: sip.HeaderParams{{K: "transport", V: strings.ToLower(transport)}}}}
}

func (a *uasLeg) newResponse(code int, reason string, body []byte) *sip.Response {
	res := sip.NewResponseFromRequest(a.req, code, reason, body)
	res.To().Params.Add("tag", a.tag)
	if code > 100 && code < 300 {
		res.AppendHeader(a.contact)
	}
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	return res
}

// ringing sends 180 Ringing (no early media: the caller's phone plays its
// own ringback).
func (a *uasLeg) ringing() { a.b.s.send(a.tx, a.req, a.newResponse(180, "Ringing", nil)) }

// answerCall sends 200 OK with our SDP; from then on the dialog's requests
// reach the leg.
func (a *uasLeg) answerCall() {
	a.ok = a.newResponse(200, "OK", a.answer)
	a.b.register(a.req.CallID().Value(), a)
	a.b.s.send(a.tx, a.req, a.ok)
}

// waitAck retransmits the 200 until the ACK comes (RFC 3261 §13.3.1.4);
// false when it never did within 64*T1 or the call ended first.
func (a *uasLeg) waitAck(ctx context.Context) bool {
	interval := sip.T1
	retransmit := time.NewTimer(interval)
	defer retransmit.Stop()
	giveUp := time.NewTimer(64 * sip.T1)
	defer giveUp.Stop()
	for {
		select {
		case <-a.acked.ch():
			return true
		case <-a.hungUp.ch():
			return false
		case <-ctx.Done():
			return false
		case <-giveUp.C:
			return false
		case <-retransmit.C:
			_ = a.tx.Respond(a.ok)
			interval = min(2*interval, sip.T2)
			retransmit.Reset(interval)
		}
	}
}

func (a *uasLeg) request(req *sip.Request, tx sip.ServerTransaction) bool {
	if tagOf(req.To().Params) != a.tag {
		return false
	}
	if req.IsAck() {
		if a.lateOffer && !a.acked.done() {
			neg, err := media.ParseAnswer(req.Body(), a.local)
			if err != nil {
				a.b.log.Info("late-offer ACK without a usable SDP answer; ending the call", "call_id", req.CallID().Value(), "error", err)
				a.badAnswer = true
			} else {
				a.sess.SetRemote(neg)
			}
		}
		a.acked.close()
		return true
	}
	a.inDialog(a.b.s, req, tx)
	return true
}

func (a *uasLeg) response(*sip.Response) bool { return false }

// bye hangs up the caller, unless it hung up first.
func (a *uasLeg) bye() {
	if a.hungUp.done() || a.ok == nil {
		return
	}
	target := a.req.From().Address
	if c := a.req.Contact(); c != nil {
		target = c.Address
	}
	r := sip.NewRequest(sip.BYE, *target.Clone())
	from := a.req.To().AsFrom()
	from.Params.Add("tag", a.tag)
	to := a.req.From().AsTo()
	r.AppendHeader(&from)
	r.AppendHeader(&to)
	r.AppendHeader(sip.HeaderClone(a.req.CallID()))
	r.AppendHeader(&sip.CSeqHeader{SeqNo: a.cseq.Add(1), MethodName: sip.BYE})
	// The UAS route set is the INVITE's Record-Route, in order.
	var routes []sip.Uri
	for _, h := range headerList(a.req, "Record-Route") {
		if rr, ok := h.(*sip.RecordRouteHeader); ok {
			routes = append(routes, rr.Address)
		}
	}
	a.b.sendBye(r, routes, a.req.Source(), a.req.Transport())
	a.hungUp.close()
}

// close ends the leg's dialog and media; the port goes back to the pool.
func (a *uasLeg) close() {
	a.b.unregister(a.req.CallID().Value(), a)
	a.sess.Close()
}

// sendBye sends an in-dialog request along a route set (our own entries
// skipped) or else to the peer's flow, and waits for its final response.
func (b *b2bua) sendBye(r *sip.Request, routes []sip.Uri, flowAddr, flowTransport string) {
	dest, transport := flowAddr, flowTransport
	first := true
	for _, u := range routes {
		if first && b.s.isOwnURI(u) {
			continue
		}
		if first {
			dest, transport = hostPort(u), transportOf(u)
			first = false
		}
		r.AppendHeader(&sip.RouteHeader{Address: u})
	}
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	r.SetBody(nil)
	r.SetTransport(strings.ToUpper(transport))
	r.SetDestination(dest)
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	tx, err := b.s.client.TransactionRequest(ctx, r, sipgo.ClientRequestAddVia)
	if err != nil {
		b.log.Debug("send "+string(r.Method)+" failed", "dest", dest, "error", err)
		return
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.StatusCode >= 200 {
				return
			}
		case <-tx.Done():
			return
		case <-ctx.Done():
			return
		}
	}
}

// uacLeg is a call switchboard originates: an INVITE built here and run
// through the proxy's plan executor (call.go) with a virtualTx as its
// server side, so forking, ring timeouts, ContinueOn, trunks and the
// Diversion headers of forwards are the proxy's. The leg owns the dialog
// that answers.
type uacLeg struct {
	mediaLeg
	b      *b2bua
	callID string
	tag    string
	invite *sip.Request
	vtx    *virtualTx
	nested chan struct{}     // closed when the plan executor has returned
	refers chan *sip.Request // REFERs from the phone, for the bridge (b2btransfer.go)
	plan   plannedCall       // who calls whom, for call recording (record.go)

	mu        sync.Mutex
	answered  *sip.Response // the 2xx taken
	remoteTag string
	ack       *sip.Request
	target    sip.Uri
	routes    []sip.Uri
	dest      string
	transport string
	cseq      uint32
}

// originate starts a call from switchboard: an INVITE with our SDP offer
// executed by plan, from the identity in from, to the URI in to.
func (b *b2bua) originate(plan plannedCall, from *sip.FromHeader, to sip.Uri, sess *media.Session, local media.Local) *uacLeg {
	host, _ := b.s.localAddr("udp")
	l := &uacLeg{b: b, callID: "b2b-" + sip.GenerateTagN(20) + "@" + host, tag: sip.GenerateTagN(16),
		vtx: newVirtualTx(), nested: make(chan struct{}), refers: make(chan *sip.Request, 1), plan: plan}
	l.sess, l.local, l.hungUp = sess, local, newOnce()
	l.contact = b.contact("udp")

	r := sip.NewRequest(sip.INVITE, to)
	f := &sip.FromHeader{DisplayName: from.DisplayName, Address: *from.Address.Clone(), Params: sip.NewParams()}
	f.Params.Add("tag", l.tag)
	r.AppendHeader(f)
	r.AppendHeader(&sip.ToHeader{Address: to, Params: sip.NewParams()})
	cid := sip.CallIDHeader(l.callID)
	r.AppendHeader(&cid)
	r.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	r.AppendHeader(l.contact)
	r.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	r.SetBody(media.Offer(local))
	r.SetTransport("UDP")
	l.invite, l.cseq = r, 1

	b.register(l.callID, l)
	nc := newCall(b.s, r, l.vtx, plan.view, plan.call, plan.plan)
	go func() {
		defer close(l.nested)
		defer b.recoverPanic("originated call")
		nc.run()
	}()
	return l
}

// accept takes the 2xx that won: the answer's SDP, the dialog's route set
// and the callee's flow, then ACKs it.
func (l *uacLeg) accept(res *sip.Response) error {
	neg, err := media.ParseAnswer(res.Body(), l.local)
	l.mu.Lock()
	l.answered, l.remoteTag = res, tagOf(res.To().Params)
	l.target = res.To().Address
	if c := res.Contact(); c != nil {
		l.target = c.Address
	}
	l.dest, l.transport = res.Source(), transportOf(l.target)
	l.routes, l.transport = routeSet(l.b.s, res, l.transport)
	l.ack = l.newRequest(sip.ACK, l.cseqOf(false))
	ack := l.ack
	l.mu.Unlock()
	l.sendACK(ack)
	if err != nil {
		return err
	}
	l.sess.SetRemote(neg)
	return nil
}

func (l *uacLeg) cseqOf(next bool) uint32 {
	if next {
		l.cseq++
	}
	return l.cseq
}

// newRequest builds an in-dialog request of the answered dialog; mu is held.
func (l *uacLeg) newRequest(method sip.RequestMethod, cseq uint32) *sip.Request {
	r := sip.NewRequest(method, *l.target.Clone())
	r.AppendHeader(sip.HeaderClone(l.answered.From()))
	r.AppendHeader(sip.HeaderClone(l.answered.To()))
	cid := sip.CallIDHeader(l.callID)
	r.AppendHeader(&cid)
	r.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: method})
	return r
}

func (l *uacLeg) sendACK(ack *sip.Request) {
	r := ack.Clone()
	dest, transport := l.dest, l.transport
	if len(l.routes) > 0 {
		dest, transport = hostPort(l.routes[0]), transportOf(l.routes[0])
		for _, u := range l.routes {
			r.AppendHeader(&sip.RouteHeader{Address: u})
		}
	}
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	r.SetBody(nil)
	r.SetTransport(strings.ToUpper(transport))
	r.SetDestination(dest)
	if err := l.b.s.client.WriteRequest(r, sipgo.ClientRequestAddVia); err != nil {
		l.b.log.Debug("ACK failed", "dest", dest, "error", err)
	}
}

func (l *uacLeg) request(req *sip.Request, tx sip.ServerTransaction) bool {
	if tagOf(req.To().Params) != l.tag {
		return false
	}
	l.mu.Lock()
	answered, remote := l.answered != nil, l.remoteTag
	l.mu.Unlock()
	switch {
	case req.IsAck():
		return true
	case !answered:
		l.b.s.reply(tx, req, 481, "Call/Transaction Does Not Exist")
	case tagOf(req.From().Params) != remote:
		// Another fork's dialog (a second 2xx we ACKed and hung up).
		if req.Method == sip.BYE {
			l.b.s.reply(tx, req, 200, "OK")
		} else {
			l.b.s.reply(tx, req, 481, "Call/Transaction Does Not Exist")
		}
	case req.Method == sip.REFER:
		l.onRefer(req, tx)
	default:
		l.inDialog(l.b.s, req, tx)
	}
	return true
}

// response handles a retransmitted 2xx: ACK again for our dialog; ACK and
// hang up any other fork's.
func (l *uacLeg) response(res *sip.Response) bool {
	if res.StatusCode < 200 || res.StatusCode >= 300 || res.CSeq() == nil || res.CSeq().MethodName != sip.INVITE {
		return false
	}
	l.mu.Lock()
	ours := l.answered != nil && tagOf(res.To().Params) == l.remoteTag
	ack := l.ack
	l.mu.Unlock()
	if ours {
		l.sendACK(ack)
		return true
	}
	l.b.hangUpExtra(res, l)
	return true
}

// hangUpExtra ACKs and BYEs a 2xx we did not take (a second fork that
// answered, or one that answered after the caller left).
func (b *b2bua) hangUpExtra(res *sip.Response, l *uacLeg) {
	x := &uacLeg{b: b, callID: l.callID, tag: l.tag}
	x.hungUp = newOnce()
	x.mu.Lock()
	x.answered, x.remoteTag = res, tagOf(res.To().Params)
	x.target = res.To().Address
	if c := res.Contact(); c != nil {
		x.target = c.Address
	}
	x.dest, x.transport = res.Source(), transportOf(x.target)
	x.routes, x.transport = routeSet(b.s, res, x.transport)
	x.cseq = 1
	ack := x.newRequest(sip.ACK, 1)
	x.mu.Unlock()
	x.sendACK(ack)
	go x.bye()
}

// bye hangs up the answered dialog, unless the callee hung up first.
func (l *uacLeg) bye() {
	l.mu.Lock()
	if l.answered == nil || l.hungUp.done() {
		l.mu.Unlock()
		return
	}
	r := l.newRequest(sip.BYE, l.cseqOf(true))
	routes, dest, transport := l.routes, l.dest, l.transport
	l.mu.Unlock()
	l.b.sendBye(r, routes, dest, transport)
	l.hungUp.close()
}

// end finishes the leg whatever its state: a ringing plan is cancelled, an
// answered dialog hung up; it waits for the plan executor (bounded by its
// drain timeout), and returns the port. reason goes to the leg's CDR.
func (l *uacLeg) end(reason string) {
	l.vtx.cancel()
	l.mu.Lock()
	answered := l.answered != nil
	l.mu.Unlock()
	if answered {
		l.bye()
	}
	for waiting := true; waiting; {
		select {
		case <-l.nested:
			waiting = false
		case res := <-l.vtx.final:
			if res.StatusCode >= 200 && res.StatusCode < 300 {
				// Answered while we were leaving.
				l.b.hangUpExtra(res, l)
			}
		}
	}
	if answered {
		l.b.s.endDialog(l.callID, reason)
	}
	l.b.unregister(l.callID, l)
	l.sess.Close()
}

// virtualTx is the server side of a call switchboard originates: the proxy's
// plan executor answers it as it would a caller, and the B2BUA reads those
// answers. Provisional responses are dropped when nobody reads them.
type virtualTx struct {
	prov  chan *sip.Response
	final chan *sip.Response
	done  chan struct{}

	mu        sync.Mutex
	onCancel  sip.FnTxCancel
	cancelled bool
}

var _ sip.ServerTransaction = (*virtualTx)(nil)

func newVirtualTx() *virtualTx {
	return &virtualTx{prov: make(chan *sip.Response, 4), final: make(chan *sip.Response, 4), done: make(chan struct{})}
}

func (v *virtualTx) Respond(res *sip.Response) error {
	ch := v.final
	if res.StatusCode < 200 {
		ch = v.prov
	}
	select {
	case ch <- res:
		return nil
	default:
		if res.StatusCode >= 200 {
			return errors.New("virtual transaction: final response queue full")
		}
		return nil
	}
}

func (v *virtualTx) Acks() <-chan *sip.Request          { return nil }
func (v *virtualTx) Terminate()                         {}
func (v *virtualTx) OnTerminate(sip.FnTxTerminate) bool { return false }
func (v *virtualTx) Done() <-chan struct{}              { return v.done }
func (v *virtualTx) Err() error                         { return nil }

func (v *virtualTx) OnCancel(f sip.FnTxCancel) bool {
	v.mu.Lock()
	v.onCancel = f
	cancelled := v.cancelled
	v.mu.Unlock()
	if cancelled {
		f(nil)
	}
	return true
}

// cancel makes the plan executor cancel its branches, as a caller's CANCEL
// would. Idempotent.
func (v *virtualTx) cancel() {
	v.mu.Lock()
	if v.cancelled {
		v.mu.Unlock()
		return
	}
	v.cancelled = true
	f := v.onCancel
	v.mu.Unlock()
	if f != nil {
		f(nil)
	}
}

// routeSet returns the UAC route set of a 2xx (its Record-Route reversed,
// our own entries left out) and the transport to reach the callee's flow:
// that of our first Record-Route entry, which names the transport the
// INVITE left on, else def.
func routeSet(s *Server, res *sip.Response, def string) ([]sip.Uri, string) {
	var routes []sip.Uri
	transport := ""
	for _, h := range headerList(res, "Record-Route") {
		rr, ok := h.(*sip.RecordRouteHeader)
		if !ok {
			continue
		}
		if s.isOwnURI(rr.Address) {
			if transport == "" {
				transport = transportOf(rr.Address)
			}
			continue
		}
		routes = append([]sip.Uri{rr.Address}, routes...)
	}
	if transport == "" {
		transport = def
	}
	return routes, transport
}

// plannedCall is what the plan executor needs for a call we originate.
type plannedCall struct {
	view *dialplan.View
	call routing.Call
	plan routing.Plan
}

// statusOf returns a response's code, 0 for nil.
func statusOf(res *sip.Response) string {
	if res == nil {
		return "none"
	}
	return strconv.Itoa(res.StatusCode)
}
