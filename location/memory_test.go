package location

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func add(contact string, ttl time.Duration) UpdateFunc {
	return func(now time.Time, cur []Binding) ([]Binding, error) {
		out := append([]Binding(nil), cur...)
		for i := range out {
			if out[i].Contact == contact {
				out[i].Expires = now.Add(ttl)
				return out, nil
			}
		}
		return append(out, Binding{Contact: contact, Expires: now.Add(ttl)}), nil
	}
}

func contacts(bs []Binding) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Contact)
	}
	return out
}

func TestMemoryExpiry(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Unix(1000, 0)}
	m := NewMemory(clk.Now)

	if _, err := m.Update(ctx, "john@acme", "acme", add("sip:a@1", 60*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Update(ctx, "john@acme", "acme", add("sip:b@2", 120*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := contacts(must(m.Lookup(ctx, "john@acme"))); fmt.Sprint(got) != "[sip:a@1 sip:b@2]" {
		t.Fatalf("Lookup = %v, want both contacts", got)
	}
	if got := m.Counts()["acme"]; got != 2 {
		t.Fatalf("Counts[acme] = %d, want 2", got)
	}

	clk.Advance(60 * time.Second) // a expires exactly now
	if got := contacts(must(m.Lookup(ctx, "john@acme"))); fmt.Sprint(got) != "[sip:b@2]" {
		t.Fatalf("Lookup after 60s = %v, want [sip:b@2]", got)
	}
	if n := m.Sweep(); n != 1 {
		t.Fatalf("Sweep removed %d, want 1", n)
	}
	if got := m.Counts()["acme"]; got != 1 {
		t.Fatalf("Counts[acme] after sweep = %d, want 1", got)
	}

	// A refresh moves the expiry; the heap must follow it.
	if _, err := m.Update(ctx, "john@acme", "acme", add("sip:b@2", 300*time.Second)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(100 * time.Second)
	if n := m.Sweep(); n != 0 {
		t.Fatalf("Sweep after refresh removed %d, want 0", n)
	}
	clk.Advance(200 * time.Second)
	if n := m.Sweep(); n != 1 {
		t.Fatalf("final Sweep removed %d, want 1", n)
	}
	if got := m.Counts(); len(got) != 0 {
		t.Fatalf("Counts = %v, want empty", got)
	}
	if got := must(m.Lookup(ctx, "john@acme")); len(got) != 0 {
		t.Fatalf("Lookup = %v, want none", got)
	}
	if len(m.shard("john@acme").records) != 0 {
		t.Fatal("record kept after its last binding expired")
	}
}

func TestMemoryUpdateErrorLeavesBindings(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(nil)
	if _, err := m.Update(ctx, "a@t", "t", add("sip:x", time.Minute)); err != nil {
		t.Fatal(err)
	}
	_, err := m.Update(ctx, "a@t", "t", func(time.Time, []Binding) ([]Binding, error) { return nil, ErrStale })
	if err != ErrStale {
		t.Fatalf("Update error = %v, want ErrStale", err)
	}
	if got := contacts(must(m.Lookup(ctx, "a@t"))); fmt.Sprint(got) != "[sip:x]" {
		t.Fatalf("Lookup = %v, want [sip:x] untouched", got)
	}
}

func TestMemoryRemoveAll(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(nil)
	for _, c := range []string{"sip:1", "sip:2"} {
		if _, err := m.Update(ctx, "a@t", "t", add(c, time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := m.Update(ctx, "a@t", "t", func(time.Time, []Binding) ([]Binding, error) { return nil, nil })
	if err != nil || len(got) != 0 {
		t.Fatalf("Update(remove all) = %v, %v; want none", got, err)
	}
	if c := m.Counts()["t"]; c != 0 {
		t.Fatalf("Counts[t] = %d, want 0", c)
	}
}

func TestMemoryConcurrent(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(nil)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				aor := fmt.Sprintf("u%d@t", i%50)
				if _, err := m.Update(ctx, aor, "t", add(fmt.Sprintf("sip:%d", g), time.Minute)); err != nil {
					t.Error(err)
					return
				}
				_, _ = m.Lookup(ctx, aor)
			}
			m.Sweep()
		}()
	}
	wg.Wait()
	if got := m.Counts()["t"]; got != 50*8 {
		t.Fatalf("Counts[t] = %d, want %d", got, 50*8)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func BenchmarkMemoryRefresh(b *testing.B) {
	ctx := context.Background()
	m := NewMemory(nil)
	aors := make([]string, 10000)
	for i := range aors {
		aors[i] = fmt.Sprintf("u%d@t", i)
	}
	fn := add("sip:phone", time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Update(ctx, aors[i%len(aors)], "t", fn); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoryLookup(b *testing.B) {
	ctx := context.Background()
	m := NewMemory(nil)
	if _, err := m.Update(ctx, "john@acme", "acme", add("sip:phone", time.Hour)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if bs, _ := m.Lookup(ctx, "john@acme"); len(bs) != 1 {
			b.Fatal("lost binding")
		}
	}
}

func TestMemoryAll(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Unix(1000, 0)}
	m := NewMemory(clk.Now)
	reg := func(aor, tenant, contact string, ttl time.Duration) {
		t.Helper()
		_, err := m.Update(ctx, aor, tenant, func(now time.Time, cur []Binding) ([]Binding, error) {
			return append(append([]Binding(nil), cur...), Binding{AOR: aor, Tenant: tenant, Contact: contact, Expires: now.Add(ttl)}), nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	reg("john@acme", "acme", "sip:j2@2", time.Hour)
	reg("john@acme", "acme", "sip:j1@1", time.Minute)
	reg("alice@acme", "acme", "sip:a@1", time.Hour)
	reg("zed@globex", "globex", "sip:z@1", time.Hour)

	if got := contacts(m.All("acme")); fmt.Sprint(got) != "[sip:a@1 sip:j1@1 sip:j2@2]" {
		t.Errorf("All(acme) = %v, want alice's then john's contacts, sorted", got)
	}
	if got := len(m.All("")); got != 4 {
		t.Errorf("len(All(\"\")) = %d, want 4", got)
	}
	clk.Advance(2 * time.Minute)
	if got := contacts(m.All("acme")); fmt.Sprint(got) != "[sip:a@1 sip:j2@2]" {
		t.Errorf("All(acme) after expiry = %v, want the expired contact gone", got)
	}
	if got := m.All("nope"); len(got) != 0 {
		t.Errorf("All(nope) = %v, want none", got)
	}
}
