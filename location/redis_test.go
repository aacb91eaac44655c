package location_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/redisconn"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/location"
)

func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

func TestRedisRestartKeepsBindings(t *testing.T) {
	srv := redistest.Start(t)
	a := openRedis(t, srv.URL(), redisconn.Config{}, location.RedisOptions{Prefix: "sb:"})
	update(t, a, "john@acme", "acme", register("sip:a", "c", 1, time.Hour))
	// A new instance (a restart) on the same Redis sees the binding.
	b := openRedis(t, srv.URL(), redisconn.Config{}, location.RedisOptions{Prefix: "sb:"})
	if got := lookup(t, b, "john@acme"); len(got) != 1 || got[0].Instance != "sb-1" {
		t.Errorf("Lookup on a restarted instance = %+v, want the binding with its instance", got)
	}
}

func TestRedisRefreshRewritesOneField(t *testing.T) {
	srv := redistest.Start(t)
	s := openRedis(t, srv.URL(), redisconn.Config{}, location.RedisOptions{Prefix: "sb:"})
	for i := range 5 {
		update(t, s, "a@t", "t", register(fmt.Sprintf("sip:%d", i), "c", 1, time.Hour))
	}
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer raw.Close()
	ctx := context.Background()
	before := raw.HGetAll(ctx, "sb:loc:a@t").Val()
	update(t, s, "a@t", "t", register("sip:3", "c", 2, 2*time.Hour))
	after := raw.HGetAll(ctx, "sb:loc:a@t").Val()
	var changed []string
	for k, v := range after {
		if before[k] != v {
			changed = append(changed, k)
		}
	}
	if fmt.Sprint(changed) != "[#v sip:3]" && fmt.Sprint(changed) != "[sip:3 #v]" {
		t.Errorf("a refresh changed fields %v, want only sip:3 and the version", changed)
	}
	if ttl := raw.PTTL(ctx, "sb:loc:a@t").Val(); ttl < 2*time.Hour-time.Minute || ttl > 2*time.Hour+time.Minute {
		t.Errorf("key TTL = %v, want the longest binding's (2h)", ttl)
	}
}

// TestRedisOutage: Redis is killed mid-traffic and comes back empty.
// Lookups keep working from memory, REGISTER-style updates keep succeeding,
// and after Redis returns it holds every live binding again: none lost, none
// expired resurrected, the later update winning.
func TestRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	cfg := redisconn.Config{BreakerCooldown: 50 * time.Millisecond}
	s := openRedis(t, srv.URL(), cfg, location.RedisOptions{Prefix: "sb:"})
	ctx := context.Background()
	for i := range 20 {
		update(t, s, fmt.Sprintf("u%d@acme", i), "acme", register("sip:phone", "c", 1, time.Hour))
	}
	update(t, s, "short@acme", "acme", register("sip:short", "c", 1, 300*time.Millisecond))
	waitFor(time.Second, func() bool { return s.Health(ctx) == nil }) // epoch known

	srv.Kill()
	for i := range 20 {
		aor := fmt.Sprintf("u%d@acme", i)
		if got := lookup(t, s, aor); len(got) != 1 {
			t.Fatalf("Lookup(%s) during outage = %v, want the binding from memory", aor, got)
		}
		if i%2 == 0 { // refreshed during the outage: must win
			update(t, s, aor, "acme", register("sip:phone", "c", 2, 2*time.Hour))
		}
	}
	update(t, s, "new@acme", "acme", register("sip:new", "c", 1, time.Hour))
	update(t, s, "u1@acme", "acme", unregister("sip:phone"))
	if got := lookup(t, s, "new@acme"); len(got) != 1 {
		t.Errorf("Lookup of a registration made during the outage = %v", got)
	}
	if err := s.Health(ctx); err == nil {
		t.Error("Health during outage = nil, want degraded")
	}
	time.Sleep(400 * time.Millisecond) // short@acme expires

	srv.Restart() // empty
	if !waitFor(5*time.Second, func() bool { return s.Health(ctx) == nil }) {
		t.Fatalf("still degraded 5s after Redis returned: %v", s.Health(ctx))
	}
	// A fresh instance reads Redis only.
	fresh := openRedis(t, srv.URL(), redisconn.Config{}, location.RedisOptions{Prefix: "sb:"})
	for i := range 20 {
		aor := fmt.Sprintf("u%d@acme", i)
		got := lookup(t, fresh, aor)
		switch {
		case i == 1:
			if len(got) != 0 {
				t.Errorf("%s was unregistered during the outage but Redis has %v", aor, got)
			}
		case len(got) != 1:
			t.Errorf("Redis lost %s: %v", aor, got)
		case i%2 == 0 && got[0].CSeq != 2:
			t.Errorf("%s: Redis has CSeq %d, want the later update (2)", aor, got[0].CSeq)
		}
	}
	if got := lookup(t, fresh, "new@acme"); len(got) != 1 {
		t.Errorf("registration made during the outage not written back: %v", got)
	}
	if got := lookup(t, fresh, "short@acme"); len(got) != 0 {
		t.Errorf("expired binding resurrected: %v", got)
	}
	if got := fresh.Counts()["acme"]; got != 20 {
		t.Errorf("Counts[acme] after write-back = %d, want 20", got)
	}
}

// TestRedisBlackHole: a Redis that accepts connections and never answers
// costs each update at most about the call deadline, then, with the breaker
// open, microseconds; updates keep succeeding in memory.
func TestRedisBlackHole(t *testing.T) {
	srv := redistest.Start(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	s := openRedis(t, proxy.URL(), redisconn.Config{Timeout: redisconn.DefaultTimeout, OpTimeout: redisconn.DefaultOpTimeout},
		location.RedisOptions{})
	update(t, s, "a@t", "t", register("sip:a", "c", 1, time.Hour))
	proxy.Stall()
	var slowest, last time.Duration
	for i := range 12 {
		start := time.Now()
		update(t, s, fmt.Sprintf("u%d@t", i), "t", register("sip:x", "c", 1, time.Hour))
		if got := lookup(t, s, "a@t"); len(got) != 1 {
			t.Fatalf("Lookup during black hole = %v", got)
		}
		d := time.Since(start)
		slowest, last = max(slowest, d), d
	}
	t.Logf("black hole: slowest update+lookup %v, last %v", slowest, last)
	if slowest > 350*time.Millisecond { // an update and a lookup, ~150ms each at most
		t.Errorf("slowest update+lookup took %v", slowest)
	}
	if last > 5*time.Millisecond {
		t.Errorf("with the breaker open, update+lookup took %v, want microseconds", last)
	}
}

func BenchmarkUpdate(b *testing.B) {
	srv := redistest.Start(b)
	r := openRedis(b, srv.URL(), redisconn.Config{}, location.RedisOptions{})
	m := location.NewMemory(nil)
	aors := make([]string, 1000)
	for i := range aors {
		aors[i] = fmt.Sprintf("u%d@t", i)
	}
	for _, s := range []struct {
		name string
		s    location.Store
	}{{"memory", m}, {"redis", r}} {
		b.Run(s.name+"/refresh", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if _, err := s.s.Update(context.Background(), aors[i%len(aors)], "t", register("sip:phone", "c", uint32(i), time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.name+"/lookup", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if _, err := s.s.Lookup(context.Background(), aors[i%len(aors)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRedisConcurrentUpdates: many REGISTERs at once for the same AORs,
// which group commit puts in the same pipelines: the optimistic check still
// serialises them, so every contact lands.
func TestRedisConcurrentUpdates(t *testing.T) {
	srv := redistest.Start(t)
	s := openRedis(t, srv.URL(), redisconn.Config{}, location.RedisOptions{Prefix: "cc:"})
	const aors, phones = 10, 8
	var wg sync.WaitGroup
	for a := range aors {
		for p := range phones {
			wg.Add(1)
			go func() {
				defer wg.Done()
				aor := fmt.Sprintf("u%d@t", a)
				if _, err := s.Update(context.Background(), aor, "t", register(fmt.Sprintf("sip:p%d", p), "c", 1, time.Hour)); err != nil {
					t.Errorf("Update(%s): %v", aor, err)
				}
			}()
		}
	}
	wg.Wait()
	fresh := openRedis(t, srv.URL(), redisconn.Config{}, location.RedisOptions{Prefix: "cc:"})
	for a := range aors {
		if got := lookup(t, fresh, fmt.Sprintf("u%d@t", a)); len(got) != phones {
			t.Errorf("u%d@t has %d contacts in Redis, want %d", a, len(got), phones)
		}
	}
	if got := fresh.Counts()["t"]; got != aors*phones {
		t.Errorf("Counts[t] = %d, want %d", got, aors*phones)
	}
}

// TestRedisRefreshSkipsRead: a re-REGISTER on the instance that wrote the
// AOR last costs one command; a write by another instance in between is
// still seen (the version check refuses the stale copy, the update reads).
func TestRedisRefreshSkipsRead(t *testing.T) {
	srv := redistest.Start(t)
	a := openRedis(t, srv.URL(), redisconn.Config{}, location.RedisOptions{Prefix: "rs:"})
	b := openRedis(t, srv.URL(), redisconn.Config{}, location.RedisOptions{Prefix: "rs:"})
	update(t, a, "john@acme", "acme", register("sip:desk", "d", 1, time.Hour))
	_, jobs0 := location.BatchStats(a)
	update(t, a, "john@acme", "acme", register("sip:desk", "d", 2, time.Hour))
	if _, jobs := location.BatchStats(a); jobs-jobs0 != 1 {
		t.Errorf("a refresh took %d Redis round trips, want 1 (no read)", jobs-jobs0)
	}
	update(t, b, "john@acme", "acme", register("sip:mobile", "m", 1, time.Hour))
	update(t, a, "john@acme", "acme", register("sip:desk", "d", 3, time.Hour))
	got := lookup(t, b, "john@acme")
	if c := fmt.Sprint(contacts(got)); c != "[sip:desk sip:mobile]" {
		t.Fatalf("after a refresh on a over b's write, Redis has %s, want both contacts", c)
	}
	if got[0].CSeq != 3 {
		t.Errorf("desk CSeq = %d, want the refresh's 3", got[0].CSeq)
	}
}
