package location_test

import (
	"testing"

	"github.com/switchboard/switchboard/internal/redisconn"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/location"
)

// A restarted instance reads the flows from Redis itself, not from the
// writer's in-process mirror: the flow identity must be in the stored form.
func TestRedisKeepsOutboundFlows(t *testing.T) {
	srv := redistest.Start(t)
	a := openRedis(t, srv.URL(), redisconn.Config{}, location.RedisOptions{Prefix: "ob:"})
	update(t, a, "john@acme", "acme", outboundFlow("192.0.2.1:4001", 1))
	update(t, a, "john@acme", "acme", outboundFlow("192.0.2.1:4002", 2))
	b := openRedis(t, srv.URL(), redisconn.Config{}, location.RedisOptions{Prefix: "ob:"})
	got := lookup(t, b, "john@acme")
	if len(got) != 2 {
		t.Fatalf("Lookup on a restarted instance = %+v, want two flows", got)
	}
	for i, b := range got {
		if b.RegID != uint32(i+1) || b.SIPInstance != outboundInstance || b.Contact != "sip:a@192.0.2.1;transport=tcp" {
			t.Errorf("flow %d = %+v, want reg-id %d of %s with the plain contact", i, b, i+1, outboundInstance)
		}
	}
	// The restarted instance replaces reg-id 1 without reading a mirror.
	update(t, b, "john@acme", "acme", outboundFlow("192.0.2.1:4009", 1))
	if got := lookup(t, b, "john@acme"); len(got) != 2 || got[0].Source != "192.0.2.1:4009" {
		t.Errorf("after replacing reg-id 1 on the restarted instance: %+v", got)
	}
}
