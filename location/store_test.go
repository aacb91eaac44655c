package location_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard/switchboard/internal/redisconn"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/location"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now().Truncate(time.Millisecond)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// store is what the table exercises: a Store that counts per tenant.
type store interface {
	location.Store
	Counts() map[string]int
}

var prefixes atomic.Int64

// openRedis returns a running Redis location store under a fresh prefix.
func openRedis(t testing.TB, url string, cfg redisconn.Config, o location.RedisOptions) *location.Redis {
	t.Helper()
	cfg.URL = url
	if cfg.Timeout == 0 {
		cfg.Timeout, cfg.OpTimeout = 500*time.Millisecond, time.Second
	}
	c, err := redisconn.Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if o.Prefix == "" {
		o.Prefix = fmt.Sprintf("t%d:", prefixes.Add(1))
	}
	r := location.NewRedis(c, o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx, 100*time.Millisecond); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// register adds or refreshes a contact, refusing an old CSeq of the same
// Call-ID like the registrar does.
func register(contact, callID string, cseq uint32, ttl time.Duration) location.UpdateFunc {
	return func(now time.Time, cur []location.Binding) ([]location.Binding, error) {
		out := append([]location.Binding(nil), cur...)
		b := location.Binding{Contact: contact, Expires: now.Add(ttl), CallID: callID, CSeq: cseq,
			Source: "192.0.2.1:5060", Transport: "tcp", Instance: "sb-1", Q: 0.5, Updated: now, UserAgent: "phone"}
		for i := range out {
			if out[i].Contact == contact {
				if out[i].CallID == callID && cseq <= out[i].CSeq {
					return nil, location.ErrStale
				}
				out[i] = b
				return out, nil
			}
		}
		return append(out, b), nil
	}
}

func unregister(contact string) location.UpdateFunc {
	return func(_ time.Time, cur []location.Binding) ([]location.Binding, error) {
		var out []location.Binding
		for _, b := range cur {
			if b.Contact != contact {
				out = append(out, b)
			}
		}
		return out, nil
	}
}

const outboundInstance = "<urn:uuid:00000000-0000-1000-8000-000a95a0e128>"

// outboundFlow registers (or replaces) the RFC 5626 flow reg-id of one
// phone instance, as the registrar does: by instance and reg-id, not contact.
func outboundFlow(source string, regID uint32) location.UpdateFunc {
	return func(now time.Time, cur []location.Binding) ([]location.Binding, error) {
		b := location.Binding{Contact: "sip:a@192.0.2.1;transport=tcp", Expires: now.Add(time.Hour),
			CallID: "c", CSeq: 1, Source: source, Transport: "tcp", Instance: "sb-1", Updated: now,
			SIPInstance: outboundInstance, RegID: regID}
		out := append([]location.Binding(nil), cur...)
		for i := range out {
			if out[i].SIPInstance == b.SIPInstance && out[i].RegID == regID {
				out[i] = b
				return out, nil
			}
		}
		return append(out, b), nil
	}
}

func contacts(bs []location.Binding) string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Contact)
	}
	return fmt.Sprint(out)
}

func update(t *testing.T, s location.Store, aor, tenant string, fn location.UpdateFunc) []location.Binding {
	t.Helper()
	bs, err := s.Update(context.Background(), aor, tenant, fn)
	if err != nil {
		t.Fatalf("Update(%s): %v", aor, err)
	}
	return bs
}

func lookup(t *testing.T, s location.Store, aor string) []location.Binding {
	t.Helper()
	bs, err := s.Lookup(context.Background(), aor)
	if err != nil {
		t.Fatalf("Lookup(%s): %v", aor, err)
	}
	return bs
}

var conformance = []struct {
	name string
	run  func(t *testing.T, s store, clk *clock)
}{
	{"bindings round-trip", func(t *testing.T, s store, clk *clock) {
		reg := register("sip:a@192.0.2.1;transport=tcp", "c1", 1, time.Hour)
		got := update(t, s, "john@acme", "acme", func(now time.Time, cur []location.Binding) ([]location.Binding, error) {
			bs, err := reg(now, cur)
			for i := range bs {
				bs[i].AOR, bs[i].Tenant = "john@acme", "acme" // as the registrar sets them
			}
			return bs, err
		})
		want := []location.Binding{{AOR: "john@acme", Tenant: "acme", Contact: "sip:a@192.0.2.1;transport=tcp",
			Expires: clk.Now().Add(time.Hour), Q: 0.5, CallID: "c1", CSeq: 1, Source: "192.0.2.1:5060",
			Transport: "tcp", Instance: "sb-1", UserAgent: "phone", Updated: clk.Now()}}
		opt := cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })
		if diff := cmp.Diff(want, got, opt); diff != "" {
			t.Errorf("Update result (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want, lookup(t, s, "john@acme"), opt); diff != "" {
			t.Errorf("Lookup (-want +got):\n%s", diff)
		}
		if got := lookup(t, s, "nobody@acme"); len(got) != 0 {
			t.Errorf("Lookup(unknown) = %v, want none", got)
		}
	}},
	{"expiry", func(t *testing.T, s store, clk *clock) {
		update(t, s, "john@acme", "acme", register("sip:a", "c1", 1, 60*time.Second))
		update(t, s, "john@acme", "acme", register("sip:b", "c2", 1, 120*time.Second))
		if got := contacts(lookup(t, s, "john@acme")); got != "[sip:a sip:b]" {
			t.Fatalf("Lookup = %s, want both", got)
		}
		clk.Advance(60 * time.Second) // a expires exactly now
		if got := contacts(lookup(t, s, "john@acme")); got != "[sip:b]" {
			t.Errorf("Lookup after 60s = %s, want [sip:b]", got)
		}
		var seen string
		update(t, s, "john@acme", "acme", func(_ time.Time, cur []location.Binding) ([]location.Binding, error) {
			seen = contacts(cur)
			return cur, nil
		})
		if seen != "[sip:b]" {
			t.Errorf("UpdateFunc saw %s, want only the live [sip:b]", seen)
		}
		clk.Advance(60 * time.Second)
		if got := lookup(t, s, "john@acme"); len(got) != 0 {
			t.Errorf("Lookup after every expiry = %v, want none", got)
		}
	}},
	{"refresh moves expiry and keeps order", func(t *testing.T, s store, clk *clock) {
		for i, c := range []string{"sip:1", "sip:2", "sip:3"} {
			update(t, s, "a@t", "t", register(c, "c"+c, uint32(i+1), time.Minute))
		}
		update(t, s, "a@t", "t", register("sip:2", "csip:2", 9, time.Hour))
		clk.Advance(2 * time.Minute)
		if got := contacts(lookup(t, s, "a@t")); got != "[sip:2]" {
			t.Errorf("after refresh and 2m, Lookup = %s, want [sip:2]", got)
		}
		update(t, s, "a@t", "t", register("sip:4", "c4", 1, time.Hour))
		update(t, s, "a@t", "t", register("sip:5", "c5", 1, time.Hour))
		update(t, s, "a@t", "t", unregister("sip:4"))
		if got := contacts(lookup(t, s, "a@t")); got != "[sip:2 sip:5]" {
			t.Errorf("Lookup = %s, want registration order [sip:2 sip:5]", got)
		}
	}},
	{"stale CSeq passes through and changes nothing", func(t *testing.T, s store, clk *clock) {
		update(t, s, "a@t", "t", register("sip:x", "call", 5, time.Minute))
		_, err := s.Update(context.Background(), "a@t", "t", register("sip:x", "call", 4, time.Hour))
		if !errors.Is(err, location.ErrStale) {
			t.Fatalf("Update(older CSeq) error = %v, want ErrStale", err)
		}
		bs := lookup(t, s, "a@t")
		if len(bs) != 1 || bs[0].CSeq != 5 || !bs[0].Expires.Equal(clk.Now().Add(time.Minute)) {
			t.Errorf("Lookup after a refused update = %+v, want CSeq 5 untouched", bs)
		}
	}},
	{"remove all", func(t *testing.T, s store, clk *clock) {
		update(t, s, "a@t", "t", register("sip:1", "c", 1, time.Minute))
		update(t, s, "a@t", "t", register("sip:2", "c", 2, time.Minute))
		if got := update(t, s, "a@t", "t", func(time.Time, []location.Binding) ([]location.Binding, error) { return nil, nil }); len(got) != 0 {
			t.Errorf("Update(remove all) = %v", got)
		}
		if got := lookup(t, s, "a@t"); len(got) != 0 {
			t.Errorf("Lookup after removing all = %v", got)
		}
		if c := s.Counts()["t"]; c != 0 {
			t.Errorf("Counts[t] = %d, want 0", c)
		}
	}},
	{"counts per tenant", func(t *testing.T, s store, clk *clock) {
		update(t, s, "a@acme", "acme", register("sip:1", "c", 1, time.Minute))
		update(t, s, "a@acme", "acme", register("sip:2", "c2", 1, time.Hour))
		update(t, s, "b@acme", "acme", register("sip:3", "c", 1, time.Hour))
		update(t, s, "z@beta", "beta", register("sip:4", "c", 1, time.Hour))
		if got := s.Counts(); got["acme"] != 3 || got["beta"] != 1 {
			t.Errorf("Counts = %v, want acme 3, beta 1", got)
		}
		clk.Advance(2 * time.Minute)
		if m, ok := s.(*location.Memory); ok {
			m.Sweep()
		}
		if got := s.Counts(); got["acme"] != 2 {
			t.Errorf("Counts after an expiry = %v, want acme 2", got)
		}
	}},
	{"outbound flows share a contact and are keyed by reg-id", func(t *testing.T, s store, clk *clock) {
		// RFC 5626 §6: one phone, two flows, the same Contact URI.
		got := update(t, s, "a@t", "t", outboundFlow("192.0.2.1:4001", 1))
		got = update(t, s, "a@t", "t", outboundFlow("192.0.2.1:4002", 2))
		if len(got) != 2 {
			t.Fatalf("after two reg-ids: %d bindings, want 2: %+v", len(got), got)
		}
		// A new flow for reg-id 1 (the phone reconnected) replaces the old one.
		update(t, s, "a@t", "t", outboundFlow("192.0.2.1:4003", 1))
		bs := lookup(t, s, "a@t")
		flows := map[uint32]string{}
		for _, b := range bs {
			if b.SIPInstance != outboundInstance || b.Contact != "sip:a@192.0.2.1;transport=tcp" {
				t.Errorf("binding lost its identity: %+v", b)
			}
			flows[b.RegID] = b.Source
		}
		if len(bs) != 2 || flows[1] != "192.0.2.1:4003" || flows[2] != "192.0.2.1:4002" {
			t.Errorf("flows = %v (%d bindings), want reg-id 1 on :4003 and 2 on :4002", flows, len(bs))
		}
		if c := s.Counts()["t"]; c != 2 {
			t.Errorf("Counts[t] = %d, want 2", c)
		}
		update(t, s, "a@t", "t", func(_ time.Time, cur []location.Binding) ([]location.Binding, error) {
			var out []location.Binding
			for _, b := range cur {
				if b.RegID != 2 {
					out = append(out, b)
				}
			}
			return out, nil
		})
		if bs := lookup(t, s, "a@t"); len(bs) != 1 || bs[0].RegID != 1 {
			t.Errorf("after removing reg-id 2: %+v, want only reg-id 1", bs)
		}
	}},
	{"concurrent updates", func(t *testing.T, s store, clk *clock) {
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 40 {
					aor := fmt.Sprintf("u%d@t", i%10)
					if _, err := s.Update(context.Background(), aor, "t", register(fmt.Sprintf("sip:%d", g), "c", uint32(i+1), time.Minute)); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if got := s.Counts()["t"]; got != 80 {
			t.Errorf("Counts[t] = %d, want 80 (10 AORs x 8 contacts)", got)
		}
	}},
}

func TestStoreConformance(t *testing.T) {
	srv := redistest.Start(t)
	cluster := redistest.StartCluster(t)
	stores := []struct {
		name string
		open func(t *testing.T, clk *clock) store
	}{
		{"memory", func(_ *testing.T, clk *clock) store { return location.NewMemory(clk.Now) }},
		{"redis", func(t *testing.T, clk *clock) store {
			return openRedis(t, srv.URL(), redisconn.Config{}, location.RedisOptions{Now: clk.Now})
		}},
		// Redis Cluster: a hash-tagged prefix keeps every key in one slot,
		// as redisconn.Client.KeyPrefix does in production.
		{"redis-cluster", func(t *testing.T, clk *clock) store {
			return openRedis(t, cluster.URL(), redisconn.Config{},
				location.RedisOptions{Now: clk.Now, Prefix: fmt.Sprintf("{t%d}:", prefixes.Add(1))})
		}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			for _, tc := range conformance {
				t.Run(tc.name, func(t *testing.T) {
					clk := newClock()
					tc.run(t, st.open(t, clk), clk)
				})
			}
		})
	}
}
