package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/media"
)

// samNumber is the DID of sam, who forwards always with press-1 screening
// to +14085550010 through the trunk (the fake carrier).
const samNumber = "+14155550110"

// announcementFrames returns the 20 ms frames of the screening announcement
// the carrier should hear once for a call from pstnCaller: "Call for", the
// tenant's recorded name (tenant-acme.example.wav in the prompts folder),
// "from", the digits of +14085559999, "Press 1 to accept, or hang up to
// decline."
func announcementFrames(t *testing.T, e *b2bEnv) int {
	t.Helper()
	prompts, err := media.LoadPrompts(e.prompts)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"call-for", "tenant-acme.example", "from"}
	for _, d := range strings.TrimPrefix(pstnCaller, "+") {
		names = append(names, "digit-"+string(d))
	}
	frames := 0
	for _, name := range append(names, "press-1") {
		p, ok := prompts.Get(name)
		if !ok {
			t.Fatalf("no prompt %s", name)
		}
		frames += p.Frames()
	}
	return frames
}

// screenedCall calls sam from the PSTN and waits until the carrier, having
// answered, has heard 0.5 s of the screening announcement.
func screenedCall(t *testing.T, e *b2bEnv) {
	t.Helper()
	e.carrier.setAnswer(answer{Ring: true, Code: 200, After: 100 * time.Millisecond})
	e.pstn.call(samNumber, pstnCaller, nil)
	inv := e.carrier.waitRequest(sip.INVITE, 5*time.Second)
	if got := inv.Recipient.User; got != "+14085550010" {
		t.Errorf("forwarded to %q, want +14085550010", got)
	}
	if d := header(inv, "Diversion"); !strings.Contains(d, "sip:7010@acme.example") || !strings.Contains(d, "reason=unconditional") {
		t.Errorf("Diversion = %q, want sam's extension, reason unconditional", d)
	}
	if h := header(inv, "History-Info"); h == "" {
		t.Error("no History-Info on the forwarded leg")
	}
	waitUntil(t, 5*time.Second, "screening prompt RTP", func() bool { return e.carrier.received(0) >= 25 })
	if n := e.pstn.received(0); n != 0 {
		t.Errorf("caller received %d RTP packets during screening, want 0 (it must not hear the prompt)", n)
	}
}

func TestScreeningAccepted(t *testing.T) {
	for _, how := range []string{"rfc4733", "info"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			e := newB2BEnv(t)
			screenedCall(t, e)
			if how == "info" {
				e.carrier.pressInfo('1')
			} else {
				e.carrier.pressRTP('1')
			}
			e.pstn.waitFinal(200, 5*time.Second)
			wantBridged(t, e.pstn, e.carrier)
			e.pstn.bye()
			e.carrier.waitRequest(sip.BYE, 5*time.Second)
			e.wantIdle(t, map[string]float64{screening("accepted"): 1})
		})
	}
}

// wantNextStep checks the caller got the plan's final 480 with the
// screening result as the Reason, and the forwarded leg was hung up.
func wantNextStep(t *testing.T, e *b2bEnv, result string) {
	t.Helper()
	res := e.pstn.waitFinal(480, 10*time.Second)
	if r := header(res, "Reason"); !strings.Contains(r, "screening") {
		t.Errorf("480 Reason = %q, want the screening result", r)
	}
	e.wantIdle(t, map[string]float64{screening(result): 1})
}

func TestScreeningNotAccepted(t *testing.T) {
	t.Run("key 2", func(t *testing.T) {
		t.Parallel()
		e := newB2BEnv(t)
		screenedCall(t, e)
		e.carrier.pressRTP('2')
		e.carrier.waitRequest(sip.BYE, 5*time.Second)
		wantNextStep(t, e, "declined")
		// Barge-in: the key stopped the announcement.
		if n, once := e.carrier.received(0), announcementFrames(t, e); n >= once {
			t.Errorf("carrier heard %d announcement packets after pressing 2 early, want fewer than the %d of the whole", n, once)
		}
	})
	t.Run("no key", func(t *testing.T) {
		t.Parallel()
		e := newB2BEnv(t)
		screenedCall(t, e)
		// The announcement (about 12 s), a pause (0.8 s), the announcement
		// again, then media.screening_timeout (2 s).
		once := announcementFrames(t, e)
		e.carrier.waitRequest(sip.BYE, 40*time.Second)
		wantNextStep(t, e, "timeout")
		// PCMU (payload type 0): twice the announcement and the 40 frames
		// of the pause, nothing else.
		if n, want := e.carrier.received(0), 2*once+40; n < want || n > want+2 {
			t.Errorf("carrier heard %d PCMU packets, want the announcement twice with a pause: %d", n, want)
		}
	})
	t.Run("far end hangs up", func(t *testing.T) {
		t.Parallel()
		e := newB2BEnv(t)
		screenedCall(t, e)
		e.carrier.bye()
		wantNextStep(t, e, "declined")
	})
	t.Run("never answers", func(t *testing.T) {
		t.Parallel()
		e := newB2BEnv(t)
		e.carrier.setAnswer(answer{Ring: true})
		e.pstn.call(samNumber, pstnCaller, nil)
		e.carrier.waitRequest(sip.INVITE, 5*time.Second)
		// media.screening_ring is 3 s.
		e.carrier.waitRequest(sip.CANCEL, 8*time.Second)
		wantNextStep(t, e, "no_answer")
	})
	t.Run("trunk busy", func(t *testing.T) {
		t.Parallel()
		e := newB2BEnv(t)
		e.carrier.setAnswer(answer{Ring: true, Code: 486})
		e.pstn.call(samNumber, pstnCaller, nil)
		wantNextStep(t, e, "busy")
	})
	t.Run("trunk refuses", func(t *testing.T) {
		t.Parallel()
		e := newB2BEnv(t)
		e.carrier.setAnswer(answer{Code: 503})
		e.pstn.call(samNumber, pstnCaller, nil)
		wantNextStep(t, e, "no_answer")
	})
}

func TestScreeningCallerCancels(t *testing.T) {
	t.Run("during ringing", func(t *testing.T) {
		t.Parallel()
		e := newB2BEnv(t)
		e.carrier.setAnswer(answer{Ring: true})
		e.pstn.call(samNumber, pstnCaller, nil)
		e.carrier.waitRequest(sip.INVITE, 5*time.Second)
		e.pstn.cancel()
		e.pstn.waitFinal(487, 5*time.Second)
		e.carrier.waitRequest(sip.CANCEL, 5*time.Second)
		// The caller's call and the forwarded leg switchboard placed are
		// both counted (and logged) as calls.
		e.wantIdle(t, map[string]float64{screening("caller_cancelled"): 1, callsTotal("forward", "cancelled"): 2})
	})
	t.Run("during prompt", func(t *testing.T) {
		t.Parallel()
		e := newB2BEnv(t)
		screenedCall(t, e)
		e.pstn.cancel()
		e.pstn.waitFinal(487, 5*time.Second)
		e.carrier.waitRequest(sip.BYE, 5*time.Second)
		e.wantIdle(t, map[string]float64{screening("caller_cancelled"): 1})
	})
}
