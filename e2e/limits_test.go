package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// limitsDirectory is the call directory with toll-fraud limits and a user
// whose forward goes to a premium number.
var limitsDirectory = strings.Replace(callDirectory, `    main_number: "+14155550100"
    users:`, `    main_number: "+14155550100"
    limits:
      concurrent_calls: 1
      outbound_per_minute: 3
      allow_countries: ["33"]
      deny_prefixes: ["+1900"]
    users:
      - id: hank
        name: Hank Hijacked
        extensions: ["7008"]
        password: hank7008
        forward: {number: "+19005550008", when: always}`, 1)

// wantLimit places a call and wants 403 with the limit's Reason.
func wantLimit(t *testing.T, p *peer, u user, dialled, limit string) {
	t.Helper()
	res := p.call(dialled, callOpts{As: &u}).waitStatus(403, 5*time.Second)
	if got := header(res, "Reason"); got != `SIP;cause=403;text="limit: `+limit+`"` {
		t.Errorf("call to %s: Reason %q, want limit: %s", dialled, got, limit)
	}
}

// TestCallLimits: international, denied prefix, a forward to a premium
// number, the concurrent-call slot and the per-minute count, each refused
// 403 with its Reason and counted; emergency calls pass all of them.
func TestCallLimits(t *testing.T) {
	t.Parallel()
	carrier := newPeer(t, nil, "carrier", "127.0.0.2", "UDP")
	srv := start(t, options{Directory: limitsDirectory, Trunk: carrier.addr})
	carrier.srv = srv
	env := &callEnv{srv: srv, carrier: carrier}
	a := env.phone(t, "7001", "UDP", "7001", alice)
	b := env.phone(t, "7002", "UDP", "7002", bob)

	wantLimit(t, a, alice, "+442079460000", "international")
	wantLimit(t, a, alice, "+19005551234", "denied_prefix")
	wantLimit(t, b, bob, "7008", "denied_prefix") // hank's forward: a hijacked forward to a premium number
	byes := 0
	hangUp := func(c *outCall) {
		t.Helper()
		if res := c.bye(); res.StatusCode != 200 {
			t.Fatalf("BYE: %d", res.StatusCode)
		}
		byes++
		carrier.waitRequest(sip.BYE, byes, 3*time.Second)
	}

	// The per-minute count must not straddle a minute boundary.
	if s := time.Now().Second(); s > 40 {
		time.Sleep(time.Duration(61-s) * time.Second)
	}
	first := connect(t, a, alice, "+33142685300", carrier) // an allowed country; holds the one slot
	wantLimit(t, b, bob, "+14085551235", "concurrent_calls")
	emergency := connect(t, b, bob, "911", carrier) // emergency: no slot, no count
	hangUp(emergency)
	hangUp(first)
	for _, n := range []string{"+14085551236", "+14085551237"} { // alice's 2nd and 3rd this minute
		hangUp(connect(t, a, alice, n, carrier))
	}
	wantLimit(t, a, alice, "+14085551238", "outbound_per_minute")
	hangUp(connect(t, b, bob, "+14085551239", carrier)) // bob has his own count

	srv.wantMetrics(t, map[string]float64{
		`switchboard_calls_refused_total{reason="international"}`:       1,
		`switchboard_calls_refused_total{reason="denied_prefix"}`:       2,
		`switchboard_calls_refused_total{reason="concurrent_calls"}`:    1,
		`switchboard_calls_refused_total{reason="outbound_per_minute"}`: 1,
		callsActive: 0,
	}, 5*time.Second)
}
