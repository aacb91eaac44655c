package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func TestCallAuth(t *testing.T) {
	t.Parallel()
	env := newCallEnv(t)
	a := env.phone(t, "7001", "UDP", "7001", alice)
	b := env.phone(t, "7002", "UDP", "7002", bob)

	t.Run("no credentials", func(t *testing.T) {
		res := a.call("7002", callOpts{FromUser: "7001"}).waitStatus(407, 5*time.Second)
		if res.GetHeader("Proxy-Authenticate") == nil {
			t.Errorf("407 without Proxy-Authenticate")
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		// No toll fraud: wrong credentials are refused, not re-challenged.
		a.call("7002", callOpts{As: &alice, Password: "guess"}).waitStatus(403, 5*time.Second)
	})
	t.Run("another user's identity", func(t *testing.T) {
		// alice's credentials with bob's extension in From.
		a.call("7003", callOpts{As: &alice, FromUser: "7002"}).waitStatus(403, 5*time.Second)
	})
	t.Run("unknown domain", func(t *testing.T) {
		res := a.call("7002", callOpts{FromUser: "7001", Domain: "other.example"}).waitStatus(403, 5*time.Second)
		if res.GetHeader("Proxy-Authenticate") != nil {
			t.Errorf("403 for an unserved domain carries a challenge")
		}
	})
	t.Run("unknown extension", func(t *testing.T) {
		a.call("7999", callOpts{As: &alice}).waitStatus(404, 5*time.Second)
	})
	if n := invited(b); n != 0 {
		t.Errorf("refused calls rang the callee %d times", n)
	}
	env.srv.wantMetrics(t, map[string]float64{
		callsActive: 0,
		`switchboard_auth_failures_total{reason="wrong_password"}`:    1,
		`switchboard_sip_responses_total{code="407",method="INVITE"}`: 4, // 3 challenges + 1 unauthenticated
		`switchboard_sip_responses_total{code="403",method="INVITE"}`: 3,
	}, 3*time.Second)
}

func TestCallWithoutSDP(t *testing.T) {
	t.Parallel()
	env := newCallEnv(t)
	a := env.phone(t, "7001", "UDP", "7001", alice)
	b := env.phone(t, "7002", "UDP", "7002", bob)
	c := a.call("7002", callOpts{As: &alice, NoSDP: true})
	c.waitStatus(200, 5*time.Second)
	if inv := b.waitRequest(sip.INVITE, 1, time.Second); len(inv.Body()) != 0 {
		t.Errorf("callee got a body %q for an SDP-less INVITE", inv.Body())
	}
	c.ack()
	b.waitRequest(sip.ACK, 1, 2*time.Second)
	hangUp(t, c, b)
	env.srv.wantMetrics(t, map[string]float64{callsActive: 0, callsTotal("user", "answered"): 1}, 3*time.Second)
}

// inviteLines is an INVITE from the raw socket, 7001 → 7002, with header
// lines replaced (same name) or added.
func inviteLines(replace ...string) []string {
	lines := []string{
		"INVITE sip:7002@{domain} SIP/2.0",
		"Via: {via}",
		"Max-Forwards: 70",
		"From: <sip:7001@{domain}>;tag={tag}",
		"To: <sip:7002@{domain}>",
		"Call-ID: {callid}",
		"CSeq: 1 INVITE",
		"Contact: <sip:7001@127.0.0.1:{port}>",
	}
	for _, r := range replace {
		name := r[:strings.IndexByte(r, ':')+1]
		found := false
		for i, l := range lines {
			if strings.HasPrefix(l, name) {
				lines[i], found = r, true
				break
			}
		}
		if !found {
			lines = append(lines, r)
		}
	}
	return append(lines, "Content-Length: 0")
}

func TestCallBadInput(t *testing.T) {
	t.Parallel()
	env := newCallEnv(t)
	b := env.phone(t, "7002", "UDP", "7002", bob)
	r := newRaw(t, env.srv)
	ownVia := "Via: SIP/2.0/UDP " + env.srv.Addr + ";branch=z9hG4bK-looped"
	tests := []struct {
		name  string
		lines []string
		want  []int // acceptable answers; noAnswer when sipgo drops the datagram
	}{
		{"Max-Forwards 0", inviteLines("Max-Forwards: 0"), []int{483}},
		{"loop", append(inviteLines()[:2], append([]string{ownVia}, inviteLines()[2:]...)...), []int{482}},
		{"malformed Via", inviteLines("Via: this is not a via"), []int{400, noAnswer}},
		{"Via without sent-by", inviteLines("Via: SIP/2.0/UDP ;branch=z9hG4bK-x"), []int{400, noAnswer}},
		{"CSeq not a number", inviteLines("CSeq: one INVITE"), []int{400, noAnswer}},
		{"CSeq method mismatch", inviteLines("CSeq: 1 BYE"), []int{400}},
		{"malformed Route", inviteLines("Route: <sip:"), []int{400, noAnswer, inviteStatus}},
		{"Route to a tel URI", inviteLines("Route: <tel:+1555>"), []int{400, noAnswer, inviteStatus}},
		{"CANCEL for no transaction", []string{"CANCEL sip:7002@{domain} SIP/2.0", "Via: {via}", "Max-Forwards: 70",
			"From: <sip:7001@{domain}>;tag={tag}", "To: <sip:7002@{domain}>", "Call-ID: {callid}", "CSeq: 1 CANCEL", "Content-Length: 0"}, []int{481}},
		{"BYE for no dialog", []string{"BYE sip:7002@{domain} SIP/2.0", "Via: {via}", "Max-Forwards: 70",
			"From: <sip:7001@{domain}>;tag={tag}", "To: <sip:7002@{domain}>;tag=nope", "Call-ID: {callid}", "CSeq: 2 BYE", "Content-Length: 0"}, []int{481}},
		// Not an open relay: an in-dialog request for a dialog we did not set
		// up is refused, whatever Route it names.
		{"MESSAGE routed elsewhere for no dialog", []string{"MESSAGE sip:victim@198.51.100.7 SIP/2.0", "Via: {via}", "Max-Forwards: 70",
			"Route: <sip:127.0.0.9:5099;lr>",
			"From: <sip:7001@{domain}>;tag={tag}", "To: <sip:victim@198.51.100.7>;tag=x", "Call-ID: {callid}", "CSeq: 2 MESSAGE", "Content-Length: 0"}, []int{405, 481}},
		{"BYE routed elsewhere for no dialog", []string{"BYE sip:victim@127.0.0.9:5099 SIP/2.0", "Via: {via}", "Max-Forwards: 70",
			"Route: <sip:127.0.0.9:5099;lr>",
			"From: <sip:7001@{domain}>;tag={tag}", "To: <sip:victim@127.0.0.9>;tag=x", "Call-ID: {callid}", "CSeq: 2 BYE", "Content-Length: 0"}, []int{481}},
		{"ACK for no dialog", []string{"ACK sip:7002@{domain} SIP/2.0", "Via: {via}", "Max-Forwards: 70",
			"From: <sip:7001@{domain}>;tag={tag}", "To: <sip:7002@{domain}>;tag=nope", "Call-ID: {callid}", "CSeq: 1 ACK", "Content-Length: 0"}, []int{noAnswer}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.t = t
			res := r.do(r.message(tt.lines...))
			got := noAnswer
			if res != nil {
				got = res.StatusCode
			}
			ok := false
			for _, w := range tt.want {
				ok = ok || got == w
			}
			if !ok {
				t.Errorf("status = %d, want one of %v (0 = no answer)", got, tt.want)
			}
			wantAlive(t, env.srv, r)
		})
	}
	r.t = t
	if n := invited(b); n != 0 {
		t.Errorf("bad requests rang the phone %d times", n)
	}
	env.srv.wantMetrics(t, map[string]float64{
		callsActive:                            0,
		"switchboard_sip_handler_panics_total": 0,
	}, 2*time.Second)
}

func TestCallOverTCP(t *testing.T) {
	t.Parallel()
	env := newCallEnv(t)
	a := env.phone(t, "7001", "UDP", "7001", alice)
	b := env.phone(t, "7002", "TCP", "7002", bob)
	own := "127.0.0.1:" + strconv.Itoa(portOf(env.srv.Addr))

	// UDP caller → TCP callee; the callee hangs up.
	c := connect(t, a, alice, "7002", b)
	inv := b.waitRequest(sip.INVITE, 1, time.Second)
	rr := inv.GetHeaders("Record-Route")
	if len(rr) != 2 || !strings.Contains(rr[0].Value(), own+";transport=tcp") || !strings.Contains(rr[1].Value(), own+";transport=udp") {
		t.Errorf("callee's Record-Route = %q, want the tcp entry then the udp entry of %s", header(inv, "Record-Route"), own)
	}
	if n := len(c.final.GetHeaders("Record-Route")); n != 2 {
		t.Errorf("caller's 200 has %d Record-Route entries, want 2", n)
	}
	if res := b.byeFromCallee(c.callID()); res.StatusCode != 200 {
		t.Fatalf("BYE from the TCP callee: %d %s", res.StatusCode, res.Reason)
	}
	a.waitRequest(sip.BYE, 1, 2*time.Second)

	// TCP caller → UDP callee; the caller hangs up.
	c = connect(t, b, bob, "7001", a)
	hangUp(t, c, a)
	env.srv.wantMetrics(t, map[string]float64{
		callsActive:                    0,
		callsTotal("user", "answered"): 2,
	}, 3*time.Second)
}
