package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/google/go-cmp/cmp"
)

// inviteStatus is what an INVITE from a tenant's user without credentials
// gets: the proxy challenges every call from a user (DESIGN.md, call flow
// step 2). The one place to update when that changes.
const inviteStatus = 407

// checkAllow fails unless res has an Allow header that lists REGISTER and
// OPTIONS and, when refused is set, not the refused method.
func checkAllow(t *testing.T, res *sip.Response, refused string) {
	t.Helper()
	h := res.GetHeader("Allow")
	if h == nil {
		t.Errorf("%d to %s has no Allow header", res.StatusCode, res.CSeq().MethodName)
		return
	}
	var methods []string
	for _, m := range strings.Split(h.Value(), ",") {
		methods = append(methods, strings.TrimSpace(m))
	}
	for _, m := range []string{"REGISTER", "OPTIONS"} {
		if !slices.Contains(methods, m) {
			t.Errorf("Allow: %s lacks %s", h.Value(), m)
		}
	}
	if refused != "" && slices.Contains(methods, refused) {
		t.Errorf("Allow: %s lists %s, which was refused", h.Value(), refused)
	}
}

// registerLines is a REGISTER from the raw socket for aor (user part of To)
// with Call-ID callID and CSeq cseq, plus extra header lines.
func registerLines(aor, callID string, cseq int, extra ...string) []string {
	lines := []string{
		"REGISTER sip:{domain} SIP/2.0",
		"Via: {via}",
		"Max-Forwards: 70",
		"From: <sip:" + aor + "@{domain}>;tag={tag}",
		"To: <sip:" + aor + "@{domain}>",
		"Call-ID: " + callID,
		fmt.Sprintf("CSeq: %d REGISTER", cseq),
	}
	return append(append(lines, extra...), "Content-Length: 0")
}

// authRegister sends a REGISTER for aor, answers the 401 with username's
// credentials and returns the final response.
func authRegister(t *testing.T, r *rawUDP, aor, username, password string, extra ...string) *sip.Response {
	t.Helper()
	callID := token() + "@e2e"
	res := r.mustDo(r.message(registerLines(aor, callID, 1, extra...)...))
	if res.StatusCode != 401 {
		return res
	}
	authz := authorization(t, res, "REGISTER", "sip:"+domain, username, password, 1)
	return r.mustDo(r.message(registerLines(aor, callID, 2, append(extra, "Authorization: "+authz)...)...))
}

func TestMalformedRequests(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	r := newRaw(t, srv)
	tests := []struct {
		name  string
		lines []string
		want  int // 0: no answer is acceptable (the message cannot be answered or sipgo drops it)
	}{
		{"missing From", []string{"REGISTER sip:{domain} SIP/2.0", "Via: {via}", "To: <sip:7001@{domain}>",
			"Call-ID: {callid}", "CSeq: 1 REGISTER", "Content-Length: 0"}, 400},
		{"missing To", []string{"REGISTER sip:{domain} SIP/2.0", "Via: {via}", "From: <sip:7001@{domain}>;tag={tag}",
			"Call-ID: {callid}", "CSeq: 1 REGISTER", "Content-Length: 0"}, 400},
		{"missing Call-ID", []string{"REGISTER sip:{domain} SIP/2.0", "Via: {via}", "From: <sip:7001@{domain}>;tag={tag}",
			"To: <sip:7001@{domain}>", "CSeq: 1 REGISTER", "Content-Length: 0"}, 400},
		{"CSeq method mismatch", []string{"REGISTER sip:{domain} SIP/2.0", "Via: {via}", "From: <sip:7001@{domain}>;tag={tag}",
			"To: <sip:7001@{domain}>", "Call-ID: {callid}", "CSeq: 1 OPTIONS", "Content-Length: 0"}, 400},
		{"two To headers", []string{"REGISTER sip:{domain} SIP/2.0", "Via: {via}", "From: <sip:7001@{domain}>;tag={tag}",
			"To: <sip:7001@{domain}>", "To: <sip:7002@{domain}>", "Call-ID: {callid}", "CSeq: 1 REGISTER", "Content-Length: 0"}, 400},
		{"SIP/3.0", []string{"REGISTER sip:{domain} SIP/3.0", "Via: {via}", "From: <sip:7001@{domain}>;tag={tag}",
			"To: <sip:7001@{domain}>", "Call-ID: {callid}", "CSeq: 1 REGISTER", "Content-Length: 0"}, 505},
		{"To is a tel URI", []string{"REGISTER sip:{domain} SIP/2.0", "Via: {via}", "From: <sip:7001@{domain}>;tag={tag}",
			"To: <tel:+14155550101>", "Call-ID: {callid}", "CSeq: 1 REGISTER", "Content-Length: 0"}, 400},
		{"Require unknown extension", []string{"REGISTER sip:{domain} SIP/2.0", "Via: {via}", "From: <sip:7001@{domain}>;tag={tag}",
			"To: <sip:7001@{domain}>", "Call-ID: {callid}", "CSeq: 1 REGISTER", "Require: teleportation", "Content-Length: 0"}, 420},
		// sipgo's transaction layer cannot key a transaction without a Via
		// or a CSeq; it answers 400 statelessly to the packet's source.
		{"missing Via", []string{"REGISTER sip:{domain} SIP/2.0", "From: <sip:7001@{domain}>;tag={tag}",
			"To: <sip:7001@{domain}>", "Call-ID: {callid}", "CSeq: 1 REGISTER", "Content-Length: 0"}, 400},
		{"missing CSeq", []string{"REGISTER sip:{domain} SIP/2.0", "Via: {via}", "From: <sip:7001@{domain}>;tag={tag}",
			"To: <sip:7001@{domain}>", "Call-ID: {callid}", "Content-Length: 0"}, 400},
		// sipgo's parser refuses these and drops the datagram: no answer.
		{"header line without colon", []string{"REGISTER sip:{domain} SIP/2.0", "Via: {via}", "From: <sip:7001@{domain}>;tag={tag}",
			"To: <sip:7001@{domain}>", "Call-ID: {callid}", "CSeq: 1 REGISTER", "this is not a header", "Content-Length: 0"}, 0},
		{"garbage request line", []string{"HELLO THERE", "Via: {via}", "Content-Length: 0"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.t = t
			res := r.do(r.message(tt.lines...))
			got := 0
			if res != nil {
				got = res.StatusCode
			}
			if got != tt.want {
				t.Errorf("status = %d, want %d (0 = no answer)", got, tt.want)
			}
			wantAlive(t, srv, r)
		})
	}
	r.t = t
}

// wantAlive fails unless the server still answers OPTIONS with 200.
func wantAlive(t *testing.T, srv *server, r *rawUDP) {
	t.Helper()
	if !srv.alive() {
		t.Fatal("switchboard exited")
	}
	res := r.do(r.message("OPTIONS sip:{domain} SIP/2.0", "Via: {via}", "Max-Forwards: 70",
		"From: <sip:probe@{domain}>;tag={tag}", "To: <sip:{domain}>", "Call-ID: {callid}", "CSeq: 1 OPTIONS", "Content-Length: 0"))
	if res == nil || res.StatusCode != 200 {
		t.Fatalf("OPTIONS after the message: %v, want 200", res)
	}
}

func TestGarbageExpires(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	r := newRaw(t, srv)
	for _, tt := range []struct{ name, header string }{
		{"Expires header", "Expires: soon"},
		{"negative Expires header", "Expires: -5"},
		{"contact expires param", "Expires: 300"},
		{"bad q", "Expires: 300"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r.t = t
			c := fmt.Sprintf("Contact: <sip:7001@127.0.0.1:%d>", r.port())
			switch tt.name {
			case "contact expires param":
				c += ";expires=tomorrow"
			case "bad q":
				c += ";q=7"
			}
			res := authRegister(t, r, "7001", "7001", alice.password, c, tt.header)
			if res.StatusCode != 400 {
				t.Errorf("status = %d %s, want 400", res.StatusCode, res.Reason)
			}
		})
	}
	r.t = t
	srv.waitMetric(t, activeSample, 0, time.Second)
}

func TestIntervalTooBrief(t *testing.T) {
	t.Parallel()
	srv := start(t, options{}) // min_expires 60s
	p := newPhone(t, srv, "UDP")
	res := p.register(reg{AOR: "7001", As: alice, Contacts: []string{"<" + contact("7001", 5999, "udp") + ">"}, Expires: 10})
	wantStatus(t, res, 423)
	h := res.GetHeader("Min-Expires")
	if h == nil || h.Value() != "60" {
		t.Errorf("Min-Expires = %v, want 60", h)
	}
}

func TestRegisterAnotherUsersAOR(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	alicePhone := newPhone(t, srv, "UDP")
	c1, c2 := contact("7001", 5998, "udp"), contact("alice-support", 5998, "udp")
	wantStatus(t, alicePhone.register(reg{AOR: "7001", As: alice, Contacts: []string{"<" + c1 + ">"}, Expires: 300}), 200)
	wantStatus(t, alicePhone.register(reg{AOR: "alice-support", As: alice, Contacts: []string{"<" + c2 + ">"}, Expires: 300}), 200)

	bobPhone := newPhone(t, srv, "TCP")
	for _, aor := range []string{"7001", "alice", "alice-support", "7100"} {
		res := bobPhone.register(reg{AOR: aor, As: bob, Contacts: []string{"<" + contact("7002", 5999, "tcp") + ">"}, Expires: 300})
		if res.StatusCode != 403 {
			t.Errorf("bob registering %s: %d %s, want 403", aor, res.StatusCode, res.Reason)
		}
	}
	// Unregistering someone else's contacts is refused too.
	res := bobPhone.register(reg{AOR: "7001", As: bob, Contacts: []string{"*"}, Expires: 0})
	if res.StatusCode != 403 {
		t.Errorf("bob sending Contact: * for 7001: %d, want 403", res.StatusCode)
	}

	res = alicePhone.register(reg{AOR: "7001", As: alice, Expires: -1})
	wantStatus(t, res, 200)
	checkExpires(t, bindings(t, res), map[string]int{c1: 300})
	res = alicePhone.register(reg{AOR: "alice-support", As: alice, Expires: -1})
	wantStatus(t, res, 200)
	checkExpires(t, bindings(t, res), map[string]int{c2: 300})
}

func TestUnknownDomain(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	r := newRaw(t, srv)
	res := r.mustDo(r.message(
		"REGISTER sip:other.example SIP/2.0", "Via: {via}", "Max-Forwards: 70",
		"From: <sip:7001@other.example>;tag={tag}", "To: <sip:7001@other.example>",
		"Call-ID: {callid}", "CSeq: 1 REGISTER", "Contact: <sip:7001@127.0.0.1:{port}>", "Content-Length: 0"))
	if res.StatusCode != 403 {
		t.Errorf("REGISTER for an unserved domain: %d, want 403", res.StatusCode)
	}
	if res.GetHeader("WWW-Authenticate") != nil {
		t.Errorf("403 for an unserved domain carries a challenge")
	}
}

func TestWrongPassword(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	p := newPhone(t, srv, "UDP")
	before := srv.metrics(t)[`switchboard_auth_failures_total{reason="wrong_password"}`]
	res := p.register(reg{AOR: "7001", As: alice, Password: "guess", Contacts: []string{"<" + contact("7001", 5999, "udp") + ">"}, Expires: 300})
	wantStatus(t, res, 401)
	if res.GetHeader("WWW-Authenticate") == nil {
		t.Error("401 after a wrong password has no fresh challenge")
	}
	srv.waitMetric(t, `switchboard_auth_failures_total{reason="wrong_password"}`, before+1, time.Second)
	srv.waitMetric(t, activeSample, 0, time.Second)
}

// challengeShape is a 401 reduced to what must not tell a known user from
// an unknown one: status, header names and the challenge without its nonce.
func challengeShape(res *sip.Response) []string {
	out := []string{fmt.Sprint(res.StatusCode, " ", res.Reason)}
	for _, h := range res.Headers() {
		name := strings.ToLower(h.Name())
		switch name {
		case "www-authenticate":
			var params []string
			for _, p := range strings.Split(strings.TrimPrefix(h.Value(), "Digest "), ",") {
				p = strings.TrimSpace(p)
				if strings.HasPrefix(p, "nonce=") {
					p = "nonce=…"
				}
				params = append(params, p)
			}
			slices.Sort(params)
			out = append(out, name+": "+strings.Join(params, ", "))
		case "via", "from", "to", "call-id", "cseq", "date":
			out = append(out, name) // differ per request by construction
		default:
			out = append(out, name+": "+h.Value())
		}
	}
	return out
}

func TestUnknownUserGetsTheSameAnswer(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	r := newRaw(t, srv)
	first := func(aor string) *sip.Response {
		return r.mustDo(r.message(registerLines(aor, token()+"@e2e", 1, "Contact: <sip:x@127.0.0.1:{port}>")...))
	}
	// The first challenge, before any credentials.
	known, unknown := first("7001"), first("7999")
	if diff := cmp.Diff(challengeShape(known), challengeShape(unknown)); diff != "" {
		t.Errorf("first challenge, known vs unknown user (-known +unknown):\n%s", diff)
	}
	// The answer to credentials: a wrong password for a known user and any
	// password for an unknown one look alike.
	known = authRegister(t, r, "7001", "7001", "wrong", "Contact: <sip:x@127.0.0.1:{port}>")
	unknown = authRegister(t, r, "7999", "7999", "wrong", "Contact: <sip:x@127.0.0.1:{port}>")
	if known.StatusCode != 401 {
		t.Fatalf("known user, wrong password: %d, want 401", known.StatusCode)
	}
	if diff := cmp.Diff(challengeShape(known), challengeShape(unknown)); diff != "" {
		t.Errorf("re-challenge, known vs unknown user (-known +unknown):\n%s", diff)
	}
}

func TestReplayedAuthorization(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	r := newRaw(t, srv)
	callID := token() + "@e2e"
	contactLine := "Contact: <sip:7001@127.0.0.1:{port}>"
	res := r.mustDo(r.message(registerLines("7001", callID, 1, contactLine, "Expires: 300")...))
	wantStatus(t, res, 401)
	authz := authorization(t, res, "REGISTER", "sip:"+domain, "7001", alice.password, 1)
	res = r.mustDo(r.message(registerLines("7001", callID, 2, contactLine, "Expires: 300", "Authorization: "+authz)...))
	wantStatus(t, res, 200)
	// The same credentials (same nonce, same nc, same response) in a new
	// transaction, as an eavesdropper would replay them.
	res = r.mustDo(r.message(registerLines("7001", callID, 3, contactLine, "Expires: 300", "Authorization: "+authz)...))
	if res.StatusCode != 401 {
		t.Fatalf("replayed Authorization: %d, want 401", res.StatusCode)
	}
	srv.waitMetric(t, `switchboard_auth_failures_total{reason="replay"}`, 1, time.Second)
	// The next nonce count on the same nonce is fine.
	authz = authorization(t, res, "REGISTER", "sip:"+domain, "7001", alice.password, 1)
	res = r.mustDo(r.message(registerLines("7001", callID, 4, contactLine, "Expires: 300", "Authorization: "+authz)...))
	wantStatus(t, res, 200)
}

func TestMethods(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	r := newRaw(t, srv)
	tests := []struct {
		method string
		want   int
		allow  bool
	}{
		{"OPTIONS", 200, true},
		{"INVITE", inviteStatus, inviteStatus == 501},
		{"FOO", 501, true},
		{"SUBSCRIBE", 489, false}, // no Event header: no package to dispatch to
		{"REFER", 481, false},     // REFER is relayed in dialog only
		{"MESSAGE", 405, true},
		{"BYE", 481, false},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			r.t = t
			res := r.mustDo(r.message(tt.method+" sip:7001@{domain} SIP/2.0", "Via: {via}", "Max-Forwards: 70",
				"From: <sip:7002@{domain}>;tag={tag}", "To: <sip:7001@{domain}>", "Call-ID: {callid}",
				"CSeq: 1 "+tt.method, "Contact: <sip:7002@127.0.0.1:{port}>", "Content-Length: 0"))
			if res.StatusCode != tt.want {
				t.Errorf("%s: %d %s, want %d", tt.method, res.StatusCode, res.Reason, tt.want)
			}
			if tt.allow {
				refused := tt.method
				if tt.want < 300 {
					refused = ""
				}
				checkAllow(t, res, refused)
			}
		})
	}
	r.t = t
}
