package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/resolve/dnstest"
)

// trunkUser is the one user of every tenant of the trunk tests; calls to
// the PSTN need no registration, only the digest answer.
var trunkUser = user{"u1", "7001", "pw7001"}

// trunkTenant is a tenant whose user calls out, with main number
// +1415555010n; trunks lists its own.
func trunkTenant(domain string, n int, trunks ...string) string {
	s := fmt.Sprintf("  - domain: %s\n    main_number: \"+1415555%04d\"\n", domain, 100+n)
	if len(trunks) > 0 {
		s += "    trunks: [" + strings.Join(trunks, ", ") + "]\n"
	}
	return s + "    users:\n      - {id: u1, extensions: [\"7001\"], password: pw7001}\n"
}

// dialOut places a call from the tenant's user to a PSTN number and waits
// for its final response.
func dialOut(t *testing.T, caller *peer, domain, number string) (*outCall, *sip.Response) {
	t.Helper()
	c := caller.call(number, callOpts{As: &trunkUser, Domain: domain})
	return c, c.wait(15 * time.Second)
}

// finish ACKs and hangs up an answered call, checking the BYE's answer.
func finish(t *testing.T, c *outCall) {
	t.Helper()
	c.ack()
	if res := c.bye(); res.StatusCode != 200 {
		t.Errorf("BYE: %d %s", res.StatusCode, res.Reason)
	}
}

func attempts(trunk, result string) string {
	return fmt.Sprintf(`switchboard_trunk_attempts_total{result=%q,trunk=%q}`, result, trunk)
}

// TestTrunkHunt runs the hunt through carriers on 127.0.0.2 and 127.0.0.4,
// one tenant per scenario (each names its own trunks, so per-tenant
// selection is what picks the scenario), against one server.
func TestTrunkHunt(t *testing.T) {
	t.Parallel()
	c503 := newCarrier(t, "c503", "127.0.0.2", "UDP", carrierBehaviour{Code: 503, RetryAfter: "1"})
	good := newCarrier(t, "good", "127.0.0.4", "UDP", carrierBehaviour{})
	busy := newCarrier(t, "busy", "127.0.0.2", "UDP", carrierBehaviour{Code: 486})
	pstn := newCarrier(t, "pstn", "127.0.0.4", "UDP", carrierBehaviour{})
	capped := newCarrier(t, "capped", "127.0.0.4", "UDP", carrierBehaviour{})
	srvGood := newCarrier(t, "srv-good", "127.0.0.4", "UDP", carrierBehaviour{})
	tcp := newCarrier(t, "tcp", "127.0.0.4", "TCP", carrierBehaviour{})
	silent := newSilentCarrier(t, "127.0.0.2")
	dead := newSilentCarrier(t, "127.0.0.2")
	srvDown := newSilentCarrier(t, "127.0.0.2")

	dns, err := dnstest.Start(
		"_sip._udp.carrier.test. 60 IN SRV 10 50 "+portStr(srvDown.addr)+" down.carrier.test.",
		"_sip._udp.carrier.test. 60 IN SRV 20 50 "+srvGood.port()+" up.carrier.test.",
		"down.carrier.test. 60 IN A 127.0.0.2",
		"up.carrier.test. 60 IN A 127.0.0.4",
		`naptr.test. 60 IN NAPTR 10 10 "s" "SIP+D2U" "" _sip._udp.nowhere.test.`,
		`naptr.test. 5 IN NAPTR 5 10 "s" "SIP+D2T" "" _sip._tcp.naptr.test.`,
		"_sip._tcp.naptr.test. 60 IN SRV 10 0 "+tcp.port()+" tcp.naptr.test.",
		"tcp.naptr.test. 60 IN A 127.0.0.4",
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dns.Close)

	extra := fmt.Sprintf(`dns: {servers: [%q], timeout: 1s}
trunks:
  - {name: pstn, address: %q}
  - {name: t503, address: %q, private: true}
  - {name: good, address: %q, private: true, number_format: national}
  - {name: silent, address: %q, private: true, fail_after: 300ms}
  - {name: busy, address: %q, private: true}
  - {name: dead, address: %q, private: true, probe: 200ms}
  - {name: capped, address: %q, private: true, max_calls: 1}
  - {name: srv, address: carrier.test, transport: udp, private: true, fail_after: 300ms}
  - {name: naptr, address: naptr.test, private: true}
`, dns.Addr(), pstn.addr, c503.addr, good.addr, silent.addr, busy.addr, dead.addr, capped.addr)
	dir := "tenants:\n" + trunkTenant("acme.example", 0) +
		trunkTenant("failover.example", 1, "t503", "good") +
		trunkTenant("silent.example", 2, "silent") +
		trunkTenant("busy.example", 3, "busy", "good") +
		trunkTenant("dead.example", 4, "dead", "good") +
		trunkTenant("capped.example", 5, "capped") +
		trunkTenant("dns.example", 6, "srv") +
		trunkTenant("tcp.example", 7, "naptr")
	srv := start(t, options{Directory: dir, Extra: extra, AdminToken: "trunk-token"})
	caller := newPeer(t, srv, "caller", "127.0.0.1", "UDP")

	t.Run("shared default trunk, E.164", func(t *testing.T) {
		c, res := dialOut(t, caller, "acme.example", "4085551234")
		wantStatus(t, res, 200)
		inv := pstn.last("invite")
		if inv == nil || inv.Recipient.User != "+14085551234" {
			t.Errorf("pstn got Request-URI %v, want user +14085551234", inv)
		}
		finish(t, c)
		if cdr := srv.waitCDR(t, c.callID(), 5*time.Second); cdr["trunk"] != "pstn" || cdr["trunk_hunt"] != "pstn:200" {
			t.Errorf("CDR trunk=%v trunk_hunt=%v, want pstn, pstn:200", cdr["trunk"], cdr["trunk_hunt"])
		}
	})

	t.Run("503 goes to the next trunk, in national format there", func(t *testing.T) {
		c, res := dialOut(t, caller, "failover.example", "+14085551234")
		wantStatus(t, res, 200)
		if n := c503.count("invite"); n != 1 {
			t.Errorf("t503 got %d INVITEs, want 1", n)
		}
		inv := good.last("invite")
		if inv == nil || inv.Recipient.User != "4085551234" {
			t.Fatalf("good got Request-URI %v, want user 4085551234 (national)", inv)
		}
		if from := inv.From().Address.User; from != "4155550101" {
			t.Errorf("good got From user %s, want the main number in national format 4155550101", from)
		}
		finish(t, c)
		cdr := srv.waitCDR(t, c.callID(), 5*time.Second)
		if cdr["trunk"] != "good" || cdr["trunk_hunt"] != "t503:503,good:200" {
			t.Errorf("CDR trunk=%v trunk_hunt=%v, want good, t503:503,good:200", cdr["trunk"], cdr["trunk_hunt"])
		}
		// Retry-After: 1 took t503 out for a second: the next call skips it.
		c2, res := dialOut(t, caller, "failover.example", "+14085551234")
		wantStatus(t, res, 200)
		finish(t, c2)
		if cdr := srv.waitCDR(t, c2.callID(), 5*time.Second); cdr["trunk_hunt"] != "t503:skipped_retry_after,good:200" && cdr["trunk_hunt"] != "t503:503,good:200" {
			t.Errorf("second call trunk_hunt=%v", cdr["trunk_hunt"])
		}
	})

	t.Run("silent trunk: failover after fail_after to the shared default", func(t *testing.T) {
		before := pstn.count("invite")
		c, res := dialOut(t, caller, "silent.example", "+14085551234")
		wantStatus(t, res, 200)
		if silent.count("INVITE") == 0 {
			t.Errorf("the silent trunk got no INVITE")
		}
		if pstn.count("invite") != before+1 {
			t.Errorf("pstn got %d new INVITEs, want 1", pstn.count("invite")-before)
		}
		finish(t, c)
		if cdr := srv.waitCDR(t, c.callID(), 5*time.Second); cdr["trunk_hunt"] != "silent:no_provisional,pstn:200" {
			t.Errorf("CDR trunk_hunt=%v, want silent:no_provisional,pstn:200", cdr["trunk_hunt"])
		}
	})

	t.Run("486 from the far end is not hunted", func(t *testing.T) {
		before := good.count("invite")
		_, res := dialOut(t, caller, "busy.example", "+14085551234")
		wantStatus(t, res, 486)
		if n := good.count("invite") - before; n != 0 {
			t.Errorf("the next trunk got %d INVITEs after a 486, want 0", n)
		}
	})

	t.Run("trunk failing probes is skipped without a try", func(t *testing.T) {
		srv.waitMetric(t, `switchboard_trunk_up{trunk="dead"}`, 0, 10*time.Second)
		c, res := dialOut(t, caller, "dead.example", "+14085551234")
		wantStatus(t, res, 200)
		if n := dead.count("INVITE"); n != 0 {
			t.Errorf("the down trunk got %d INVITEs, want 0", n)
		}
		if n := dead.count("OPTIONS"); n < 3 {
			t.Errorf("the down trunk got %d OPTIONS, want at least 3", n)
		}
		finish(t, c)
		if cdr := srv.waitCDR(t, c.callID(), 5*time.Second); cdr["trunk_hunt"] != "dead:skipped_down,good:200" {
			t.Errorf("CDR trunk_hunt=%v, want dead:skipped_down,good:200", cdr["trunk_hunt"])
		}
	})

	t.Run("max_calls", func(t *testing.T) {
		first, res := dialOut(t, caller, "capped.example", "+14085551234")
		wantStatus(t, res, 200)
		first.ack()
		srv.waitMetric(t, `switchboard_trunk_calls_active{trunk="capped"}`, 1, 5*time.Second)
		second, res := dialOut(t, caller, "capped.example", "+14085551234")
		wantStatus(t, res, 200)
		finish(t, second)
		if cdr := srv.waitCDR(t, second.callID(), 5*time.Second); cdr["trunk_hunt"] != "capped:skipped_max_calls,pstn:200" {
			t.Errorf("second call trunk_hunt=%v, want capped:skipped_max_calls,pstn:200", cdr["trunk_hunt"])
		}
		if res := first.bye(); res.StatusCode != 200 {
			t.Errorf("BYE: %d", res.StatusCode)
		}
		srv.waitMetric(t, `switchboard_trunk_calls_active{trunk="capped"}`, 0, 5*time.Second)
		third, res := dialOut(t, caller, "capped.example", "+14085551234")
		wantStatus(t, res, 200)
		finish(t, third)
		if n := capped.count("invite"); n != 2 {
			t.Errorf("capped got %d INVITEs, want 2 (first and third call)", n)
		}
	})

	t.Run("SRV: the first priority is down, the second answers", func(t *testing.T) {
		c, res := dialOut(t, caller, "dns.example", "+14085551234")
		wantStatus(t, res, 200)
		if srvDown.count("INVITE") == 0 {
			t.Errorf("the priority-10 target got no INVITE")
		}
		if srvGood.count("invite") != 1 {
			t.Errorf("the priority-20 target got %d INVITEs, want 1", srvGood.count("invite"))
		}
		finish(t, c)
		if cdr := srv.waitCDR(t, c.callID(), 5*time.Second); cdr["trunk_hunt"] != "srv:no_provisional,srv:200" {
			t.Errorf("CDR trunk_hunt=%v, want srv:no_provisional,srv:200", cdr["trunk_hunt"])
		}
	})

	t.Run("NAPTR chooses TCP", func(t *testing.T) {
		c, res := dialOut(t, caller, "tcp.example", "+14085551234")
		wantStatus(t, res, 200)
		inv := tcp.last("invite")
		if inv == nil || !strings.EqualFold(inv.Via().Transport, "TCP") {
			t.Fatalf("TCP carrier got %v, want an INVITE over TCP", inv)
		}
		finish(t, c)
		if tcp.count("bye") != 1 {
			t.Errorf("TCP carrier got %d BYEs, want 1", tcp.count("bye"))
		}
	})

	srv.wantMetrics(t, map[string]float64{
		attempts("t503", "unavailable"):         1,
		attempts("good", "answered"):            3,
		attempts("busy", "busy"):                1,
		attempts("silent", "no_provisional"):    1,
		attempts("dead", "skipped_down"):        1,
		attempts("capped", "skipped_max_calls"): 1,
		`switchboard_trunk_up{trunk="pstn"}`:    1,
		callsActive:                             0,
	}, 5*time.Second)

	var body struct {
		Trunks []struct {
			Name   string `json:"name"`
			Up     bool   `json:"up"`
			Reason string `json:"reason"`
		} `json:"trunks"`
	}
	getJSON(t, srv, "/api/v1/trunks", "trunk-token", &body)
	if len(body.Trunks) != 9 || body.Trunks[0].Name != "pstn" || !body.Trunks[0].Up {
		t.Errorf("GET /api/v1/trunks = %+v, want 9 trunks, pstn first and up", body.Trunks)
	}
	for _, tr := range body.Trunks {
		if tr.Name == "dead" && (tr.Up || tr.Reason != "down") {
			t.Errorf("GET /api/v1/trunks: dead = %+v, want up false, reason down", tr)
		}
	}
}

// TestTrunkDigestAuth: a carrier that challenges every INVITE and BYE with
// 407 gets the trunk's credentials (and the CSeq it expects in dialog); a
// wrong trunk password ends the call 403 after one retry.
func TestTrunkDigestAuth(t *testing.T) {
	t.Parallel()
	auth := newCarrier(t, "auth", "127.0.0.2", "UDP", carrierBehaviour{User: "acme-trunk", Password: "right", ChallengeBye: true})
	wrong := newCarrier(t, "wrong", "127.0.0.4", "UDP", carrierBehaviour{User: "acme-trunk", Password: "right"})
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "right.secret"), "right\n")
	writeFile(t, filepath.Join(dir, "wrong.secret"), "wrong\n")
	extra := fmt.Sprintf(`trunks:
  - {name: auth, address: %q, username: acme-trunk, password_file: %q, number_format: e164_no_plus, private: true}
  - {name: wrongpw, address: %q, username: acme-trunk, password_file: %q, private: true}
`, auth.addr, filepath.Join(dir, "right.secret"), wrong.addr, filepath.Join(dir, "wrong.secret"))
	srv := start(t, options{Directory: "tenants:\n" + trunkTenant("acme.example", 0, "auth") + trunkTenant("wrong.example", 1, "wrongpw"), Extra: extra})
	caller := newPeer(t, srv, "caller", "127.0.0.1", "UDP")

	c, res := dialOut(t, caller, "acme.example", "+14085551234")
	wantStatus(t, res, 200)
	c.mu.Lock()
	own := c.invite.CSeq().SeqNo // the caller answered our own 407 first
	c.mu.Unlock()
	if res.CSeq().SeqNo != own {
		t.Errorf("caller's 200 has CSeq %d, want its own %d", res.CSeq().SeqNo, own)
	}
	if n, a := auth.count("invite"), auth.count("authed"); n != 2 || a != 1 {
		t.Fatalf("carrier got %d INVITEs, %d authenticated; want 2 and 1", n, a)
	}
	inv := auth.last("authed")
	if inv.CSeq().SeqNo != own+1 || inv.Recipient.User != "14085551234" {
		t.Errorf("authenticated INVITE: CSeq %d, Request-URI %s; want %d and 14085551234 (e164_no_plus)", inv.CSeq().SeqNo, inv.Recipient.String(), own+1)
	}
	if h := header(inv, "Proxy-Authorization"); !strings.Contains(h, `username="acme-trunk"`) || strings.Contains(h, "7001") {
		t.Errorf("Proxy-Authorization = %q, want the trunk's username and no subscriber's", h)
	}
	c.ack()
	waitUntil(t, 3*time.Second, "ACK at the carrier", func() bool { return auth.count("ack") > 0 })
	if ack := auth.last("ack"); ack.CSeq().SeqNo != own+1 || header(ack, "Proxy-Authorization") == "" {
		t.Errorf("ACK at the carrier: CSeq %d, Proxy-Authorization %q; want %d with credentials", ack.CSeq().SeqNo, header(ack, "Proxy-Authorization"), own+1)
	}
	bye := c.bye() // CSeq own+1
	if bye.StatusCode != 200 || bye.CSeq().SeqNo != own+1 {
		t.Errorf("BYE answered %d with CSeq %d, want 200 with the caller's CSeq %d", bye.StatusCode, bye.CSeq().SeqNo, own+1)
	}
	if n := auth.count("bye"); n != 2 {
		t.Errorf("carrier got %d BYEs, want 2 (challenged, then with credentials)", n)
	} else if b := auth.last("bye"); b.CSeq().SeqNo != own+3 || header(b, "Proxy-Authorization") == "" {
		// caller's BYE own+1, plus one for the INVITE's challenge, plus one
		// for the BYE's own challenge
		t.Errorf("second BYE: CSeq %d, want %d with credentials", b.CSeq().SeqNo, own+3)
	}
	if n := auth.count("bad_auth"); n != 0 {
		t.Errorf("carrier saw %d wrong digests", n)
	}

	_, res = dialOut(t, caller, "wrong.example", "+14085551234")
	wantStatus(t, res, 403)
	time.Sleep(500 * time.Millisecond) // a loop would keep sending
	if n := wrong.count("invite"); n != 2 {
		t.Errorf("carrier got %d INVITEs with a wrong password, want 2 (one retry, no loop)", n)
	}
	srv.wantMetrics(t, map[string]float64{
		attempts("auth", "challenged"):     1,
		attempts("auth", "answered"):       1,
		attempts("wrongpw", "auth_failed"): 1,
		callsActive:                        0,
	}, 5*time.Second)
}

// TestTrunkRegistration: switchboard registers at a challenging carrier,
// refreshes before the expiry, re-registers with back-off after the
// registrar was down, and takes calls the carrier sends to the registered
// Contact (no inbound_from: the registration's flow identifies the trunk;
// the DID is in To).
func TestTrunkRegistration(t *testing.T) {
	t.Parallel()
	reg := newCarrier(t, "registrar", "127.0.0.4", "UDP", carrierBehaviour{User: "acme-trunk", Password: "s3cret"})
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "reg.secret"), "s3cret")
	extra := fmt.Sprintf(`trunks:
  - {name: reg, address: %q, username: acme-trunk, password_file: %q, register: true, register_expires: 3s, did_from: to}
`, reg.addr, filepath.Join(dir, "reg.secret"))
	srv := start(t, options{Extra: extra, AdminToken: "reg-token"})
	phone := newPeer(t, srv, "7001", "127.0.0.1", "UDP")
	phone.register("7001", alice)

	srv.waitMetric(t, `switchboard_trunk_registration_up{trunk="reg"}`, 1, 10*time.Second)
	if c := reg.registeredContact(); !strings.HasPrefix(c, "sip:acme-trunk@127.0.0.1:") {
		t.Errorf("registered Contact %q, want sip:acme-trunk@127.0.0.1:port", c)
	}
	first := reg.count("register")
	waitUntil(t, 10*time.Second, "two refreshes", func() bool { return reg.count("register") >= first+4 })
	if reg.count("bad_auth") != 0 {
		t.Errorf("registrar saw %d wrong digests", reg.count("bad_auth"))
	}

	res := reg.callIn(t, "+14155550101")
	wantStatus(t, res, 200)
	if inv := phone.waitRequest(sip.INVITE, 1, 3*time.Second); inv == nil {
		t.Fatal("alice's phone got no INVITE for the call through the registered trunk")
	}

	// The registrar goes down: the registration lapses, retries back off,
	// and it comes back once the registrar answers again.
	reg.set(func(b *carrierBehaviour) { b.RegDown = true })
	srv.waitMetric(t, `switchboard_trunk_registration_up{trunk="reg"}`, 0, 15*time.Second)
	down := reg.count("register")
	time.Sleep(4 * time.Second)
	if n := reg.count("register") - down; n > 4 {
		t.Errorf("%d REGISTERs in 4 s while the registrar was down, want a back-off (at most 4)", n)
	}
	reg.set(func(b *carrierBehaviour) { b.RegDown = false })
	srv.waitMetric(t, `switchboard_trunk_registration_up{trunk="reg"}`, 1, 15*time.Second)

	var body struct {
		Trunks []struct {
			Name           string `json:"name"`
			Registered     bool   `json:"registered"`
			RegisteredWith string `json:"registered_with"`
		} `json:"trunks"`
	}
	getJSON(t, srv, "/api/v1/trunks", "reg-token", &body)
	if len(body.Trunks) != 1 || !body.Trunks[0].Registered || body.Trunks[0].RegisteredWith != reg.addr {
		t.Errorf("GET /api/v1/trunks = %+v, want reg registered with %s", body.Trunks, reg.addr)
	}
}

func portStr(addr string) string {
	i := strings.LastIndexByte(addr, ':')
	return addr[i+1:]
}

// getJSON GETs an admin API path with the bearer token and decodes it.
func getJSON(t *testing.T, srv *server, path, token string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+srv.HTTP+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", path, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}
