package security

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/internal/redisconn"
	"github.com/switchboard/switchboard/internal/redistest"
)

func testCounters(t *testing.T, a, b *CallCounter) {
	t.Helper()
	ctx := context.Background()
	if !a.Acquire(ctx, "acme", "c1", 2) || !b.Acquire(ctx, "acme", "c2", 2) {
		t.Fatal("first two slots refused")
	}
	if b.Acquire(ctx, "acme", "c3", 2) || a.Acquire(ctx, "acme", "c3", 2) {
		t.Error("third slot granted with concurrent_calls 2")
	}
	if !a.Acquire(ctx, "acme", "c1", 2) {
		t.Error("a call's own slot refused when taken again")
	}
	if !a.Acquire(ctx, "other", "c9", 1) {
		t.Error("another tenant's slot refused")
	}
	a.Release(ctx, "acme", "c1")
	if !b.Acquire(ctx, "acme", "c3", 2) {
		t.Error("slot not free after Release")
	}
	for i := 1; i <= 3; i++ {
		g := a
		if i == 2 {
			g = b
		}
		if n := g.CountOutbound(ctx, "acme", "7001"); n != i {
			t.Errorf("CountOutbound #%d = %d, want %d", i, n, i)
		}
	}
	if n := a.CountOutbound(ctx, "acme", "7002"); n != 1 {
		t.Errorf("another user's count = %d, want 1", n)
	}
}

func TestCallCounterMemory(t *testing.T) {
	c := NewCallCounter(nil, "", 0, nil)
	testCounters(t, c, c)
	clk := &clock{t: time.Now()}
	c.now = clk.now
	clk.add(time.Minute)
	if n := c.CountOutbound(context.Background(), "acme", "7001"); n != 1 {
		t.Errorf("count in the next minute = %d, want 1", n)
	}
	clk.add(13 * time.Hour)
	if !c.Acquire(context.Background(), "acme", "c4", 2) || !c.Acquire(context.Background(), "acme", "c5", 2) {
		t.Error("slots of calls never released did not expire after max age")
	}
}

func TestCallCounterRedisSharedByInstances(t *testing.T) {
	srv := redistest.Start(t)
	open := func() *CallCounter {
		rdb, err := redisconn.Open(redisconn.Config{URL: srv.URL()}, prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rdb.Close() })
		return NewCallCounter(rdb, rdb.KeyPrefix(), 0, nil)
	}
	testCounters(t, open(), open())
}
