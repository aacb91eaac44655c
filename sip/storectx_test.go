package sip

import (
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/redisconn"
	"github.com/switchboard/switchboard/location"
)

// TestStoreContext: a REGISTER's store work has no timer with the
// in-process stores, which never wait, and keeps requestTimeout with a
// store that can (Redis).
func TestStoreContext(t *testing.T) {
	s, _, _ := newTestServer(t)
	ctx, cancel := s.storeContext()
	if d, ok := ctx.Deadline(); ok {
		t.Errorf("in-process stores: deadline %v, want none", d)
	}
	cancel()

	// go-redis dials lazily: nothing listens there, nothing is dialled.
	c, err := redisconn.Open(redisconn.Config{URL: "redis://127.0.0.1:1/0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s.loc = location.NewRedis(c, location.RedisOptions{Prefix: "storectx:"})
	ctx, cancel = s.storeContext()
	defer cancel()
	d, ok := ctx.Deadline()
	if left := time.Until(d); !ok || left <= 0 || left > requestTimeout {
		t.Errorf("Redis location store: deadline %v (set %v), want within %v", d, ok, requestTimeout)
	}
}
