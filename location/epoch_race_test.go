package location_test

import (
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/redisconn"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/location"
)

// TestRedisFirstUpdateRacesEpoch: a store's first update runs while Run's
// first reconcile creates the epoch key. The update read the (still
// missing) epoch key before Run learned the new one, and then compared the
// stale read against it: a healthy Redis looked like one that had lost its
// data, and the update went to the in-memory mirror instead of Redis (seen
// as Counts = map[acme:1 beta:1] in the conformance suite). Every update to
// a healthy Redis must land in Redis.
func TestRedisFirstUpdateRacesEpoch(t *testing.T) {
	srv := redistest.Start(t)
	for i := range 100 {
		s := openRedis(t, srv.URL(), redisconn.Config{}, location.RedisOptions{})
		update(t, s, "a@acme", "acme", register("sip:1", "c", 1, time.Hour))
		if n := s.Pending(); n != 0 {
			t.Fatalf("round %d: %d AORs kept in memory after an update to a healthy Redis, want 0", i, n)
		}
	}
}
