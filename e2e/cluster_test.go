package e2e

import (
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

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/sip/auth"
)

// The cluster tests run two switchboard processes, A and B, on one
// redis-server the test starts (store.redis), with the same directory file:
// a phone registered on one is reached through the other, a nonce from one
// is accepted by the other, the admin API of one changes what the other
// routes, and a Redis outage is ridden out.

const clusterToken = "cluster-admin-token"

// cluster is a Redis and two instances on it.
type cluster struct {
	redis   *redistest.Server
	rdb     *redis.Client // a plain client on the test's Redis, for assertions
	a, b    *server
	carrier *peer // the trunk's far end, 127.0.0.2
}

// startRedis starts the test's redis-server; without one installed the test
// is skipped, or fails under SWITCHBOARD_REQUIRE_PEERS=1 (.ci/run).
func startRedis(t *testing.T) *redistest.Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if requirePeers() {
			t.Fatal("redis-server not installed and SWITCHBOARD_REQUIRE_PEERS=1 (apt-get install -y redis-server)")
		}
		t.Skip("redis-server not installed (apt-get install -y redis-server, or set SWITCHBOARD_REQUIRE_PEERS=1 to fail instead)")
	}
	return redistest.Start(t)
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	r := startRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr(), DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	carrier := newPeer(t, nil, "carrier", "127.0.0.2", "UDP")
	c := &cluster{redis: r, rdb: rdb, carrier: carrier}
	c.a = start(t, c.options(0))
	c.b = start(t, c.options(0))
	carrier.srv = c.a
	return c
}

// options of an instance of the cluster; port 0 picks a free one.
func (c *cluster) options(port int) options {
	return options{Directory: callDirectory, Redis: c.redis.URL(), AdminToken: clusterToken,
		Trunk: c.carrier.addr, Port: port}
}

// restartB stops B with SIGTERM and starts it again on the same ports.
func (c *cluster) restartB(t *testing.T) {
	t.Helper()
	if code := c.b.stop(t, 10*time.Second); code != 0 {
		t.Fatalf("B exited %d on SIGTERM", code)
	}
	c.b = start(t, c.options(portOf(c.b.Addr)))
}

// phoneOn is a peer registered on srv for aor.
func phoneOn(t *testing.T, srv *server, name, transport, aor string, u user) *peer {
	t.Helper()
	p := newPeer(t, srv, name, "127.0.0.1", transport)
	p.register(aor, u)
	return p
}

// via points a peer's next requests at srv.
func (p *peer) via(srv *server) *peer {
	p.srv = srv
	return p
}

// admin sends an admin API request to s and returns the status and body.
func (s *server) admin(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.HTTP+"/api/v1"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+clusterToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// readyz returns /readyz's status and body.
func (s *server) readyz(t *testing.T) (int, string) {
	t.Helper()
	res, err := http.Get("http://" + s.HTTP + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// waitReadyz polls /readyz until it answers 200 with a body starting with prefix.
func (s *server) waitReadyz(t *testing.T, name, prefix string, within time.Duration) {
	t.Helper()
	var code int
	var body string
	if !poll(within, func() bool {
		code, body = s.readyz(t)
		return code == 200 && strings.HasPrefix(body, prefix)
	}) {
		t.Fatalf("%s /readyz = %d %q after %v, want 200 %q…", name, code, body, within, prefix)
	}
}

// callAndHangUp places a call from caller (as u) to dialled through
// caller.srv, requires it to ring and connect on answering (which rings
// 50 ms, so the 180 is not overtaken by the 200), and ends it with a BYE
// from the caller.
func callAndHangUp(t *testing.T, caller *peer, u user, dialled string, answering *peer) {
	t.Helper()
	answering.setAnswer(answer{Ring: true, After: 50 * time.Millisecond, Code: 200})
	invites, byes := invited(answering), len(answering.requests(sip.BYE))
	c := caller.call(dialled, callOpts{As: &u})
	c.waitProvisional(180, 3*time.Second)
	c.waitStatus(200, 5*time.Second)
	if invited(answering) != invites+1 {
		t.Fatalf("%s: %d INVITEs, want %d", answering.name, invited(answering), invites+1)
	}
	acks := len(answering.requests(sip.ACK))
	c.ack()
	answering.waitRequest(sip.ACK, acks+1, 2*time.Second)
	if res := c.bye(); res.StatusCode != 200 {
		t.Fatalf("BYE: %d %s", res.StatusCode, res.Reason)
	}
	answering.waitRequest(sip.BYE, byes+1, 2*time.Second)
}

func TestClusterRegisterOnACallViaB(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	bobPh := phoneOn(t, c.a, "7002", "UDP", "7002", bob)
	alicePh := phoneOn(t, c.b, "7001", "UDP", "7001", alice)
	bobPh.setAnswer(answer{Ring: true, After: 100 * time.Millisecond, Code: 200})

	call := alicePh.call("7002", callOpts{As: &alice})
	call.waitProvisional(180, 3*time.Second)
	res := call.waitStatus(200, 5*time.Second)
	inv := bobPh.waitRequest(sip.INVITE, 1, time.Second)
	// B relayed it: its Record-Route, not A's.
	if rr := header(res, "Record-Route"); !strings.Contains(rr, c.b.Addr) || strings.Contains(rr, c.a.Addr) {
		t.Errorf("Record-Route %q, want B (%s) only", rr, c.b.Addr)
	}
	if inv.From().Address.User != "7001" {
		t.Errorf("callee sees From %q", inv.From().Value())
	}
	call.ack()
	bobPh.waitRequest(sip.ACK, 1, 2*time.Second)
	c.b.waitMetric(t, callsActive, 1, 2*time.Second)
	if res := call.bye(); res.StatusCode != 200 {
		t.Fatalf("BYE: %d %s", res.StatusCode, res.Reason)
	}
	bobPh.waitRequest(sip.BYE, 1, 2*time.Second)
	c.b.waitMetric(t, callsActive, 0, 2*time.Second)

	// And the other way: the callee on B, the call through A (where the
	// caller registered), BYE from the callee.
	alicePh.setAnswer(answer{Ring: true, Code: 200})
	back := connect(t, bobPh, bob, "7001", alicePh)
	if res := alicePh.byeFromCallee(back.callID()); res.StatusCode != 200 {
		t.Fatalf("BYE from callee: %d %s", res.StatusCode, res.Reason)
	}
	bobPh.waitRequest(sip.BYE, 1, 2*time.Second)
}

func TestClusterNonceFromAAcceptedByB(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	p := newPhone(t, c.a, "UDP")
	r := reg{AOR: "7001", Contacts: []string{"<" + contact("7001", 5999, "udp") + ">"}, Expires: 300, As: alice}
	ctx := ctxTimeout(t, 10*time.Second)
	req := p.newRegister(r)
	res, err := p.client.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 401)
	// The challenge came from A; the phone's next request lands on B
	// (DNS SRV round robin).
	req.SetDestination(c.b.Addr)
	res, err = p.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: alice.ext, Password: alice.password})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 200)
	if got := bindings(t, res); len(got) != 1 {
		t.Errorf("B answered with bindings %v, want the one contact", got)
	}
	if n := c.b.metrics(t)[`switchboard_auth_failures_total{reason="bad_nonce"}`]; n != 0 {
		t.Errorf("B counted %v bad nonces", n)
	}

	// Both instances sign with the key in Redis.
	if key, err := c.rdb.Get(ctx, "sb:auth:secret").Bytes(); err != nil || len(key) != 32 {
		t.Errorf("sb:auth:secret = %d bytes, %v; want 32", len(key), err)
	}
}

func TestClusterDirectoryChangeOnAReachesB(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	alicePh := phoneOn(t, c.b, "7001", "UDP", "7001", alice) // B has the tenant cached
	dan := user{"dan", "7008", "dan7008-secret"}
	danPhone := newPeer(t, c.b, "7008", "127.0.0.1", "UDP")
	if code, err := registerCode(danPhone, "7008", dan); err != nil || code == 200 {
		t.Fatalf("REGISTER of an unknown user on B: %d %v, want a refusal", code, err)
	}

	// A new user, through A's admin API.
	created := time.Now()
	if code, body := c.a.admin(t, "POST", "/tenants/acme.example/users",
		`{"id":"dan","name":"Dan New","extensions":["7008"],"password":"dan7008-secret"}`); code != 201 && code != 200 {
		t.Fatalf("POST user on A: %d %s", code, body)
	}
	var code int
	if !poll(time.Second, func() bool {
		code, _ = registerCode(danPhone, "7008", dan)
		return code == 200
	}) {
		t.Fatalf("REGISTER of the new user on B: %d a second after A created it", code)
	}
	t.Logf("new user registrable on B %v after A's admin API answered", time.Since(created).Round(time.Millisecond))
	callAndHangUp(t, alicePh, alice, "7008", danPhone)

	// A forward changed through A: calls through B follow it. Both ends
	// refuse, so every attempt ends at once whichever way it went.
	c.carrier.setAnswer(answer{Code: 486})
	danPhone.setAnswer(answer{Code: 486})
	changed := time.Now()
	if code, body := c.a.admin(t, "PATCH", "/tenants/acme.example/users/dan",
		`{"forward":{"number":"+14085550008","when":"always"}}`); code != 200 {
		t.Fatalf("PATCH forward on A: %d %s", code, body)
	}
	tries := 0
	if !poll(time.Second, func() bool {
		tries++
		alicePh.call("7008", callOpts{As: &alice}).wait(3 * time.Second)
		return invited(c.carrier) > 0
	}) {
		t.Fatalf("B did not follow the new forward within 1s (dan's phone got %d INVITEs)", invited(danPhone))
	}
	inv := c.carrier.waitRequest(sip.INVITE, 1, time.Second)
	if inv.Recipient.User != "+14085550008" {
		t.Errorf("carrier got INVITE for %q, want +14085550008", inv.Recipient.User)
	}
	t.Logf("forward followed by B %v after A's admin API answered (%d call attempts)", time.Since(changed).Round(time.Millisecond), tries)
}

func TestClusterRestartKeepsRegistrations(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	bobPh := phoneOn(t, c.b, "7002", "UDP", "7002", bob)
	alicePh := phoneOn(t, c.a, "7001", "UDP", "7001", alice)
	bobPh.setAnswer(answer{Ring: true, Code: 200})

	c.restartB(t)
	// The phone on B did not register again; B finds it in Redis.
	callAndHangUp(t, alicePh.via(c.b), alice, "7002", bobPh)
	// And through A.
	callAndHangUp(t, alicePh.via(c.a), alice, "7002", bobPh)
	if n := len(bobPh.requests(sip.REGISTER)); n != 0 {
		t.Fatalf("phone got %d REGISTERs", n)
	}
}

func TestClusterRedisOutage(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	bobPh := phoneOn(t, c.a, "7002", "UDP", "7002", bob)
	alicePh := phoneOn(t, c.b, "7001", "UDP", "7001", alice)
	carolPh := phoneOn(t, c.a, "7003", "UDP", "7003", carol)
	bobPh.setAnswer(answer{Ring: true, Code: 200})
	alicePh.setAnswer(answer{Ring: true, Code: 200})
	// Traffic before the outage: each instance has read the other's phone.
	callAndHangUp(t, alicePh, alice, "7002", bobPh)
	callAndHangUp(t, bobPh, bob, "7001", alicePh)

	// Mid-traffic: carol re-registers all along, alternately on A and B.
	stop := make(chan struct{})
	var (
		mu       sync.Mutex
		failures []string
		sent     int
	)
	var wg sync.WaitGroup
	var once sync.Once
	stopLoop := func() { once.Do(func() { close(stop); wg.Wait() }) }
	defer stopLoop()
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			srv := c.a
			if i%2 == 1 {
				srv = c.b
			}
			carolPh.srv = srv // only this goroutine uses carol from here on
			start := time.Now()
			code, err := registerCode(carolPh, "7003", user{"carol", "7003", "carol7003"})
			mu.Lock()
			sent++
			if err != nil || code != 200 {
				failures = append(failures, fmt.Sprintf("%s after %v: %d %v", srv.Addr, time.Since(start).Round(time.Millisecond), code, err))
			}
			mu.Unlock()
		}
	})
	time.Sleep(200 * time.Millisecond)

	c.redis.Kill()
	killed := time.Now()
	c.a.waitReadyz(t, "A", "degraded", 3*time.Second)
	c.b.waitReadyz(t, "B", "degraded", 3*time.Second)
	t.Logf("both instances report degraded %v after Redis died", time.Since(killed).Round(time.Millisecond))

	// Registered phones are still called, through either instance.
	callAndHangUp(t, alicePh, alice, "7002", bobPh)
	callAndHangUp(t, bobPh, bob, "7001", alicePh)
	// A new registration during the outage.
	erinPhone := phoneOn(t, c.b, "7005", "UDP", "7005", erin)
	erinPhone.setAnswer(answer{Ring: true, Code: 200})
	if n := c.a.metrics(t)[`switchboard_store_errors_total{op="location_lookup"}`] +
		c.b.metrics(t)[`switchboard_store_errors_total{op="location_lookup"}`]; n == 0 {
		t.Errorf("no location_lookup store errors counted during the outage")
	}

	// Redis returns empty on the same port: the instances write back.
	c.redis.Restart()
	back := time.Now()
	ctx := ctxTimeout(t, 20*time.Second)
	want := []string{"sb:loc:alice@acme.example", "sb:loc:bob@acme.example", "sb:loc:carol@acme.example", "sb:loc:erin@acme.example", "sb:auth:secret"}
	var keys []string
	if !poll(5*time.Second, func() bool {
		keys, _ = c.rdb.Keys(ctx, "sb:*").Result()
		for _, k := range want {
			if !slices.Contains(keys, k) {
				return false
			}
		}
		return true
	}) {
		slices.Sort(keys)
		t.Fatalf("5s after Redis returned it holds %q, want at least %q", keys, want)
	}
	t.Logf("Redis holds every binding again %v after it returned", time.Since(back).Round(time.Millisecond))
	c.a.waitReadyz(t, "A", "ready", 5*time.Second)
	c.b.waitReadyz(t, "B", "ready", 5*time.Second)
	t.Logf("both instances ready (not degraded) %v after Redis returned", time.Since(back).Round(time.Millisecond))
	// The phone registered on B during the outage is reached through A.
	callAndHangUp(t, bobPh.via(c.a), bob, "7005", erinPhone)

	stopLoop()
	mu.Lock()
	defer mu.Unlock()
	if len(failures) > 0 {
		t.Errorf("%d of %d REGISTERs during the outage and return failed: %q", len(failures), sent, failures)
	}
	t.Logf("%d REGISTERs through the outage, all 200", sent)
}

func TestClusterTCPPhoneOnACalledViaB(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	bobPh := phoneOn(t, c.a, "7002", "TCP", "7002", bob)
	alicePh := phoneOn(t, c.b, "7001", "UDP", "7001", alice)
	bobPh.setAnswer(answer{Ring: true, After: 100 * time.Millisecond, Code: 200})
	// The binding names A by an address B can reach.
	if got := clusterBinding(t, c, "bob@acme.example").Instance; got != "udp:"+c.a.Addr {
		t.Fatalf("binding instance %q, want %q", got, "udp:"+c.a.Addr)
	}

	call := alicePh.call("7002", callOpts{As: &alice})
	call.waitProvisional(180, 3*time.Second)
	res := call.waitStatus(200, 5*time.Second)
	inv := bobPh.waitRequest(sip.INVITE, 1, time.Second)
	// The phone got it from A, over the connection it registered on.
	if inv.Source() != c.a.Addr {
		t.Errorf("phone got the INVITE from %s, want A (%s)", inv.Source(), c.a.Addr)
	}
	if r := header(inv, "Route"); r != "" {
		t.Errorf("phone got a Route (the flow token leaked): %q", r)
	}
	if inv.From().Address.User != "7001" {
		t.Errorf("callee sees From %q", inv.From().Value())
	}
	// Both instances stay on the path.
	if rr := header(res, "Record-Route"); !strings.Contains(rr, c.a.Addr) || !strings.Contains(rr, c.b.Addr) {
		t.Errorf("Record-Route %q, want A (%s) and B (%s)", rr, c.a.Addr, c.b.Addr)
	}
	call.ack()
	bobPh.waitRequest(sip.ACK, 1, 2*time.Second)
	c.b.waitMetric(t, callsActive, 1, 2*time.Second)
	c.a.waitMetric(t, callsActive, 1, 2*time.Second)
	if res := call.bye(); res.StatusCode != 200 {
		t.Fatalf("BYE from the caller: %d %s", res.StatusCode, res.Reason)
	}
	bobPh.waitRequest(sip.BYE, 1, 2*time.Second)
	c.b.waitMetric(t, callsActive, 0, 2*time.Second)
	c.a.waitMetric(t, callsActive, 0, 2*time.Second)

	// Again, hung up by the phone: its BYE goes phone → A → B → caller.
	back := connect(t, alicePh, alice, "7002", bobPh)
	if n := invited(bobPh); n != 2 {
		t.Fatalf("phone got %d INVITEs, want 2", n)
	}
	if res := bobPh.byeFromCallee(back.callID()); res.StatusCode != 200 {
		t.Fatalf("BYE from the callee: %d %s", res.StatusCode, res.Reason)
	}
	alicePh.waitRequest(sip.BYE, 1, 2*time.Second)
	c.b.waitMetric(t, callsActive, 0, 2*time.Second)
	c.a.waitMetric(t, callsActive, 0, 2*time.Second)
}

// clusterBinding reads the one binding of aor from the test's Redis.
func clusterBinding(t *testing.T, c *cluster, aor string) wireBinding {
	t.Helper()
	all, err := c.rdb.HGetAll(ctxTimeout(t, 5*time.Second), "sb:loc:"+aor).Result()
	var bs []wireBinding
	for k, v := range all {
		if strings.HasPrefix(k, "#") { // the hash's own fields (#v)
			continue
		}
		var b wireBinding
		if err := json.Unmarshal([]byte(v), &b); err != nil {
			t.Fatalf("binding %q: %v", v, err)
		}
		bs = append(bs, b)
	}
	if err != nil || len(bs) != 1 {
		t.Fatalf("sb:loc:%s = %v, %v; want one binding", aor, all, err)
	}
	return bs[0]
}

// wireBinding is the part of a binding in Redis the relay tests read
// (location/redis_rw.go).
type wireBinding struct {
	Source    string `json:"src"`
	Transport string `json:"tr"`
	Instance  string `json:"in"`
}

// A relayed INVITE is accepted only with a flow token signed with the
// cluster's secret, unexpired, for its own Call-ID and for a flow the
// instance holds; in-dialog requests are never relayed on a token alone.
func TestClusterRelayNeedsValidToken(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	bobPh := phoneOn(t, c.a, "7002", "TCP", "7002", bob)
	bobPh.setAnswer(answer{Code: 486})
	wb := clusterBinding(t, c, "bob@acme.example")
	secret, err := c.rdb.Get(ctxTimeout(t, 5*time.Second), "sb:auth:secret").Bytes()
	if err != nil {
		t.Fatal(err)
	}
	flow := func(callID string, expires time.Time) auth.Flow {
		return auth.Flow{AOR: "bob@acme.example", Source: wb.Source, Transport: wb.Transport, CallID: callID, Expires: expires}
	}
	raw := newRaw(t, c.a)
	invite := func(callID, tok string) *sip.Response {
		t.Helper()
		return raw.mustDo(raw.message(
			"INVITE sip:7002@"+bobPh.addr+";transport=tcp SIP/2.0",
			"Via: {via}",
			"Route: <sip:"+c.a.Addr+";transport=udp;lr;sb-flow="+tok+">",
			"Max-Forwards: 70",
			"From: <sip:7001@{domain}>;tag={tag}",
			"To: <sip:7002@{domain}>",
			"Call-ID: "+callID,
			"CSeq: 1 INVITE",
			"Contact: <sip:7001@127.0.0.1:{port}>",
			"Content-Length: 0"))
	}
	soon := time.Now().Add(time.Minute)
	other := []byte("not-the-cluster-secret-0123456789")
	for _, tc := range []struct {
		name string
		tok  func(callID string) string
		code int
	}{
		{"garbage", func(string) string { return "abc.def" }, 403},
		{"forged", func(id string) string { return auth.SignFlow(other, flow(id, soon)) }, 403},
		{"expired", func(id string) string { return auth.SignFlow(secret, flow(id, time.Now().Add(-time.Second))) }, 403},
		{"other call", func(string) string { return auth.SignFlow(secret, flow("another-call@e2e", soon)) }, 403},
		{"flow not held", func(id string) string {
			f := flow(id, soon)
			f.Source = "127.0.0.1:9"
			return auth.SignFlow(secret, f)
		}, 430},
	} {
		id := token() + "@e2e"
		if res := invite(id, tc.tok(id)); res.StatusCode != tc.code {
			t.Errorf("%s token: %d %s, want %d", tc.name, res.StatusCode, res.Reason, tc.code)
		}
	}
	if n := invited(bobPh); n != 0 {
		t.Fatalf("phone got %d INVITEs from refused relays", n)
	}
	// The control: a valid token rings the phone (which is busy).
	id := token() + "@e2e"
	if res := invite(id, auth.SignFlow(secret, flow(id, soon))); res.StatusCode != 486 {
		t.Errorf("valid token: %d %s, want the phone's 486", res.StatusCode, res.Reason)
	}
	if n := invited(bobPh); n != 1 {
		t.Errorf("phone got %d INVITEs for the valid token, want 1", n)
	}

	// A BYE with a valid-looking token but no dialog on A is not relayed.
	id = token() + "@e2e"
	res := raw.mustDo(raw.message(
		"BYE sip:7002@"+bobPh.addr+";transport=tcp SIP/2.0",
		"Via: {via}",
		"Route: <sip:"+c.a.Addr+";transport=udp;lr;sb-flow="+auth.SignFlow(secret, flow(id, soon))+">",
		"Max-Forwards: 70",
		"From: <sip:7001@{domain}>;tag={tag}",
		"To: <sip:7002@{domain}>;tag={tag}",
		"Call-ID: "+id,
		"CSeq: 2 BYE",
		"Content-Length: 0"))
	if res.StatusCode != 481 {
		t.Errorf("BYE with a token and no dialog: %d %s, want 481", res.StatusCode, res.Reason)
	}
	if n := len(bobPh.requests(sip.BYE)); n != 0 {
		t.Errorf("phone got %d BYEs", n)
	}
}
