package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestRollingRestart restarts two instances on one Redis in turn while two
// callers place calls at a steady rate (each held ~0.8 s) to phones
// registered over TCP — one on each instance — and to a UDP phone. Callers
// behave like phones behind DNS SRV with a health-checked load balancer:
// they use an instance only while it is up and skip it for Retry-After
// after a 503. TCP phones register again through the other instance when
// their connection closes. No call may fail and every phone must end up
// registered.
func TestRollingRestart(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	carrier := newPeer(t, nil, "carrier", "127.0.0.2", "UDP")
	opts := func(port int) options {
		return options{Directory: callDirectory, Redis: r.URL(), AdminToken: clusterToken,
			Trunk: carrier.addr, Port: port, Shutdown: "20s"}
	}
	pool := &instances{}
	pool.srv[0] = start(t, opts(0))
	pool.srv[1] = start(t, opts(0))
	pool.up = [2]bool{true, true}
	carrier.srv = pool.srv[0]

	// Callees: alice over TCP on A, bob over TCP on B, carol over UDP.
	alicePh := newPeer(t, pool.srv[0], "alice-tcp", "127.0.0.1", "TCP")
	alicePh.register("7001", alice)
	bobPh := newPeer(t, pool.srv[1], "bob-tcp", "127.0.0.1", "TCP")
	bobPh.register("7002", bob)
	carolPh := newPeer(t, pool.srv[0], "carol-udp", "127.0.0.1", "UDP")
	carolPh.register("7003", carol)

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	moves := map[string]int{}
	fail := func(format string, args ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	for _, w := range []struct {
		p   *peer
		aor string
		u   user
		on  int
	}{{alicePh, "7001", alice, 0}, {bobPh, "7002", bob, 1}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := followFlow(ctx, pool, w.p, w.aor, w.u, w.on)
			mu.Lock()
			moves[w.aor] = n
			mu.Unlock()
			if err != nil {
				fail("%s: %v", w.aor, err)
			}
		}()
	}
	var placed, retried [2]int
	for i, c := range []struct {
		name string
		u    user
		to   []string
	}{{"erin", erin, []string{"7001", "7003"}}, {"frank", frank, []string{"7002", "7001"}}} {
		caller := newPeer(t, pool.srv[0], c.name+"-udp", "127.0.0.1", "UDP")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				to := c.to[n%len(c.to)]
				retries, err := placeCall(pool, caller, c.u, to, n%2, 800*time.Millisecond)
				placed[i]++
				retried[i] += retries
				if err != nil {
					fail("%s → %s (call %d): %v", c.name, to, n, err)
				}
				time.Sleep(150 * time.Millisecond)
			}
		}()
	}

	time.Sleep(2 * time.Second) // steady state first
	for i := range pool.srv {
		old := pool.get(i)
		old.term(t)
		old.wantDraining(t)
		code := old.exitCode(t, 30*time.Second)
		pool.setUp(i, false)
		if code != 0 {
			t.Errorf("instance %d exited %d on SIGTERM, want 0", i, code)
		}
		if !strings.Contains(old.stderr.String(), "closed idle phone connections") {
			t.Errorf("instance %d closed no phone connection while draining", i)
		}
		pool.set(i, start(t, opts(portOf(old.Addr))))
		time.Sleep(3 * time.Second) // traffic on the restarted instance
	}
	stop()
	wg.Wait()

	t.Logf("calls placed %v, moved to the other instance after a 503 %v, TCP phone moves %v", placed, retried, moves)
	for _, f := range failures {
		t.Error(f)
	}
	if placed[0]+placed[1] < 10 {
		t.Errorf("only %d calls placed", placed[0]+placed[1])
	}
	if moves["7001"] == 0 || moves["7002"] == 0 {
		t.Errorf("TCP phones moved %v times, want each at least once", moves)
	}
	// Nobody lost a registration: every phone is registered now.
	code, body := pool.get(0).admin(t, "GET", "/registrations?tenant="+domain, "")
	if code != 200 {
		t.Fatalf("GET /registrations: %d %s", code, body)
	}
	for _, contact := range []string{alicePh.addr, bobPh.addr, carolPh.addr} {
		if !strings.Contains(body, contact) {
			t.Errorf("registrations after the restarts lack the phone at %s:\n%s", contact, body)
		}
	}
}

// instances is the test's view of the two instances: which process serves
// each slot and whether a load balancer would send traffic to it.
type instances struct {
	mu    sync.Mutex
	srv   [2]*server
	up    [2]bool
	avoid [2]time.Time // after a 503: until Retry-After has passed
}

func (p *instances) get(i int) *server {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.srv[i]
}

func (p *instances) set(i int, s *server) {
	p.mu.Lock()
	p.srv[i], p.up[i] = s, true
	p.mu.Unlock()
}

func (p *instances) setUp(i int, up bool) {
	p.mu.Lock()
	p.up[i] = up
	p.mu.Unlock()
}

// pick returns the preferred instance if usable, else the other one.
func (p *instances) pick(prefer int) (int, *server) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, i := range []int{prefer, 1 - prefer} {
		if p.up[i] && time.Now().After(p.avoid[i]) {
			return i, p.srv[i]
		}
	}
	return -1, nil
}

func (p *instances) refused(i int, retryAfter string) {
	secs, err := strconv.Atoi(strings.TrimSpace(retryAfter))
	if err != nil || secs <= 0 {
		secs = 5
	}
	p.mu.Lock()
	p.avoid[i] = time.Now().Add(time.Duration(secs) * time.Second)
	p.mu.Unlock()
}

// placeCall places one call from caller (as u) to dialled through an
// instance it may use, preferring prefer, moving to the other one after a
// 503; it holds the answered call for hold and hangs up. It returns how many
// 503s it moved on from, and an error when the call did not connect and end
// cleanly.
func placeCall(pool *instances, caller *peer, u user, dialled string, prefer int, hold time.Duration) (int, error) {
	moved := 0
	// Both instances may be skipped for a while (one restarting, the other
	// just answered 503): wait as a phone honouring Retry-After would.
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		i, srv := pool.pick(prefer)
		if srv == nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		caller.srv = srv
		c := caller.call(dialled, callOpts{As: &u})
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			return moved, fmt.Errorf("no final response via instance %d", i)
		}
		c.mu.Lock()
		res := c.final
		c.mu.Unlock()
		switch {
		case res == nil:
			return moved, fmt.Errorf("INVITE via instance %d ended without a final response", i)
		case res.StatusCode == 503:
			pool.refused(i, header(res, "Retry-After"))
			moved++
			prefer = 1 - i
			continue
		case res.StatusCode != 200:
			return moved, fmt.Errorf("INVITE via instance %d: %d %s", i, res.StatusCode, res.Reason)
		}
		if err := caller.client.WriteRequest(c.inDialogRequest(sip.ACK, c.invite.CSeq().SeqNo)); err != nil {
			return moved, fmt.Errorf("ACK: %v", err)
		}
		time.Sleep(hold)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		bye, err := caller.client.Do(ctx, c.inDialogRequest(sip.BYE, c.invite.CSeq().SeqNo+1))
		cancel()
		if err != nil {
			return moved, fmt.Errorf("BYE (call via instance %d): %v", i, err)
		}
		if bye.StatusCode != 200 {
			return moved, fmt.Errorf("BYE (call via instance %d): %d %s", i, bye.StatusCode, bye.Reason)
		}
		return moved, nil
	}
	return moved, fmt.Errorf("no instance took the call within 15s")
}

// followFlow keeps a TCP phone registered like an RFC 5626 phone: when its
// connection to the instance it registered through closes, it registers
// again through the other one. It returns how often it moved.
func followFlow(ctx context.Context, pool *instances, p *peer, aor string, u user, on int) (int, error) {
	moves := 0
	for ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
		srv := pool.get(on)
		tcp := p.ua.TransportLayer().Pool("tcp")
		if c := tcp.Get(srv.Addr); c != nil {
			c.Ref(-1)
			continue
		}
		// The flow is gone: register through an instance that is up.
		deadline := time.Now().Add(10 * time.Second)
		for {
			next, s := pool.pick(1 - on)
			if s != nil {
				p.srv = s
				if code, err := registerCode(p, aor, u); err == nil && code == 200 {
					on = next
					moves++
					break
				}
			}
			if time.Now().After(deadline) {
				return moves, fmt.Errorf("could not register again within 10s after its flow closed")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return moves, nil
}
