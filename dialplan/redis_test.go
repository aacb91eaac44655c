package dialplan_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/dialplan/storetest"
	"github.com/switchboard/switchboard/internal/redisconn"
	"github.com/switchboard/switchboard/internal/redistest"
)

var prefixes atomic.Int64

// openRedis returns a running RedisStore on url under a fresh key prefix,
// stopped when the test ends.
func openRedis(t testing.TB, url string, cfg redisconn.Config, o dialplan.RedisOptions) *dialplan.RedisStore {
	t.Helper()
	cfg.URL = url
	if cfg.Timeout == 0 {
		// Generous for the race detector; the outage tests use the defaults.
		cfg.Timeout, cfg.OpTimeout = 500*time.Millisecond, time.Second
	}
	c, err := redisconn.Open(cfg, o.Registerer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if o.Prefix == "" {
		o.Prefix = fmt.Sprintf("t%d:", prefixes.Add(1))
	}
	s := dialplan.NewRedisStore(c, o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

func TestStoreConformance(t *testing.T) {
	srv := redistest.Start(t) // one server; each case gets its own key prefix
	cluster := redistest.StartCluster(t)
	tests := []struct {
		name string
		open func(t *testing.T) storetest.Store
	}{
		{"memory", func(*testing.T) storetest.Store { return dialplan.NewMemoryStore() }},
		{"redis", func(t *testing.T) storetest.Store {
			return openRedis(t, srv.URL(), redisconn.Config{}, dialplan.RedisOptions{})
		}},
		// Redis Cluster: a hash-tagged prefix keeps every key in one slot,
		// as redisconn.Client.KeyPrefix does in production.
		{"redis-cluster", func(t *testing.T) storetest.Store {
			return openRedis(t, cluster.URL(), redisconn.Config{},
				dialplan.RedisOptions{Prefix: fmt.Sprintf("{t%d}:", prefixes.Add(1))})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { storetest.Run(t, tt.open) })
	}
}

// waitFor polls cond every 10ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

func TestRedisChangeSeenByOtherInstance(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	a := openRedis(t, srv.URL(), redisconn.Config{}, dialplan.RedisOptions{Prefix: "sb:"})
	reg := prometheus.NewRegistry()
	b := openRedis(t, srv.URL(), redisconn.Config{}, dialplan.RedisOptions{Prefix: "sb:", Registerer: reg})
	if err := a.Replace(ctx, storetest.FixtureDirectory(t)); err != nil {
		t.Fatal(err)
	}
	// B caches acme (once its subscription is up), then A adds a user.
	if !waitFor(time.Second, func() bool {
		_, err := b.Tenant(ctx, "acme.example")
		return err == nil && cacheCount(t, reg, "hit") > 0
	}) {
		t.Fatal("B's lookups never hit its cache")
	}
	start := time.Now()
	if err := a.UpdateTenant(ctx, "acme.example", func(tn *dialplan.Tenant) error {
		tn.Users = append(tn.Users, &dialplan.User{ID: "new", Extensions: []string{"7009"}, Password: "pw"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	seen := waitFor(time.Second, func() bool {
		v, err := b.Tenant(ctx, "acme.example")
		_, ok := v.Lookup("7009")
		return err == nil && ok
	})
	if !seen {
		t.Fatal("instance B did not see A's new user within 1s")
	}
	t.Logf("change seen by B after %v", time.Since(start))

	// Number moves are seen too.
	if _, err := b.TenantByNumber(ctx, "+442071234567"); err != nil {
		t.Fatal(err)
	}
	if err := a.UpdateTenant(ctx, "beta.example", func(tn *dialplan.Tenant) error {
		tn.Numbers = nil
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !waitFor(time.Second, func() bool {
		_, err := b.TenantByNumber(ctx, "+442071234567")
		return errors.Is(err, dialplan.ErrNotFound)
	}) {
		t.Error("instance B still routes a released number after 1s")
	}

	if problems, err := promlint.NewWithMetricFamilies(gather(t, reg)).Lint(); err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
}

func TestRedisSeed(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s := openRedis(t, srv.URL(), redisconn.Config{}, dialplan.RedisOptions{})
	imported, err := s.Seed(ctx, storetest.FixtureDirectory(t))
	if err != nil || !imported {
		t.Fatalf("Seed(empty redis) = %v, %v; want imported", imported, err)
	}
	if err := s.UpdateTenant(ctx, "beta.example", func(tn *dialplan.Tenant) error { tn.Name = "Changed"; return nil }); err != nil {
		t.Fatal(err)
	}
	imported, err = s.Seed(ctx, storetest.FixtureDirectory(t))
	if err != nil || imported {
		t.Fatalf("Seed(populated redis) = %v, %v; want not imported", imported, err)
	}
	v, err := s.Tenant(ctx, "beta.example")
	if err != nil || v.Tenant.Name != "Changed" {
		t.Errorf("Seed overwrote a populated Redis: name %q, %v", v.Tenant.Name, err)
	}
}

// TestRedisOutage: Redis dies; cached views keep routing, uncached ones fail
// (not as not-found), Health says degraded. Redis comes back empty: the
// seeded directory is imported again and lookups work.
func TestRedisOutage(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s := openRedis(t, srv.URL(), redisconn.Config{BreakerCooldown: 100 * time.Millisecond}, dialplan.RedisOptions{})
	if _, err := s.Seed(ctx, storetest.FixtureDirectory(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tenant(ctx, "acme.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TenantByNumber(ctx, "+14155550101"); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	for range 20 {
		if v, err := s.Tenant(ctx, "acme.example"); err != nil || v.Tenant.Domain != "acme.example" {
			t.Fatalf("cached Tenant during outage = %v, %v", v, err)
		}
		if v, err := s.TenantByNumber(ctx, "+14155550101"); err != nil || v.Tenant.Domain != "acme.example" {
			t.Fatalf("cached TenantByNumber during outage = %v, %v", v, err)
		}
	}
	if _, err := s.Tenant(ctx, "beta.example"); err == nil || errors.Is(err, dialplan.ErrNotFound) {
		t.Errorf("uncached Tenant during outage: error %v, want a store error", err)
	}
	if err := s.Health(ctx); err == nil {
		t.Error("Health during outage = nil, want degraded")
	}

	srv.Restart() // empty
	if !waitFor(5*time.Second, func() bool {
		v, err := s.Tenant(ctx, "beta.example")
		return err == nil && v.Tenant.Domain == "beta.example"
	}) {
		t.Fatal("directory not back 5s after Redis returned empty")
	}
	if err := s.Health(ctx); err != nil {
		t.Errorf("Health after recovery = %v", err)
	}
	if v, err := s.Tenant(ctx, "acme.example"); err != nil || v.Tenant.Domain != "acme.example" {
		t.Errorf("Tenant after recovery = %v, %v", v, err)
	}
}

// TestRedisBlackHole: a Redis that accepts and never answers costs a bounded
// wait per call until the breaker opens, then almost nothing.
func TestRedisBlackHole(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	proxy := redistest.NewProxy(t, srv.Addr())
	s := openRedis(t, proxy.URL(), redisconn.Config{Timeout: redisconn.DefaultTimeout, OpTimeout: redisconn.DefaultOpTimeout},
		dialplan.RedisOptions{})
	if err := s.Replace(ctx, storetest.FixtureDirectory(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tenant(ctx, "acme.example"); err != nil {
		t.Fatal(err)
	}
	proxy.Stall()
	var slowest, last time.Duration
	for i := range 12 {
		start := time.Now()
		_, err := s.Tenant(ctx, "beta.example") // not cached: goes to Redis
		d := time.Since(start)
		if err == nil {
			t.Fatalf("lookup %d through a black hole succeeded", i)
		}
		slowest, last = max(slowest, d), d
		if v, err := s.Tenant(ctx, "acme.example"); err != nil || v == nil {
			t.Fatalf("cached lookup during black hole: %v", err)
		}
	}
	t.Logf("black hole: slowest call %v, last %v", slowest, last)
	if slowest > 250*time.Millisecond {
		t.Errorf("slowest call through a black hole took %v, want about 150ms at most", slowest)
	}
	if last > 5*time.Millisecond {
		t.Errorf("with the breaker open a call took %v, want microseconds", last)
	}
}

func cacheCount(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	for _, mf := range gather(t, reg) {
		if mf.GetName() != "switchboard_directory_cache_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func gather(t *testing.T, reg *prometheus.Registry) []*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// TestRedisConcurrentMissesReadOnce: a cold cache hit by many lookups of one
// tenant at once (a restart, an invalidation) reads and compiles the tenant
// once, not once per lookup.
func TestRedisConcurrentMissesReadOnce(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	w := openRedis(t, srv.URL(), redisconn.Config{}, dialplan.RedisOptions{Prefix: "sb:"})
	if err := w.Replace(ctx, storetest.FixtureDirectory(t)); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	r := openRedis(t, srv.URL(), redisconn.Config{}, dialplan.RedisOptions{Prefix: "sb:", Registerer: reg})
	const n = 50
	start := make(chan struct{})
	errs := make(chan error, n)
	for range n {
		go func() {
			<-start
			_, err := r.Tenant(ctx, "acme.example")
			errs <- err
		}()
	}
	close(start)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var reads uint64
	for _, mf := range gather(t, reg) {
		if mf.GetName() != "switchboard_store_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "op" && l.GetValue() == "directory_tenant" {
					reads += m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	if reads == 0 || reads > n/5 {
		t.Errorf("%d concurrent cold lookups made %d tenant reads, want a handful (shared)", n, reads)
	}
}
