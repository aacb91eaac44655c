package sip

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sip/auth"
)

// TestRegisterStaleNonce drives the registrar with a nonce older than its
// 300 s lifetime: the answer is a fresh 401 with stale=true, so the phone
// retries without asking its user for the password. The server's clock
// cannot be shifted end to end, so the authenticator is swapped for one
// with a settable clock.
func TestRegisterStaleNonce(t *testing.T) {
	s, reg, _ := newTestServer(t)
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	a, err := auth.New(auth.Config{Now: func() time.Time { return time.Unix(0, now.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	s.auth = a
	chal := challenge(t, s)
	now.Add(int64(auth.MaxNonceTTL + time.Second))

	tx := newFakeTx()
	s.handle(parseRequest(t, registerBytes(2, "s1", credentials(t, chal, "alice7001", 1))), tx)
	if tx.res == nil || tx.res.StatusCode != 401 {
		t.Fatalf("REGISTER with a stale nonce: %v, want 401", tx.res)
	}
	h := tx.res.GetHeader("WWW-Authenticate")
	if h == nil {
		t.Fatal("401 without a challenge")
	}
	fresh, err := parseChallengeHeader(h.Value())
	if err != nil || !fresh.Stale || fresh.Nonce == chal.Nonce {
		t.Errorf("challenge %q: want stale=true and a new nonce", h.Value())
	}
	mfs, _ := reg.Gather()
	found := false
	for _, mf := range mfs {
		if mf.GetName() != "switchboard_auth_failures_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == "stale" && m.GetCounter().GetValue() == 1 {
				found = true
			}
		}
	}
	if !found {
		t.Error(`switchboard_auth_failures_total{reason="stale"} != 1`)
	}

	// The wrong password with a stale nonce is a plain re-challenge: stale
	// is only told to someone who knows the password.
	tx = newFakeTx()
	s.handle(parseRequest(t, registerBytes(3, "s2", credentials(t, chal, "wrong", 2))), tx)
	if c, err := parseChallengeHeader(tx.res.GetHeader("WWW-Authenticate").Value()); err != nil || c.Stale {
		t.Errorf("wrong password with a stale nonce: challenge stale = %v, want false", c)
	}
}
