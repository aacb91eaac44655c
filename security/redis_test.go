package security

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/internal/redisconn"
	"github.com/switchboard/switchboard/internal/redistest"
)

func redisGuard(t *testing.T, url string) *Guard {
	t.Helper()
	rdb, err := redisconn.Open(redisconn.Config{URL: url}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	g := New(DefaultConfig(), Options{Shared: NewRedisShared(rdb, rdb.KeyPrefix(), 0), Registerer: prometheus.NewRegistry()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); g.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return g
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSharedAcrossInstances: failures counted on two instances add up, a
// ban decided on one holds on the other, a lift on either lifts both, and
// an instance started later learns the bans already in force.
func TestSharedAcrossInstances(t *testing.T) {
	srv := redistest.Start(t)
	a, b := redisGuard(t, srv.URL()), redisGuard(t, srv.URL())
	ctx := context.Background()
	src := netip.MustParseAddr("127.0.0.6")
	for i := range 5 {
		g := a
		if i%2 == 1 {
			g = b
		}
		g.AuthFailed(ctx, src, "7001")
	}
	waitFor(t, "the pair ban on both instances", func() bool { return a.UserBanned(src, "7001") && b.UserBanned(src, "7001") })

	scanner := netip.MustParseAddr("127.0.0.7")
	for _, u := range []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"} {
		a.AuthFailed(ctx, scanner, u)
	}
	waitFor(t, "the IP ban on B", func() bool { return b.Inbound(scanner, nil) == DropBanned })

	c := redisGuard(t, srv.URL())
	waitFor(t, "a new instance to load the bans", func() bool { return c.Inbound(scanner, nil) == DropBanned && c.UserBanned(src, "7001") })

	if _, err := b.Lift(ctx, scanner); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lift on A and C", func() bool { return a.Inbound(scanner, nil) == Pass && c.Inbound(scanner, nil) == Pass })
	if !a.UserBanned(src, "7001") {
		t.Error("lifting one source lifted another's ban")
	}
	if bans := c.Bans(); len(bans) != 1 || bans[0].Source != src || bans[0].User != "7001" {
		t.Errorf("C.Bans() = %+v, want the one pair ban", bans)
	}
}

// TestSharedStoreDownFallsBack: with Redis gone, failures are counted
// locally and bans still happen.
func TestSharedStoreDownFallsBack(t *testing.T) {
	srv := redistest.Start(t)
	a := redisGuard(t, srv.URL())
	srv.Kill()
	src := netip.MustParseAddr("127.0.0.8")
	for range 5 {
		a.AuthFailed(context.Background(), src, "7001")
	}
	if !a.UserBanned(src, "7001") {
		t.Error("no ban while Redis is down")
	}
}
