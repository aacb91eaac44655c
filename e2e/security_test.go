package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

const securityToken = "security-e2e-token"

// options line: "OPTIONS" from r, answered 200 unless dropped.
func optionsLines() []string {
	return []string{
		"OPTIONS sip:{domain} SIP/2.0",
		"Via: {via}",
		"Max-Forwards: 70",
		"From: <sip:probe@{domain}>;tag={tag}",
		"To: <sip:{domain}>",
		"Call-ID: {callid}",
		"CSeq: 1 OPTIONS",
		"Content-Length: 0",
	}
}

// wantSilence sends an OPTIONS from r and fails the test on any answer.
func wantSilence(t *testing.T, r *rawUDP, why string) {
	t.Helper()
	r.send(r.message(optionsLines()...))
	if res := r.recv(1500 * time.Millisecond); res != nil {
		t.Errorf("%s: got %d, want no answer at all", why, res.StatusCode)
	}
}

// wantAnswer sends an OPTIONS from r and fails the test without a 200.
func wantAnswer(t *testing.T, r *rawUDP, why string) {
	t.Helper()
	if res := r.do(r.message(optionsLines()...)); res == nil || res.StatusCode != 200 {
		t.Errorf("%s: OPTIONS got %v, want 200", why, res)
	}
}

// banLines returns the server's "ban" log lines.
func (s *server) banLines() []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s.stderr.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "ban" {
			out = append(out, m)
		}
	}
	return out
}

type banJSON struct {
	Source, User, Reason string
	Until                time.Time
}

func (s *server) bans(t *testing.T, token string) []banJSON {
	t.Helper()
	code, body := s.adminAs(t, token, "GET", "/bans")
	if code != 200 {
		t.Fatalf("GET /bans: %d %s", code, body)
	}
	var out []banJSON
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("GET /bans: %v: %s", err, body)
	}
	return out
}

func (s *server) adminAs(t *testing.T, token, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.HTTP+"/api/v1"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestBruteForceBan: five wrong passwords for alice from 127.0.0.5 ban that
// pair only: then even her right password gets 403 with no challenge, bob
// from the same address (an office NAT) and alice from 127.0.0.1 still
// register, and lifting the ban through the admin API restores her.
func TestBruteForceBan(t *testing.T) {
	t.Parallel()
	srv := start(t, options{AdminToken: securityToken})
	guesser := newRawFrom(t, srv, "127.0.0.5")
	for i := range 5 {
		res := authRegister(t, guesser, "7001", "7001", fmt.Sprintf("guess%d", i))
		wantStatus(t, res, 401)
	}
	res := authRegister(t, guesser, "7001", "7001", alice.password)
	wantStatus(t, res, 403)
	if res.GetHeader("WWW-Authenticate") != nil {
		t.Error("the 403 to a banned pair carries a challenge")
	}
	wantStatus(t, authRegister(t, guesser, "7002", "7002", bob.password), 200)
	wantStatus(t, authRegister(t, newRaw(t, srv), "7001", "7001", alice.password), 200)

	bans := srv.bans(t, securityToken)
	if len(bans) != 1 || bans[0].Source != "127.0.0.5" || bans[0].User != "7001" || bans[0].Reason != "auth_failures" ||
		bans[0].Until.Before(time.Now().Add(14*time.Minute)) {
		t.Errorf("GET /bans = %+v, want the 7001 ban from 127.0.0.5 for 15m", bans)
	}
	if lines := srv.banLines(); len(lines) != 1 || lines[0]["source"] != "127.0.0.5" || lines[0]["user"] != "7001" ||
		lines[0]["reason"] != "auth_failures" || lines[0]["until"] == "" {
		t.Errorf("ban log lines = %v, want one for 7001 from 127.0.0.5", lines)
	}
	m := srv.metrics(t)
	if m[`switchboard_security_bans_total{reason="auth_failures"}`] != 1 || m["switchboard_security_bans_active"] != 1 {
		t.Errorf("bans_total{auth_failures} = %v, bans_active = %v; want 1 and 1",
			m[`switchboard_security_bans_total{reason="auth_failures"}`], m["switchboard_security_bans_active"])
	}

	if code, body := srv.adminAs(t, securityToken, "DELETE", "/bans/127.0.0.5"); code != 204 {
		t.Fatalf("DELETE /bans/127.0.0.5: %d %s", code, body)
	}
	wantStatus(t, authRegister(t, guesser, "7001", "7001", alice.password), 200)
	if code, _ := srv.adminAs(t, securityToken, "DELETE", "/bans/127.0.0.5"); code != 404 {
		t.Errorf("second DELETE: %d, want 404", code)
	}
	if code, _ := srv.adminAs(t, securityToken, "DELETE", "/bans/not-an-ip"); code != 400 {
		t.Errorf("DELETE /bans/not-an-ip: %d, want 400", code)
	}
}

// scan sends failing REGISTERs for ten distinct usernames, known and
// unknown, from r.
func scan(t *testing.T, r *rawUDP) {
	t.Helper()
	for _, u := range []string{"7001", "7002", "7003", "100", "101", "admin", "1000", "alice", "200", "test"} {
		if res := authRegister(t, r, u, u, "123456"); res.StatusCode != 401 {
			t.Fatalf("failing REGISTER for %s: %d, want 401", u, res.StatusCode)
		}
	}
}

// TestScanBan: ten distinct failing usernames from 127.0.0.6 silence that
// address entirely; others keep being answered; the CLI lists the ban and
// lifts it.
func TestScanBan(t *testing.T) {
	t.Parallel()
	srv := start(t, options{AdminToken: securityToken})
	scanner := newRawFrom(t, srv, "127.0.0.6")
	scan(t, scanner)
	wantSilence(t, scanner, "OPTIONS from a scanning address")
	if res := authRegister2(scanner, alice); res != nil {
		t.Errorf("REGISTER from a scanning address: %d, want no answer", res.StatusCode)
	}
	wantAnswer(t, newRaw(t, srv), "OPTIONS from 127.0.0.1")

	srv.wantMetrics(t, map[string]float64{
		`switchboard_security_bans_total{reason="scan"}`:      1,
		"switchboard_security_bans_active":                    1,
		`switchboard_security_dropped_total{reason="banned"}`: 2,
	}, 5*time.Second)
	if lines := srv.banLines(); len(lines) != 1 || lines[0]["source"] != "127.0.0.6" || lines[0]["user"] != "" || lines[0]["reason"] != "scan" {
		t.Errorf("ban log lines = %v, want one scan ban of 127.0.0.6", lines)
	}

	env := []string{"SWITCHBOARD_SERVER=http://" + srv.HTTP, "SWITCHBOARD_TOKEN=" + securityToken}
	out := runCLI(t, env, "bans", "list")
	if !strings.Contains(out, "127.0.0.6") || !strings.Contains(out, "scan") {
		t.Errorf("switchboard bans list:\n%s\nwant the scan ban of 127.0.0.6", out)
	}
	runCLI(t, env, "bans", "delete", "127.0.0.6")
	wantAnswer(t, scanner, "OPTIONS after switchboard bans delete")
}

// authRegister2 is a REGISTER with credentials that returns nil on silence
// instead of failing.
func authRegister2(r *rawUDP, u user) *sip.Response {
	b := r.message(registerLines(u.ext, token()+"@e2e", 1)...)
	r.send(b)
	return r.recv(1500 * time.Millisecond)
}

// TestScannerUserAgent: a sipvicious OPTIONS gets no answer and is counted.
func TestScannerUserAgent(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	r := newRaw(t, srv)
	r.send(r.message(append(optionsLines()[:7], "User-Agent: friendly-scanner", "Content-Length: 0")...))
	if res := r.recv(1500 * time.Millisecond); res != nil {
		t.Errorf("OPTIONS from friendly-scanner: %d, want no answer", res.StatusCode)
	}
	srv.waitMetric(t, `switchboard_security_dropped_total{reason="scanner"}`, 1, 5*time.Second)
	wantAnswer(t, r, "OPTIONS without a scanner User-Agent from the same address")
}

// TestClusterBanHoldsOnB: a scan ban decided on instance A silences the
// address on B (same Redis); lifting it on B restores it on A.
func TestClusterBanHoldsOnB(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	a := start(t, options{Redis: r.URL(), AdminToken: securityToken})
	b := start(t, options{Redis: r.URL(), AdminToken: securityToken})
	scan(t, newRawFrom(t, a, "127.0.0.6"))
	onB := newRawFrom(t, b, "127.0.0.6")
	if !poll(10*time.Second, func() bool { return len(b.bans(t, securityToken)) == 1 }) {
		t.Fatalf("B's bans = %+v, want A's scan ban", b.bans(t, securityToken))
	}
	wantSilence(t, onB, "OPTIONS to B from the address A banned")
	if got := b.metrics(t)[`switchboard_security_bans_total{reason="scan"}`]; got != 0 {
		t.Errorf("B counted %v scan bans of its own, want 0 (A decided it)", got)
	}
	if code, body := b.adminAs(t, securityToken, "DELETE", "/bans/127.0.0.6"); code != 204 {
		t.Fatalf("DELETE on B: %d %s", code, body)
	}
	onA := newRawFrom(t, a, "127.0.0.6")
	if !poll(10*time.Second, func() bool { return len(a.bans(t, securityToken)) == 0 }) {
		t.Fatalf("A's bans after the lift on B = %+v, want none", a.bans(t, securityToken))
	}
	wantAnswer(t, onA, "OPTIONS to A after the lift on B")
}

// TestFloodDropped: 20,000 INVITEs as fast as one socket sends them from
// 127.0.0.7 get that address banned and dropped unanswered, while a phone on
// 127.0.0.1 keeps getting answers; goroutines and heap stay flat.
func TestFloodDropped(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	before := srv.metrics(t)
	flooder := newRawFrom(t, srv, "127.0.0.7")
	msgs := make([][]byte, 20000)
	for i := range msgs {
		msgs[i] = flooder.message(inviteLines()...)
	}
	var answered int
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for _, m := range msgs {
			flooder.conn.WriteToUDP(m, flooder.server)
		}
	}()
	go func() { // count what the flooder gets back
		defer wg.Done()
		buf := make([]byte, 65535)
		for {
			flooder.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, _, err := flooder.conn.ReadFromUDP(buf); err != nil {
				return
			}
			answered++
		}
	}()
	phone := newRaw(t, srv)
	var rtts []time.Duration
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		// Like a phone, retransmit every 500 ms (T1): the flood may fill
		// the socket's receive buffer before the guard drops it.
		t0 := time.Now()
		b := phone.message(optionsLines()...)
		callID := string(callIDLine.FindSubmatch(b)[1])
		var res *sip.Response
		for try := 0; try < 4 && res == nil; try++ {
			phone.send(b)
			res = phone.recvFor(callID, 500*time.Millisecond)
		}
		if res == nil || res.StatusCode != 200 {
			t.Fatalf("OPTIONS from 127.0.0.1 during the flood, sent 4 times: %v, want 200", res)
		}
		rtts = append(rtts, time.Since(t0))
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()
	slices.Sort(rtts)
	t.Logf("during the flood: %d OPTIONS from another address, p50 %v, p99 %v; the flooder got %d answers",
		len(rtts), rtts[len(rtts)/2], rtts[len(rtts)*99/100], answered)
	// Within its burst (400) and refill each INVITE gets a 100 and a 407.
	if answered > 2500 {
		t.Errorf("the flooder got %d answers to 20,000 INVITEs, want only those within its burst", answered)
	}
	after := srv.metrics(t)
	dropped := after[`switchboard_security_dropped_total{reason="banned"}`] + after[`switchboard_security_dropped_total{reason="flood"}`]
	if after[`switchboard_security_bans_total{reason="flood"}`] != 1 || dropped < 5000 {
		t.Errorf("bans_total{flood} = %v, dropped = %v; want 1 and most of 20,000", after[`switchboard_security_bans_total{reason="flood"}`], dropped)
	}
	// Flat: no goroutine or heap per dropped INVITE.
	var g, heap float64
	poll(10*time.Second, func() bool {
		m := srv.metrics(t)
		g, heap = m["go_goroutines"], m["go_memstats_heap_inuse_bytes"]
		return g <= before["go_goroutines"]+20
	})
	if g > before["go_goroutines"]+20 {
		t.Errorf("goroutines %v after the flood, %v before: want flat", g, before["go_goroutines"])
	}
	if heap > before["go_memstats_heap_inuse_bytes"]+64<<20 {
		t.Errorf("heap in use %v after the flood, %v before: want flat", heap, before["go_memstats_heap_inuse_bytes"])
	}
	if bans := srv.banLines(); len(bans) != 1 || bans[0]["reason"] != "flood" || bans[0]["source"] != "127.0.0.7" {
		t.Errorf("ban log lines = %v, want one flood ban of 127.0.0.7", bans)
	}
}

func runCLI(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("switchboard %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
