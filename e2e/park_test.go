package e2e

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// referredByBob is what carol's phone sends after bob blind-transferred
// her to *70 (the REFER relayed in dialog, as in transfer_test.go).
var referredByBob = sip.NewHeader("Referred-By", "<sip:7002@"+domain+">")

// TestParkAndRetrieve: carol is parked on 701 by bob's transfer and hears
// the slot's digits from switchboard; alice dials 701 and talks to her;
// the slot is free again afterwards (a second 701 gets 404).
func TestParkAndRetrieve(t *testing.T) {
	t.Parallel()
	e := newB2BEnv(t)
	bobPhone := e.phone(t, bob, fillBob, answer{Ring: true})
	carolPhone := e.phone(t, carol, fillCarol, answer{Ring: true})
	alicePhone := e.phone(t, alice, fillAlice, answer{Ring: true})

	carolPhone.callAs("*70", carol, referredByBob)
	carolPhone.waitFinal(200, 5*time.Second)
	waitUntil(t, 5*time.Second, "carol hears the slot announcement", func() bool { return carolPhone.received(0) >= 25 })

	alicePhone.callAs("701", alice)
	alicePhone.waitFinal(200, 5*time.Second)
	wantBridged(t, carolPhone, alicePhone)

	bobPhone.callAs("701", bob)
	bobPhone.waitFinal(404, 5*time.Second)

	alicePhone.bye()
	carolPhone.waitRequest(sip.BYE, 5*time.Second)
	e.wantIdle(t, nil)
}

// TestParkTimeoutRingsParker: with sip.park.timeout 2s nobody retrieves
// carol, so switchboard calls bob (who parked her) back and bridges them.
func TestParkTimeoutRingsParker(t *testing.T) {
	t.Parallel()
	e := newB2BEnvWith(t, options{Directory: b2bDirectory, SIP: "  park:\n    timeout: 2s\n"})
	bobPhone := e.phone(t, bob, fillBob, answer{Ring: true, Code: 200, After: 200 * time.Millisecond})
	carolPhone := e.phone(t, carol, fillCarol, answer{Ring: true})

	carolPhone.callAs("*70", carol, referredByBob)
	carolPhone.waitFinal(200, 5*time.Second)
	start := time.Now()
	bobPhone.waitRequest(sip.INVITE, 8*time.Second)
	if d := time.Since(start); d < time.Second {
		t.Errorf("parker rung back after %s, want the 2s timeout", d)
	}
	wantBridged(t, carolPhone, bobPhone)

	carolPhone.bye()
	bobPhone.waitRequest(sip.BYE, 5*time.Second)
	e.wantIdle(t, nil)
}
