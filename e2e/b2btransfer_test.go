package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// notifyFrags returns the sipfrag status lines of the NOTIFYs p received.
func notifyFrags(p *mediaPhone) []string {
	var out []string
	for _, n := range p.requests(sip.NOTIFY) {
		out = append(out, strings.TrimSpace(string(n.Body())))
	}
	return out
}

// TestAttendantCallTransferred: a carrier caller reaches alice through the
// attendant (dial by extension); alice transfers the caller to carol. The
// engine answers the REFER, calls carol and re-bridges the caller's audio
// to her; alice gets 100 then 200 and hangs up; the caller keeps talking.
func TestAttendantCallTransferred(t *testing.T) {
	t.Parallel()
	e := newB2BEnv(t)
	alice := e.phone(t, alice, fillAlice, answer{Ring: true, Code: 200})
	carol := e.phone(t, carol, fillCarol, answer{Ring: true, Code: 200, After: 200 * time.Millisecond})
	answerAndHearGreeting(t, e, mainNumber)
	e.pstn.pressRTPKeys("7001")
	alice.waitRequest(sip.INVITE, 5*time.Second)
	wantBridged(t, e.pstn, alice)

	refer := alice.inDialog(sip.REFER)
	refer.AppendHeader(sip.NewHeader("Refer-To", "<sip:7003@"+domain+">"))
	refer.AppendHeader(sip.NewHeader("Contact", "<sip:alice@"+alice.addr+">"))
	if res := alice.do(refer); res.StatusCode != 202 {
		t.Fatalf("REFER: %d %s, want 202", res.StatusCode, res.Reason)
	}
	carol.waitRequest(sip.INVITE, 5*time.Second)
	wantBridged(t, e.pstn, carol)
	waitUntil(t, 5*time.Second, "NOTIFY 100 and 200 at alice", func() bool {
		f := notifyFrags(alice)
		return len(f) == 2 && f[0] == "SIP/2.0 100 Trying" && f[1] == "SIP/2.0 200 OK"
	})
	alice.bye()
	heard := e.pstn.receivedFill(fillCarol)
	waitUntil(t, 5*time.Second, "caller still hears carol after alice left", func() bool {
		return e.pstn.receivedFill(fillCarol) >= heard+25
	})
	if e.pstn.gotBye() {
		t.Fatal("the caller was hung up when the transferor left")
	}
	e.pstn.bye()
	carol.waitRequest(sip.BYE, 5*time.Second)
	e.wantIdle(t, map[string]float64{`switchboard_transfers_total{result="completed"}`: 1})
}

// TestAttendantTransferUnknownTarget: a REFER to nobody leaves the caller
// with the transferor, who is told 404.
func TestAttendantTransferUnknownTarget(t *testing.T) {
	t.Parallel()
	e := newB2BEnv(t)
	alice := e.phone(t, alice, fillAlice, answer{Ring: true, Code: 200})
	answerAndHearGreeting(t, e, mainNumber)
	e.pstn.pressRTPKeys("7001")
	alice.waitRequest(sip.INVITE, 5*time.Second)
	wantBridged(t, e.pstn, alice)
	refer := alice.inDialog(sip.REFER)
	refer.AppendHeader(sip.NewHeader("Refer-To", "<sip:+14085550000@"+domain+">")) // external: refused
	if res := alice.do(refer); res.StatusCode != 202 {
		t.Fatalf("REFER: %d %s, want 202", res.StatusCode, res.Reason)
	}
	waitUntil(t, 5*time.Second, "NOTIFY 404 at alice", func() bool {
		f := notifyFrags(alice)
		return len(f) == 2 && f[1] == "SIP/2.0 404 Not Found"
	})
	heard := e.pstn.receivedFill(fillAlice)
	waitUntil(t, 5*time.Second, "caller still hears alice", func() bool { return e.pstn.receivedFill(fillAlice) >= heard+25 })
	alice.bye()
	waitUntil(t, 5*time.Second, "caller gets BYE", e.pstn.gotBye)
	e.wantIdle(t, map[string]float64{`switchboard_transfers_total{result="failed"}`: 1})
}
