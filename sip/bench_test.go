package sip

import (
	"fmt"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// BenchmarkParseRegister is sipgo's parser on an authenticated REGISTER.
func BenchmarkParseRegister(b *testing.B) {
	raw := registerBytes(2, "p1", `Digest username="7001", realm="acme.example", nonce="AAAAAGZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY", uri="sip:acme.example", response="0123456789abcdef0123456789abcdef", algorithm=MD5, qop=auth, nc=00000001, cnonce="abcdef"`)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := sip.ParseMessage(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRegister is the REGISTER hot path after parsing: sanity checks,
// tenant lookup, digest verification (with a fresh nonce count each time, as
// a phone refreshing sends), the location write and the 200 with its
// bindings. sipgo's transaction layer and the socket are left out.
func BenchmarkRegister(b *testing.B) {
	s, _, _ := newTestServer(b)
	chal := challenge(b, s)
	// Requests are prepared outside the timer: each needs its own nc.
	const batch = 1 << 14
	reqs := make([]*sip.Request, 0, batch)
	prepare := func(from int) {
		reqs = reqs[:0]
		for i := range batch {
			n := from + i
			reqs = append(reqs, parseRequest(b, registerBytes(n+2, fmt.Sprint("b", n), credentials(b, chal, "alice7001", n+1))))
		}
	}
	b.ReportAllocs()
	n := 0
	b.StopTimer()
	prepare(0)
	b.StartTimer()
	for b.Loop() {
		if n%batch == 0 && n > 0 {
			b.StopTimer()
			prepare(n)
			b.StartTimer()
		}
		tx := newFakeTx()
		s.handle(reqs[n%batch], tx)
		if tx.res.StatusCode != 200 {
			b.Fatalf("REGISTER %d: %d %s", n, tx.res.StatusCode, tx.res.Reason)
		}
		n++
	}
}
