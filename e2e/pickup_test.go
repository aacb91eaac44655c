package e2e

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestPickupGroupMember: carol calls bob, whose phone rings; alice, bob's
// colleague in the sales group, dials *8. Bob's phone gets CANCEL, carol
// and alice are answered by switchboard and hear each other through its
// bridge; alice's BYE hangs carol up. Ports and calls end where they began.
func TestPickupGroupMember(t *testing.T) {
	t.Parallel()
	e := newB2BEnv(t)
	bobPhone := e.phone(t, bob, fillBob, answer{Ring: true}) // rings until cancelled
	carolPhone := e.phone(t, carol, fillCarol, answer{Ring: true})
	alicePhone := e.phone(t, alice, fillAlice, answer{Ring: true})

	carolPhone.callAs("7002", carol)
	bobPhone.waitRequest(sip.INVITE, 5*time.Second)
	waitUntil(t, 5*time.Second, "carol hears ringing", func() bool { return hasStatus(carolPhone, 180) })

	alicePhone.callAs("*8", alice)
	alicePhone.waitFinal(200, 5*time.Second)
	carolPhone.waitFinal(200, 5*time.Second)
	bobPhone.waitRequest(sip.CANCEL, 5*time.Second)
	wantBridged(t, carolPhone, alicePhone)

	alicePhone.bye()
	carolPhone.waitRequest(sip.BYE, 5*time.Second)
	e.wantIdle(t, nil)
}

// TestPickupDirected: alice calls bob; carol, in no group with him, picks
// the call up with **7002. Then carol hangs up from the caller's side.
func TestPickupDirected(t *testing.T) {
	t.Parallel()
	e := newB2BEnv(t)
	bobPhone := e.phone(t, bob, fillBob, answer{Ring: true})
	alicePhone := e.phone(t, alice, fillAlice, answer{Ring: true})
	carolPhone := e.phone(t, carol, fillCarol, answer{Ring: true})

	alicePhone.callAs("7002", alice)
	bobPhone.waitRequest(sip.INVITE, 5*time.Second)
	waitUntil(t, 5*time.Second, "alice hears ringing", func() bool { return hasStatus(alicePhone, 180) })

	carolPhone.callAs("**7002", carol)
	carolPhone.waitFinal(200, 5*time.Second)
	alicePhone.waitFinal(200, 5*time.Second)
	bobPhone.waitRequest(sip.CANCEL, 5*time.Second)
	wantBridged(t, alicePhone, carolPhone)

	alicePhone.bye()
	carolPhone.waitRequest(sip.BYE, 5*time.Second)
	e.wantIdle(t, nil)
}

// TestPickupNothingRinging: *8 and **7002 with no call ringing are
// answered 404, and leave no port taken.
func TestPickupNothingRinging(t *testing.T) {
	t.Parallel()
	e := newB2BEnv(t)
	e.phone(t, bob, fillBob, answer{Ring: true})
	alicePhone := e.phone(t, alice, fillAlice, answer{Ring: true})
	carolPhone := e.phone(t, carol, fillCarol, answer{Ring: true})

	alicePhone.callAs("*8", alice)
	alicePhone.waitFinal(404, 5*time.Second)
	carolPhone.callAs("**7002", carol)
	carolPhone.waitFinal(404, 5*time.Second)
	e.wantIdle(t, nil)
}

// hasStatus reports whether the phone's current INVITE got a response
// with code.
func hasStatus(p *mediaPhone, code int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.resps {
		if r.StatusCode == code {
			return true
		}
	}
	return false
}
