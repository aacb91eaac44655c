package e2e

import (
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// activeSample is the registrations_active sample of the test tenant.
const activeSample = `switchboard_registrations_active{tenant="acme.example"}`

// checkExpires fails unless every binding's expires is in (want-5, want].
func checkExpires(t *testing.T, got map[string]int, want map[string]int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("bindings = %v, want %v", got, want)
	}
	for c, w := range want {
		g, ok := got[c]
		if !ok || g > w || g <= w-5 {
			t.Errorf("binding %s expires = %d (present %v), want about %d; all: %v", c, g, ok, w, got)
		}
	}
}

func TestRegister(t *testing.T) {
	for _, transport := range []string{"UDP", "TCP"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			srv := start(t, options{})
			p := newPhone(t, srv, transport)
			c := contact("7001", 5999, transport)
			res := p.register(reg{AOR: "7001", As: alice, Contacts: []string{"<" + c + ">"}, Expires: 300})
			wantStatus(t, res, 200)
			checkExpires(t, bindings(t, res), map[string]int{c: 300})
			srv.waitMetric(t, activeSample, 1, 2*time.Second)
		})
	}
}

func TestRegisterByUserID(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	p := newPhone(t, srv, "UDP")
	c := contact("alice", 5999, "udp")
	// The digest username may be the user id as well as an extension, and the
	// AOR "alice" is the same user as "7001".
	res := p.register(reg{AOR: "alice", As: alice, Username: "alice", Contacts: []string{"<" + c + ">"}, Expires: 300})
	wantStatus(t, res, 200)
	res = p.register(reg{AOR: "7001", As: alice, Expires: -1})
	wantStatus(t, res, 200)
	checkExpires(t, bindings(t, res), map[string]int{c: 300})
}

func TestRegisterRefresh(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	p := newPhone(t, srv, "UDP")
	c := contact("7001", 5999, "udp")
	wantStatus(t, p.register(reg{AOR: "7001", As: alice, Contacts: []string{"<" + c + ">"}, Expires: 120}), 200)
	res := p.register(reg{AOR: "7001", As: alice, Contacts: []string{"<" + c + ">"}, Expires: 900})
	wantStatus(t, res, 200)
	checkExpires(t, bindings(t, res), map[string]int{c: 900})
	srv.waitMetric(t, activeSample, 1, 2*time.Second)
}

func TestUnregister(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	p := newPhone(t, srv, "TCP")
	c := contact("7001", 5999, "tcp")
	wantStatus(t, p.register(reg{AOR: "7001", As: alice, Contacts: []string{"<" + c + ">"}, Expires: 300}), 200)
	srv.waitMetric(t, activeSample, 1, 2*time.Second)
	res := p.register(reg{AOR: "7001", As: alice, Contacts: []string{"<" + c + ">"}, Expires: 0})
	wantStatus(t, res, 200)
	if got := bindings(t, res); len(got) != 0 {
		t.Errorf("bindings after unregister = %v, want none", got)
	}
	srv.waitMetric(t, activeSample, 0, 2*time.Second)
}

func TestRegistrationExpires(t *testing.T) {
	t.Parallel()
	srv := start(t, options{MinExpires: "1s"})
	p := newPhone(t, srv, "UDP")
	c := contact("7001", 5999, "udp")
	res := p.register(reg{AOR: "7001", As: alice, Contacts: []string{"<" + c + ">"}, Expires: 2})
	wantStatus(t, res, 200)
	checkExpires(t, bindings(t, res), map[string]int{c: 2})
	srv.waitMetric(t, activeSample, 1, time.Second)

	// The binding lapses after 2 s; poll with Contact-less REGISTERs.
	deadline := time.Now().Add(6 * time.Second)
	for {
		res = p.register(reg{AOR: "7001", As: alice, Expires: -1})
		wantStatus(t, res, 200)
		got := bindings(t, res)
		if len(got) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("binding still listed 6 s after a 2 s registration: %v", got)
		}
		time.Sleep(250 * time.Millisecond)
	}
	// The sweeper runs every second; the gauge must follow without any request.
	srv.waitMetric(t, activeSample, 0, 3*time.Second)
}

func TestTwoDevicesOneAOR(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	desk := newPhone(t, srv, "UDP")
	soft := newPhone(t, srv, "TCP")
	c1, c2 := contact("7001", 5998, "udp"), contact("7001", 5999, "tcp")
	wantStatus(t, desk.register(reg{AOR: "7001", As: alice, Contacts: []string{"<" + c1 + ">"}, Expires: 300}), 200)
	res := soft.register(reg{AOR: "7001", As: alice, Contacts: []string{"<" + c2 + ">"}, Expires: 600})
	wantStatus(t, res, 200)
	checkExpires(t, bindings(t, res), map[string]int{c1: 300, c2: 600})
	srv.waitMetric(t, activeSample, 2, 2*time.Second)
}

func TestUserAndAliasFromOnePhone(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	p := newPhone(t, srv, "UDP")
	line1, line2 := contact("7001", 5999, "udp"), contact("alice-support", 5999, "udp")
	res := p.register(reg{AOR: "7001", As: alice, Contacts: []string{"<" + line1 + ">"}, Expires: 300})
	wantStatus(t, res, 200)
	checkExpires(t, bindings(t, res), map[string]int{line1: 300})
	// The alias authenticates with its owner's credentials and is its own AOR.
	res = p.register(reg{AOR: "alice-support", As: alice, Contacts: []string{"<" + line2 + ">"}, Expires: 300})
	wantStatus(t, res, 200)
	checkExpires(t, bindings(t, res), map[string]int{line2: 300})

	res = p.register(reg{AOR: "7001", As: alice, Expires: -1})
	wantStatus(t, res, 200)
	checkExpires(t, bindings(t, res), map[string]int{line1: 300})
	srv.waitMetric(t, activeSample, 2, 2*time.Second)
}

func TestContactStarRemovesAll(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	p := newPhone(t, srv, "UDP")
	other := newPhone(t, srv, "TCP")
	c1, c2 := contact("7002", 5998, "udp"), contact("7002", 5999, "tcp")
	wantStatus(t, p.register(reg{AOR: "7002", As: bob, Contacts: []string{"<" + c1 + ">"}, Expires: 300}), 200)
	wantStatus(t, other.register(reg{AOR: "7002", As: bob, Contacts: []string{"<" + c2 + ">"}, Expires: 300}), 200)
	srv.waitMetric(t, activeSample, 2, 2*time.Second)

	res := p.register(reg{AOR: "7002", As: bob, Contacts: []string{"*"}, Expires: 0})
	wantStatus(t, res, 200)
	if got := bindings(t, res); len(got) != 0 {
		t.Errorf("bindings after Contact: * = %v, want none", got)
	}
	res = other.register(reg{AOR: "7002", As: bob, Expires: -1})
	wantStatus(t, res, 200)
	if got := bindings(t, res); len(got) != 0 {
		t.Errorf("bindings queried after Contact: * = %v, want none", got)
	}
	srv.waitMetric(t, activeSample, 0, 2*time.Second)
}

func TestQueryWithoutContact(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	p := newPhone(t, srv, "UDP")
	res := p.register(reg{AOR: "7003", As: carol, Expires: -1})
	wantStatus(t, res, 200)
	if got := bindings(t, res); len(got) != 0 {
		t.Errorf("bindings of an AOR never registered = %v, want none", got)
	}
	c1, c2 := contact("7003", 5998, "udp"), contact("7003", 5999, "udp")
	// Two contacts in one REGISTER, each with its own expires parameter.
	wantStatus(t, p.register(reg{AOR: "7003", As: carol, Expires: 300,
		Contacts: []string{"<" + c1 + ">;expires=120", "<" + c2 + ">"}}), 200)
	res = p.register(reg{AOR: "7003", As: carol, Expires: -1})
	wantStatus(t, res, 200)
	checkExpires(t, bindings(t, res), map[string]int{c1: 120, c2: 300})
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	p := newPhone(t, srv, "UDP")
	c := contact("7001", 5999, "udp")
	wantStatus(t, p.register(reg{AOR: "7001", As: alice, Contacts: []string{"<" + c + ">"}, Expires: 300}), 200)
	wantStatus(t, p.register(reg{AOR: "7002", As: bob, Password: "not-bobs", Contacts: []string{"<" + c + ">"}, Expires: 300}), 401)

	got := srv.metrics(t)
	want := map[string]float64{
		activeSample: 1,
		`switchboard_sip_requests_total{method="REGISTER"}`:             4,
		`switchboard_sip_responses_total{code="200",method="REGISTER"}`: 1,
		`switchboard_sip_responses_total{code="401",method="REGISTER"}`: 3,
		`switchboard_auth_failures_total{reason="wrong_password"}`:      1,
	}
	gotSome := map[string]float64{}
	for k := range want {
		gotSome[k] = got[k]
	}
	if diff := cmp.Diff(want, gotSome); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	p := newPhone(t, srv, "TCP")
	c := contact("7001", 5999, "tcp")
	wantStatus(t, p.register(reg{AOR: "7001", As: alice, Contacts: []string{"<" + c + ">"}, Expires: 300}), 200)
	if code := srv.stop(t, 15*time.Second); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0", code)
	}
}

func TestShutdownOnSIGINT(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	if err := srv.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-srv.done:
	case <-time.After(15 * time.Second):
		t.Fatal("no exit within 15 s of SIGINT")
	}
	if code := srv.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code after SIGINT = %d, want 0", code)
	}
}

var _ = strconv.Itoa
