package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// onInDialog answers REFER 202 and NOTIFY 200 and records them: the test
// itself then plays the transferee's part (NOTIFY sipfrag, new INVITE), as a
// phone's firmware would.
func (p *peer) onInDialog(req *sip.Request, tx sip.ServerTransaction) {
	p.record(req)
	code, reason := 200, "OK"
	if req.Method == sip.REFER {
		code, reason = 202, "Accepted"
	}
	tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil))
}

// calleeRequest builds an in-dialog request from the callee side of a
// call p answered: to the caller's Contact along the INVITE's Record-Route.
func (p *peer) calleeRequest(callID string, method sip.RequestMethod) *sip.Request {
	p.t.Helper()
	p.mu.Lock()
	d := p.uas[callID]
	if d != nil {
		d.cseq++
	}
	p.mu.Unlock()
	if d == nil {
		p.t.Fatalf("%s: no answered dialog %s", p.name, callID)
	}
	r := sip.NewRequest(method, *d.invite.Contact().Address.Clone())
	for _, h := range d.invite.GetHeaders("Record-Route") {
		r.AppendHeader(sip.NewHeader("Route", h.Value()))
	}
	r.AppendHeader(&sip.FromHeader{Address: d.ok.To().Address, Params: d.ok.To().Params.Clone()})
	r.AppendHeader(&sip.ToHeader{Address: d.invite.From().Address, Params: d.invite.From().Params.Clone()})
	r.AppendHeader(sip.HeaderClone(d.invite.CallID()))
	r.AppendHeader(&sip.CSeqHeader{SeqNo: d.cseq, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	r.SetTransport(p.transport)
	return r
}

// answeredTag is the To tag p gave the call it answered.
func (p *peer) answeredTag(callID string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d := p.uas[callID]; d != nil {
		t, _ := d.ok.To().Params.Get("tag")
		return t
	}
	return ""
}

// sipfrag is a NOTIFY of the refer subscription (RFC 3515 §2.4.5) from the
// caller side of c, reporting the transfer call's status line.
func sipfrag(c *outCall, cseq uint32, status string, final bool) *sip.Request {
	r := c.inDialogRequest(sip.NOTIFY, cseq)
	r.AppendHeader(sip.NewHeader("Event", "refer"))
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
	}
	r.AppendHeader(sip.NewHeader("Subscription-State", state))
	r.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	r.SetBody([]byte(status + "\r\n"))
	return r
}

// wantFrags requires the NOTIFYs p received to carry these sipfrag status lines.
func wantFrags(t *testing.T, p *peer, want ...string) {
	t.Helper()
	p.waitRequest(sip.NOTIFY, len(want), 3*time.Second)
	for i, n := range p.requests(sip.NOTIFY) {
		if got := strings.TrimSpace(string(n.Body())); i < len(want) && got != want[i] {
			t.Errorf("NOTIFY %d at %s carries %q, want %q", i+1, p.name, got, want[i])
		}
		if ct := header(n, "Content-Type"); !strings.HasPrefix(ct, "message/sipfrag") {
			t.Errorf("NOTIFY %d at %s: Content-Type %q", i+1, p.name, ct)
		}
	}
}

// TestTransferBlind: alice calls bob, bob blind-transfers her to carol.
// The proxy relays REFER (202 back from alice) and alice's NOTIFYs to bob;
// alice's INVITE to carol, with Referred-By, is challenged and routed like
// any call of hers.
func TestTransferBlind(t *testing.T) {
	t.Parallel()
	env := newCallEnv(t)
	a := env.phone(t, "7001", "UDP", "7001", alice)
	b := env.phone(t, "7002", "TCP", "7002", bob)
	c := env.phone(t, "7003", "UDP", "7003", carol)

	ab := connect(t, a, alice, "7002", b)
	refer := b.calleeRequest(ab.callID(), sip.REFER)
	refer.AppendHeader(sip.NewHeader("Refer-To", "<sip:7003@"+domain+">"))
	refer.AppendHeader(sip.NewHeader("Referred-By", "<sip:7002@"+domain+">"))
	refer.AppendHeader(sip.NewHeader("Contact", "<"+b.contactURI("7002")+">"))
	if res := b.do(refer); res.StatusCode != 202 {
		t.Fatalf("REFER: %d %s, want 202 from the transferee", res.StatusCode, res.Reason)
	}
	got := a.waitRequest(sip.REFER, 1, 2*time.Second)
	if v := header(got, "Refer-To"); !strings.Contains(v, "sip:7003@"+domain) {
		t.Errorf("transferee got Refer-To %q", v)
	}
	if res := a.do(sipfrag(ab, 2, "SIP/2.0 100 Trying", false)); res.StatusCode != 200 {
		t.Fatalf("NOTIFY 100: %d %s", res.StatusCode, res.Reason)
	}

	ac := a.call("7003", callOpts{As: &alice, Headers: []sip.Header{sip.NewHeader("Referred-By", "<sip:7002@"+domain+">")}})
	ac.waitStatus(200, 5*time.Second)
	ac.ack()
	inv := c.waitRequest(sip.INVITE, 1, 2*time.Second)
	if v := header(inv, "Referred-By"); !strings.Contains(v, "7002@") {
		t.Errorf("transfer target got Referred-By %q", v)
	}
	if inv.From().Address.User != "7001" {
		t.Errorf("transfer target sees From %q, want the transferee 7001", inv.From().Value())
	}
	if res := a.do(sipfrag(ab, 3, "SIP/2.0 200 OK", true)); res.StatusCode != 200 {
		t.Fatalf("NOTIFY 200: %d %s", res.StatusCode, res.Reason)
	}
	wantFrags(t, b, "SIP/2.0 100 Trying", "SIP/2.0 200 OK")

	// The transferor leaves; the transferred call stays up.
	if res := b.byeFromCallee(ab.callID()); res.StatusCode != 200 {
		t.Fatalf("transferor's BYE: %d %s", res.StatusCode, res.Reason)
	}
	env.srv.waitMetric(t, callsActive, 1, 3*time.Second)
	hangUp(t, ac, c)
	env.srv.waitMetric(t, callsActive, 0, 3*time.Second)
	for _, id := range []string{ab.callID(), ac.callID()} {
		if cdr := env.srv.waitCDR(t, id, 2*time.Second); cdr["result"] != "answered" {
			t.Errorf("CDR %s = %v, want answered", id, cdr)
		}
	}
}

// TestTransferAttended: alice calls bob; bob consults carol, who has two
// phones (the desk phone answers); bob refers alice to carol with Replaces.
// Alice's INVITE with Replaces must reach only the desk phone that holds the
// consultation call — the other phone would ring for nothing (or answer it).
func TestTransferAttended(t *testing.T) {
	t.Parallel()
	env := newCallEnv(t)
	a := env.phone(t, "7001", "UDP", "7001", alice)
	b := env.phone(t, "7002", "UDP", "7002", bob)
	desk := env.phone(t, "7003-desk", "UDP", "7003", carol)
	soft := env.phone(t, "7003-soft", "TCP", "7003", carol)
	soft.setAnswer(answer{Ring: true}) // rings until cancelled

	ab := connect(t, a, alice, "7002", b)
	bc := connect(t, b, bob, "7003", desk)
	soft.waitRequest(sip.CANCEL, 1, 3*time.Second)
	soft.setAnswer(answer{Ring: true, Code: 200}) // would answer a fork at once

	deskTag := desk.answeredTag(bc.callID())
	bobTag, _ := bc.invite.From().Params.Get("tag")
	replaces := bc.callID() + ";to-tag=" + deskTag + ";from-tag=" + bobTag
	refer := b.calleeRequest(ab.callID(), sip.REFER)
	refer.AppendHeader(sip.NewHeader("Refer-To", "<sip:7003@"+domain+"?Replaces="+url.QueryEscape(replaces)+">"))
	refer.AppendHeader(sip.NewHeader("Referred-By", "<sip:7002@"+domain+">"))
	if res := b.do(refer); res.StatusCode != 202 {
		t.Fatalf("REFER: %d %s, want 202", res.StatusCode, res.Reason)
	}
	rt := header(a.waitRequest(sip.REFER, 1, 2*time.Second), "Refer-To")
	if !strings.Contains(rt, "Replaces=") {
		t.Fatalf("Refer-To lost its Replaces: %q", rt)
	}
	ac := a.call("7003", callOpts{As: &alice, Headers: []sip.Header{
		sip.NewHeader("Replaces", replaces), sip.NewHeader("Referred-By", "<sip:7002@"+domain+">")}})
	ac.waitStatus(200, 5*time.Second)
	ac.ack()
	inv := desk.waitRequest(sip.INVITE, 2, 2*time.Second)
	if header(inv, "Replaces") != replaces {
		t.Errorf("desk phone got Replaces %q, want %q", header(inv, "Replaces"), replaces)
	}
	if n := invited(soft); n != 1 {
		t.Errorf("carol's other phone got %d INVITEs, want 1 (the consultation call only)", n)
	}
	// The desk phone ends the replaced call; the transferee reports success.
	if res := desk.byeFromCallee(bc.callID()); res.StatusCode != 200 {
		t.Fatalf("BYE of the replaced call: %d %s", res.StatusCode, res.Reason)
	}
	if res := a.do(sipfrag(ab, 2, "SIP/2.0 200 OK", true)); res.StatusCode != 200 {
		t.Fatalf("NOTIFY: %d", res.StatusCode)
	}
	wantFrags(t, b, "SIP/2.0 200 OK")
	if res := b.byeFromCallee(ab.callID()); res.StatusCode != 200 {
		t.Fatalf("transferor's BYE: %d %s", res.StatusCode, res.Reason)
	}
	env.srv.waitMetric(t, callsActive, 1, 3*time.Second)
	hangUp(t, ac, desk)
	env.srv.waitMetric(t, callsActive, 0, 3*time.Second)
}

// referFromCallee sends a blind REFER from the callee side of a call p
// answered and requires 202.
func referFromCallee(t *testing.T, p *peer, callID, target string) {
	t.Helper()
	refer := p.calleeRequest(callID, sip.REFER)
	refer.AppendHeader(sip.NewHeader("Refer-To", "<sip:"+target+"@"+domain+">"))
	refer.AppendHeader(sip.NewHeader("Referred-By", "<sip:"+p.name+"@"+domain+">"))
	refer.AppendHeader(sip.NewHeader("Contact", "<"+p.contactURI(p.name)+">"))
	if res := p.do(refer); res.StatusCode != 202 {
		t.Fatalf("REFER to %s: %d %s, want 202", target, res.StatusCode, res.Reason)
	}
}

// TestTransferCarrierCaller: a carrier call to alice's number; alice
// blind-transfers it to carol. switchboard answers the REFER itself (the
// carrier never sees it), calls carol without an offer, re-INVITEs the
// carrier with carol's SDP, ACKs carol with the carrier's answer and tells
// alice 100 then 200; afterwards a BYE from the carrier reaches carol.
func TestTransferCarrierCaller(t *testing.T) {
	t.Parallel()
	env := newCallEnv(t)
	a := env.phone(t, "7001", "UDP", "7001", alice)
	c := env.phone(t, "7003", "UDP", "7003", carol)
	in := carrierCall(env.carrier, "+14155550101")
	in.waitStatus(200, 5*time.Second)
	in.ack()
	a.waitRequest(sip.ACK, 1, 2*time.Second)

	referFromCallee(t, a, in.callID(), "7003")
	inv := c.waitRequest(sip.INVITE, 1, 5*time.Second)
	if len(inv.Body()) != 0 {
		t.Errorf("transfer target got an offer %q, want a late-offer INVITE", inv.Body())
	}
	if inv.From().Address.User != "+14085559999" {
		t.Errorf("transfer target sees From %q, want the carrier caller", inv.From().Value())
	}
	if v := header(inv, "Referred-By"); !strings.Contains(v, "7001@") {
		t.Errorf("transfer target got Referred-By %q", v)
	}
	reinv := env.carrier.waitRequest(sip.INVITE, 1, 5*time.Second)
	if !reinv.To().Params.Has("tag") || reinv.CallID().Value() != in.callID() || string(reinv.Body()) != sdpAnswer {
		t.Errorf("carrier got %s in call %s with body %q, want a re-INVITE of its call with carol's SDP",
			reinv.Method, reinv.CallID().Value(), reinv.Body())
	}
	if v := header(reinv, "Proxy-Authorization") + header(reinv, "Authorization"); v != "" {
		t.Errorf("credentials sent to the carrier: %q", v)
	}
	ack := c.waitRequest(sip.ACK, 1, 3*time.Second)
	if len(ack.Body()) == 0 {
		t.Errorf("transfer target's ACK carries no answer")
	}
	wantFrags(t, a, "SIP/2.0 100 Trying", "SIP/2.0 200 OK")
	if n := len(env.carrier.requests(sip.REFER)); n != 0 {
		t.Errorf("carrier got %d REFERs, want none", n)
	}
	env.srv.waitMetric(t, `switchboard_transfers_total{result="completed"}`, 1, 2*time.Second)

	// The transferor hangs up; the carrier keeps its call, now with carol.
	if res := a.byeFromCallee(in.callID()); res.StatusCode != 200 {
		t.Fatalf("transferor's BYE: %d %s", res.StatusCode, res.Reason)
	}
	if n := len(env.carrier.requests(sip.BYE)); n != 0 {
		t.Errorf("carrier got %d BYEs after the transferor left, want none", n)
	}
	hangUp(t, in, c)
	env.srv.waitMetric(t, callsActive, 0, 3*time.Second)
	if cdr := env.srv.waitCDR(t, in.callID(), 2*time.Second); cdr["ended_by"] != "transferred" {
		t.Errorf("carrier call CDR = %v, want ended_by=transferred", cdr)
	}
	if cdr := env.srv.waitCDR(t, inv.CallID().Value(), 2*time.Second); cdr["result"] != "answered" || cdr["ended_by"] != "bye" {
		t.Errorf("transfer leg CDR = %v, want answered, ended_by=bye", cdr)
	}
}

// TestTransferCarrierCallerFails: a transfer to an extension nobody has is
// reported to the transferor (404 sipfrag) and the caller stays with it.
func TestTransferCarrierCallerFails(t *testing.T) {
	t.Parallel()
	env := newCallEnv(t)
	a := env.phone(t, "7001", "UDP", "7001", alice)
	in := carrierCall(env.carrier, "+14155550101")
	in.waitStatus(200, 5*time.Second)
	in.ack()
	a.waitRequest(sip.ACK, 1, 2*time.Second)
	referFromCallee(t, a, in.callID(), "7999")
	wantFrags(t, a, "SIP/2.0 100 Trying", "SIP/2.0 404 Not Found")
	if n := len(env.carrier.requests(sip.INVITE)); n != 0 {
		t.Errorf("carrier re-INVITEd %d times for a failed transfer", n)
	}
	env.srv.waitMetric(t, `switchboard_transfers_total{result="failed"}`, 1, 2*time.Second)
	hangUp(t, in, a) // the carrier's BYE still reaches alice
	env.srv.waitMetric(t, callsActive, 0, 3*time.Second)
}

// TestTransferCarrierCallerToInternationalRefused: a transfer is a call
// placed for the transferor, so the tenant's toll-fraud limits apply to its
// target. Acme allows no international calls (the default), so alice's
// REFER of a carrier caller to a London number is refused at once with 403
// (nothing is placed, so there is no subscription to report on), the
// carrier is never re-INVITEd, the refusal is counted under its limit, and
// the call stays up between the two.
func TestTransferCarrierCallerToInternationalRefused(t *testing.T) {
	t.Parallel()
	env := newCallEnv(t)
	a := env.phone(t, "7001", "UDP", "7001", alice)
	in := carrierCall(env.carrier, "+14155550101")
	in.waitStatus(200, 5*time.Second)
	in.ack()
	a.waitRequest(sip.ACK, 1, 2*time.Second)
	refer := a.calleeRequest(in.callID(), sip.REFER)
	refer.AppendHeader(sip.NewHeader("Refer-To", "<sip:+442079460000@"+domain+">"))
	refer.AppendHeader(sip.NewHeader("Referred-By", "<sip:"+a.name+"@"+domain+">"))
	refer.AppendHeader(sip.NewHeader("Contact", "<"+a.contactURI(a.name)+">"))
	if res := a.do(refer); res.StatusCode != 403 {
		t.Fatalf("REFER to an international number: %d %s, want 403", res.StatusCode, res.Reason)
	}
	env.srv.waitMetric(t, `switchboard_calls_refused_total{reason="international"}`, 1, 2*time.Second)
	if n := len(env.carrier.requests(sip.INVITE)); n != 0 {
		t.Errorf("carrier re-INVITEd %d times for a refused transfer", n)
	}
	hangUp(t, in, a) // the call is still up: the carrier's BYE reaches alice
	env.srv.waitMetric(t, callsActive, 0, 3*time.Second)
}
