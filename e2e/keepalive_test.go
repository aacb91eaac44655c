package e2e

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestKeepaliveDropsDeadContact: bob has a desk phone and a softphone on
// UDP; with sip.keepalive 5s both get OPTIONS, the softphone stops
// answering, and after two missed probes it is unregistered: a call to
// bob rings only the desk phone, long before the binding's 300 s expiry.
func TestKeepaliveDropsDeadContact(t *testing.T) {
	t.Parallel()
	carrier := newPeer(t, nil, "carrier", "127.0.0.2", "UDP")
	srv := start(t, options{Directory: callDirectory, Trunk: carrier.addr, Keepalive: "5s"})
	carrier.srv = srv
	a := phoneOn(t, srv, "7001", "UDP", "7001", alice)
	desk := phoneOn(t, srv, "7002-desk", "UDP", "7002", bob)
	soft := phoneOn(t, srv, "7002-soft", "UDP", "7002", bob)

	soft.waitRequest(sip.OPTIONS, 1, 10*time.Second) // it answers the first
	soft.mute.Store(true)
	srv.waitMetric(t, "switchboard_keepalive_dropped_total", 1, 30*time.Second)
	if n := len(desk.requests(sip.OPTIONS)); n < 2 {
		t.Errorf("desk phone got %d keepalives, want at least 2", n)
	}
	srv.waitMetric(t, `switchboard_registrations_active{tenant="acme.example"}`, 2, 2*time.Second) // alice and bob's desk

	c := connect(t, a, alice, "7002", desk)
	if n := invited(soft); n != 0 {
		t.Errorf("dead softphone got %d INVITEs, want none", n)
	}
	hangUp(t, c, desk)
}
