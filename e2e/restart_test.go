package e2e

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestClusterCallSurvivesRestart: a call set up through instance B (Redis
// store); B is killed and started again on the same port. The caller's BYE
// still reaches the callee through the new B, which writes the call's one
// CDR. A second call survives B's crash by being ended through A.
func TestClusterCallSurvivesRestart(t *testing.T) {
	t.Parallel()
	cl := newCluster(t)
	a := phoneOn(t, cl.b, "7001", "UDP", "7001", alice)
	b := phoneOn(t, cl.b, "7002", "UDP", "7002", bob)
	c := connect(t, a, alice, "7002", b)
	old := cl.b
	// The record is written in the background after the 2xx.
	waitUntil(t, 3*time.Second, "dialog record in Redis", func() bool {
		n, _ := cl.rdb.Exists(ctxTimeout(t, time.Second), "sb:dialog:"+c.callID()).Result()
		return n == 1
	})
	old.kill()
	cl.b = start(t, cl.options(portOf(old.Addr)))

	if res := c.bye(); res.StatusCode != 200 {
		t.Fatalf("BYE after the restart: %d %s, want 200 relayed from the callee", res.StatusCode, res.Reason)
	}
	b.waitRequest(sip.BYE, 1, 2*time.Second)
	if cdr := cl.b.waitCDR(t, c.callID(), 2*time.Second); cdr["result"] != "answered" || cdr["caller"] != "alice" || cdr["ended_by"] != "bye" {
		t.Errorf("CDR after the restart = %v, want answered alice bye", cdr)
	}
	for _, srv := range []*server{old, cl.a} {
		for _, m := range srv.cdrs() {
			if m["call_id"] == c.callID() {
				t.Errorf("a second CDR for the call: %v", m)
			}
		}
	}
	cl.b.waitMetric(t, callsActive, 0, 2*time.Second)
	if n, _ := cl.rdb.Exists(ctxTimeout(t, time.Second), "sb:dialog:"+c.callID()).Result(); n != 0 {
		t.Errorf("dialog record still in Redis after the BYE")
	}

	// Another instance: B crashes for good, the callee's BYE goes to A.
	a.register("7001", alice)
	b.register("7002", bob)
	c2 := connect(t, a, alice, "7002", b)
	waitUntil(t, 3*time.Second, "dialog record in Redis", func() bool {
		n, _ := cl.rdb.Exists(ctxTimeout(t, time.Second), "sb:dialog:"+c2.callID()).Result()
		return n == 1
	})
	cl.b.kill()
	bye := b.calleeRequest(c2.callID(), sip.BYE)
	bye.RemoveHeader("Route")
	bye.SetDestination(cl.a.Addr)
	if res := b.do(bye); res.StatusCode != 200 {
		t.Fatalf("BYE through A: %d %s, want 200 from the caller", res.StatusCode, res.Reason)
	}
	a.waitRequest(sip.BYE, 1, 2*time.Second)
	cl.a.waitCDR(t, c2.callID(), 2*time.Second)
}
