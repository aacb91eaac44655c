package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// connect places an authenticated call from caller (as u) to dialled,
// waits for the 200 and ACKs it; the ACK must reach answering.
func connect(t *testing.T, caller *peer, u user, dialled string, answering *peer) *outCall {
	t.Helper()
	c := caller.call(dialled, callOpts{As: &u})
	c.waitStatus(200, 5*time.Second)
	c.ack()
	answering.waitRequest(sip.ACK, 1, 2*time.Second)
	return c
}

func TestCallExtensionToExtension(t *testing.T) {
	for _, hangup := range []string{"caller", "callee"} {
		t.Run("BYE from "+hangup, func(t *testing.T) {
			t.Parallel()
			env := newCallEnv(t)
			a := env.phone(t, "7001", "UDP", "7001", alice)
			b := env.phone(t, "7002", "UDP", "7002", bob)
			b.setAnswer(answer{Ring: true, After: 200 * time.Millisecond, Code: 200})

			c := a.call("7002", callOpts{As: &alice})
			c.waitProvisional(180, 3*time.Second)
			res := c.waitStatus(200, 5*time.Second)
			if len(res.GetHeaders("Record-Route")) == 0 {
				t.Errorf("200 carries no Record-Route:\n%s", res)
			}
			inv := b.waitRequest(sip.INVITE, 1, time.Second)
			// Internal callees see the caller's extension and name.
			if from := inv.From(); from.Address.User != "7001" || from.DisplayName != "Alice Anders" {
				t.Errorf("callee sees From %q, want Alice Anders <7001>", from.Value())
			}
			if inv.GetHeader("Proxy-Authorization") != nil {
				t.Errorf("credentials leaked to the callee: %s", header(inv, "Proxy-Authorization"))
			}
			c.ack()
			b.waitRequest(sip.ACK, 1, 2*time.Second)
			env.srv.waitMetric(t, callsActive, 1, 2*time.Second)

			if hangup == "caller" {
				if res := c.bye(); res.StatusCode != 200 {
					t.Fatalf("BYE from caller: %d %s", res.StatusCode, res.Reason)
				}
				b.waitRequest(sip.BYE, 1, 2*time.Second)
			} else {
				if res := b.byeFromCallee(c.callID()); res.StatusCode != 200 {
					t.Fatalf("BYE from callee: %d %s", res.StatusCode, res.Reason)
				}
				a.waitRequest(sip.BYE, 1, 2*time.Second)
			}
			env.srv.wantMetrics(t, map[string]float64{
				callsActive:                    0,
				callsTotal("user", "answered"): 1,
				decisions("user"):              1,
			}, 2*time.Second)
			cdr := env.srv.waitCDR(t, c.callID(), 2*time.Second)
			if cdr["result"] != "answered" || cdr["caller"] != "alice" || cdr["plan"] != "user" {
				t.Errorf("CDR = %v, want result=answered caller=alice plan=user", cdr)
			}
		})
	}
}

// invited is how many INVITEs p received.
func invited(p *peer) int { return len(p.requests(sip.INVITE)) }

// hangUp ends an answered call from the caller side; the BYE must reach callee.
func hangUp(t *testing.T, c *outCall, callee *peer) {
	t.Helper()
	if res := c.bye(); res.StatusCode != 200 {
		t.Fatalf("BYE: %d %s", res.StatusCode, res.Reason)
	}
	callee.waitRequest(sip.BYE, 1, 2*time.Second)
}

// completedElsewhere is the Reason of the CANCELs that end a fork's other
// branches once one answered.
const completedElsewhere = `SIP;cause=200;text="Call completed elsewhere"`

// wantCancel waits for p's CANCEL and checks its Reason (none when reason is "").
func wantCancel(t *testing.T, p *peer, reason string) {
	t.Helper()
	cancel := p.waitRequest(sip.CANCEL, 1, 3*time.Second)
	if got := header(cancel, "Reason"); got != reason {
		t.Errorf("%s: CANCEL Reason = %q, want %q", p.name, got, reason)
	}
}

func TestCallTwoDevicesOneUser(t *testing.T) {
	t.Parallel()
	env := newCallEnv(t)
	a := env.phone(t, "7001", "UDP", "7001", alice)
	desk := env.phone(t, "7002", "UDP", "7002", bob)
	soft := env.phone(t, "7002", "TCP", "7002", bob)
	desk.setAnswer(answer{Ring: true, After: 300 * time.Millisecond, Code: 200})
	soft.setAnswer(answer{Ring: true}) // rings until cancelled

	c := a.call("7002", callOpts{As: &alice})
	desk.waitRequest(sip.INVITE, 1, 3*time.Second)
	soft.waitRequest(sip.INVITE, 1, 3*time.Second)
	c.waitStatus(200, 5*time.Second)
	wantCancel(t, soft, completedElsewhere)
	if n := len(desk.requests(sip.CANCEL)); n != 0 {
		t.Errorf("the answering device got %d CANCELs", n)
	}
	c.ack()
	desk.waitRequest(sip.ACK, 1, 2*time.Second)
	hangUp(t, c, desk)
	if n := len(soft.requests(sip.BYE)); n != 0 {
		t.Errorf("the cancelled device got %d BYEs", n)
	}
	env.srv.wantMetrics(t, map[string]float64{
		callsActive:                    0,
		callsTotal("user", "answered"): 1,
		decisions("user"):              1,
	}, 3*time.Second)
}

func TestCallAlias(t *testing.T) {
	t.Run("alias line rings", func(t *testing.T) {
		t.Parallel()
		env := newCallEnv(t)
		line1 := env.phone(t, "7001", "UDP", "7001", alice)
		line2 := env.phone(t, "alice-support", "UDP", "alice-support", alice)
		b := env.phone(t, "7002", "UDP", "7002", bob)
		c := connect(t, b, bob, "alice-support", line2)
		if inv := line2.waitRequest(sip.INVITE, 1, time.Second); inv.Recipient.User != "alice-support" {
			t.Errorf("alias line got Request-URI %s, want its contact alice-support", inv.Recipient.String())
		}
		if n := invited(line1); n != 0 {
			t.Errorf("the user's own line rang %d times for a call to its alias", n)
		}
		hangUp(t, c, line2)
		env.srv.wantMetrics(t, map[string]float64{
			callsActive:                     0,
			callsTotal("alias", "answered"): 1,
			decisions("alias"):              1,
		}, 3*time.Second)
	})
	t.Run("no alias binding falls back to the owner", func(t *testing.T) {
		t.Parallel()
		env := newCallEnv(t)
		line1 := env.phone(t, "7001", "UDP", "7001", alice)
		b := env.phone(t, "7002", "UDP", "7002", bob)
		c := connect(t, b, bob, "alice-support", line1)
		hangUp(t, c, line1)
		env.srv.wantMetrics(t, map[string]float64{
			callsActive:                     0,
			callsTotal("alias", "answered"): 1,
			decisions("alias"):              1,
		}, 3*time.Second)
	})
}

func TestCallGroupSimultaneous(t *testing.T) {
	t.Parallel()
	env := newCallEnv(t)
	a := env.phone(t, "7001", "UDP", "7001", alice)
	b := env.phone(t, "7002", "UDP", "7002", bob)
	carolPhone := env.phone(t, "7003", "UDP", "7003", carol)
	a.setAnswer(answer{Ring: true})
	b.setAnswer(answer{Ring: true, After: 300 * time.Millisecond, Code: 200})

	c := carolPhone.call("7100", callOpts{As: &carol})
	a.waitRequest(sip.INVITE, 1, 3*time.Second)
	b.waitRequest(sip.INVITE, 1, 3*time.Second)
	c.waitStatus(200, 5*time.Second)
	wantCancel(t, a, completedElsewhere)
	c.ack()
	b.waitRequest(sip.ACK, 1, 2*time.Second)
	hangUp(t, c, b)
	env.srv.wantMetrics(t, map[string]float64{
		callsActive:                     0,
		callsTotal("group", "answered"): 1,
		decisions("group"):              1,
	}, 3*time.Second)
}

func TestCallGroupSequential(t *testing.T) {
	t.Parallel()
	env := newCallEnv(t)
	a := env.phone(t, "7001", "UDP", "7001", alice)
	b := env.phone(t, "7002", "UDP", "7002", bob)
	carolPhone := env.phone(t, "7003", "UDP", "7003", carol)
	b.setAnswer(answer{Ring: true}) // first member: never answers
	carolPhone.setAnswer(answer{Ring: true, After: 100 * time.Millisecond, Code: 200})

	start := time.Now()
	c := a.call("7101", callOpts{As: &alice})
	b.waitRequest(sip.INVITE, 1, 3*time.Second)
	if n := invited(carolPhone); n != 0 {
		t.Fatalf("second member rang with the first")
	}
	carolPhone.waitRequest(sip.INVITE, 1, 5*time.Second)
	if d := time.Since(start); d < 1800*time.Millisecond {
		t.Errorf("second member rang %v after the call started, want after the first's 2 s", d)
	}
	// The first member's ring ended with a plain CANCEL (no answer yet).
	wantCancel(t, b, "")
	c.waitStatus(200, 3*time.Second)
	c.ack()
	carolPhone.waitRequest(sip.ACK, 1, 2*time.Second)
	hangUp(t, c, carolPhone)
	env.srv.wantMetrics(t, map[string]float64{
		callsActive:                     0,
		callsTotal("group", "answered"): 1,
		decisions("group"):              1,
	}, 3*time.Second)
}

// attendantStatus is what a call to an attendant number gets: the attendant
// answers it (its own tests are attendant_test.go).
const attendantStatus = 200

// carrierCall sends an unauthenticated INVITE from a trunk-side peer for a number.
func carrierCall(p *peer, number string) *outCall {
	return p.call(number, callOpts{FromUser: "+14085559999", Domain: hostOf(p.srv.Addr)})
}

func TestCallFromTrunk(t *testing.T) {
	for _, did := range []string{"+14155550101", "14155550101"} {
		t.Run("DID "+did, func(t *testing.T) {
			t.Parallel()
			env := newCallEnv(t)
			a := env.phone(t, "7001", "UDP", "7001", alice)
			c := carrierCall(env.carrier, did)
			res := c.waitStatus(200, 5*time.Second)
			inv := a.waitRequest(sip.INVITE, 1, time.Second)
			// The carrier's caller ID passes through.
			if got := inv.From().Address.User; got != "+14085559999" {
				t.Errorf("callee sees From %s, want the carrier's +14085559999", inv.From().Value())
			}
			if res.GetHeader("Record-Route") == nil {
				t.Errorf("200 to the carrier has no Record-Route")
			}
			c.ack()
			a.waitRequest(sip.ACK, 1, 2*time.Second)
			hangUp(t, c, a)
			env.srv.wantMetrics(t, map[string]float64{
				callsActive:                    0,
				callsTotal("user", "answered"): 1,
				decisions("user"):              1,
			}, 3*time.Second)
		})
	}
	t.Run("unknown source", func(t *testing.T) {
		t.Parallel()
		env := newCallEnv(t)
		a := env.phone(t, "7001", "UDP", "7001", alice)
		stranger := newPeer(t, env.srv, "stranger", "127.0.0.3", "UDP")
		carrierCall(stranger, "+14155550101").waitStatus(403, 5*time.Second)
		if n := invited(a); n != 0 {
			t.Errorf("a call from an untrusted address rang the phone %d times", n)
		}
	})
	t.Run("attendant number", func(t *testing.T) {
		t.Parallel()
		env := newCallEnv(t)
		c := carrierCall(env.carrier, "+14155550100")
		if c.waitStatus(attendantStatus, 5*time.Second).IsSuccess() {
			c.ack()
			c.bye()
		}
		env.srv.wantMetrics(t, map[string]float64{
			callsActive:            0,
			decisions("attendant"): 1,
		}, 3*time.Second)
	})
}

func TestCallOutbound(t *testing.T) {
	tests := []struct {
		name     string
		as       user
		dialled  string
		want     string // Request-URI user at the carrier
		callerID string // From and P-Asserted-Identity user
		display  string
		kind     string
	}{
		{"E.164, caller_id direct", alice, "+14085551234", "+14085551234", "+14155550101", "Alice Anders", "outbound"},
		{"national, caller_id main", bob, "4085551234", "+14085551234", "+14155550100", "Acme Inc", "outbound"},
		{"emergency, direct number", alice, "911", "911", "+14155550101", "", "emergency"},
		{"emergency, main number", bob, "911", "911", "+14155550100", "", "emergency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newCallEnv(t)
			p := env.phone(t, tt.as.ext, "UDP", tt.as.ext, tt.as)
			c := connect(t, p, tt.as, tt.dialled, env.carrier)
			inv := env.carrier.waitRequest(sip.INVITE, 1, time.Second)
			if inv.Recipient.User != tt.want {
				t.Errorf("carrier got Request-URI %s, want user %s", inv.Recipient.String(), tt.want)
			}
			if from := inv.From(); from.Address.User != tt.callerID || (tt.display != "" && from.DisplayName != tt.display) {
				t.Errorf("carrier got From %s, want %q <%s>", from.Value(), tt.display, tt.callerID)
			}
			if pai := header(inv, "P-Asserted-Identity"); !strings.Contains(pai, "sip:"+tt.callerID+"@") {
				t.Errorf("carrier got P-Asserted-Identity %q, want %s", pai, tt.callerID)
			}
			hangUp(t, c, env.carrier)
			env.srv.wantMetrics(t, map[string]float64{
				callsActive:                     0,
				callsTotal(tt.kind, "answered"): 1,
				decisions(tt.kind):              1,
			}, 3*time.Second)
		})
	}
}

func TestCallForward(t *testing.T) {
	tests := []struct {
		name   string
		callee user
		setup  func(t *testing.T, env *callEnv) *peer // the callee's phone, if any
		number string
		reason string
		kind   string
	}{
		{"always", user{"dave", "7004", "dave7004"}, nil, "+14085550004", "unconditional", "forward"},
		{"no answer", erin, func(t *testing.T, env *callEnv) *peer {
			p := env.phone(t, "7005", "UDP", "7005", erin)
			p.setAnswer(answer{Ring: true})
			return p
		}, "+14085550005", "no-answer", "user"},
		{"busy", frank, func(t *testing.T, env *callEnv) *peer {
			p := env.phone(t, "7006", "UDP", "7006", frank)
			p.setAnswer(answer{Ring: true, After: 100 * time.Millisecond, Code: 486})
			return p
		}, "+14085550006", "user-busy", "user"},
		{"unregistered", user{"gina", "7007", "gina7007"}, nil, "+14085550007", "unavailable", "forward"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newCallEnv(t)
			a := env.phone(t, "7001", "UDP", "7001", alice)
			var callee *peer
			if tt.setup != nil {
				callee = tt.setup(t, env)
			}
			start := time.Now()
			c := connect(t, a, alice, tt.callee.ext, env.carrier)
			inv := env.carrier.waitRequest(sip.INVITE, 1, time.Second)
			if inv.Recipient.User != tt.number {
				t.Errorf("carrier got Request-URI %s, want %s", inv.Recipient.String(), tt.number)
			}
			div := header(inv, "Diversion")
			if !strings.Contains(div, "sip:"+tt.callee.ext+"@") || !strings.Contains(div, "reason="+tt.reason) {
				t.Errorf("Diversion = %q, want the diverting extension %s and reason=%s", div, tt.callee.ext, tt.reason)
			}
			if hi := header(inv, "History-Info"); !strings.Contains(hi, tt.number) || !strings.Contains(hi, "index=1.1") {
				t.Errorf("History-Info = %q, want entries for the diverter and %s", hi, tt.number)
			}
			// Calls from users present the caller's outbound caller ID.
			if got := inv.From().Address.User; got != "+14155550101" {
				t.Errorf("forwarded From = %s, want alice's direct number", inv.From().Value())
			}
			switch tt.name {
			case "no answer":
				if d := time.Since(start); d < 1800*time.Millisecond {
					t.Errorf("forwarded after %v, want after the 2 s ring", d)
				}
				wantCancel(t, callee, "")
			case "busy":
				if n := invited(callee); n != 1 {
					t.Errorf("busy phone got %d INVITEs, want 1", n)
				}
			}
			hangUp(t, c, env.carrier)
			env.srv.wantMetrics(t, map[string]float64{
				callsActive:                     0,
				callsTotal(tt.kind, "answered"): 1,
				decisions(tt.kind):              1,
			}, 3*time.Second)
		})
	}
}

func TestCallCancelMidRing(t *testing.T) {
	t.Parallel()
	env := newCallEnv(t)
	a := env.phone(t, "7001", "UDP", "7001", alice)
	b := env.phone(t, "7002", "UDP", "7002", bob)
	b.setAnswer(answer{Ring: true})
	c := a.call("7002", callOpts{As: &alice})
	c.waitProvisional(180, 3*time.Second)
	if res := c.cancel(); res.StatusCode != 200 {
		t.Fatalf("CANCEL: %d %s", res.StatusCode, res.Reason)
	}
	c.waitStatus(487, 3*time.Second)
	wantCancel(t, b, "")
	env.srv.wantMetrics(t, map[string]float64{
		callsActive:                     0,
		callsTotal("user", "cancelled"): 1,
		decisions("user"):               1,
	}, 3*time.Second)
}

func TestCallNeverAnswered(t *testing.T) {
	t.Parallel()
	env := newCallEnv(t)
	a := env.phone(t, "7001", "UDP", "7001", alice)
	carolPhone := env.phone(t, "7003", "UDP", "7003", carol)
	carolPhone.setAnswer(answer{Ring: true}) // never answers
	goroutines := func() float64 { return env.srv.metrics(t)["go_goroutines"] }
	before := goroutines()

	for i := range 3 {
		c := a.call("7102", callOpts{As: &alice}) // group "quick": rings 2 s
		carolPhone.waitRequest(sip.INVITE, i+1, 3*time.Second)
		c.waitStatus(480, 5*time.Second)
	}
	wantCancelCount := func() bool { return len(carolPhone.requests(sip.CANCEL)) == 3 }
	if !poll(3*time.Second, wantCancelCount) {
		t.Errorf("unanswered phone got %d CANCELs, want 3", len(carolPhone.requests(sip.CANCEL)))
	}
	env.srv.wantMetrics(t, map[string]float64{
		callsActive:                      0,
		callsTotal("group", "no_answer"): 3,
		decisions("group"):               3,
	}, 3*time.Second)
	// Every goroutine of the calls ends: no per-call leak.
	var now float64
	if !poll(10*time.Second, func() bool { now = goroutines(); return now <= before+3 }) {
		t.Errorf("go_goroutines = %v after three unanswered calls, want about %v", now, before)
	}
}
