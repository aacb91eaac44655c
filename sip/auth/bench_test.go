package auth

import (
	"testing"
)

// benchmarkVerify verifies distinct nonces with nc=1, as a REGISTER storm
// would. Every batch it swaps in an empty replay cache (untimed) so the
// headers can be reused; map growth stays in the measurement.
func benchmarkVerify(b *testing.B, alg Algorithm) {
	a, _ := newTestAuth(b, alg)
	const batch = 4096
	p := defaultPhone()
	reqs := make([]Request, batch)
	for i := range reqs {
		ch := parseChallenge(b, a.Challenges(testRealm, false)[0])
		reqs[i] = Request{Method: p.method, URI: p.uri, Realm: testRealm, Header: p.answer(ch)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%batch == 0 && i > 0 {
			b.StopTimer()
			a.seen = newReplayCache(a.ttl, DefaultMaxNonces)
			b.StartTimer()
		}
		if _, err := a.Verify(reqs[i%batch], testDirectory); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyMD5(b *testing.B)    { benchmarkVerify(b, MD5) }
func BenchmarkVerifySHA256(b *testing.B) { benchmarkVerify(b, SHA256) }

func BenchmarkChallenges(b *testing.B) {
	for _, algs := range [][]Algorithm{{MD5}, {SHA256, MD5}} {
		name := string(algs[0])
		if len(algs) > 1 {
			name = "SHA-256+MD5"
		}
		b.Run(name, func(b *testing.B) {
			a, _ := newTestAuth(b, algs...)
			b.ReportAllocs()
			for b.Loop() {
				a.Challenges(testRealm, false)
			}
		})
	}
}

// BenchmarkParseCredentials isolates the header parser.
func BenchmarkParseCredentials(b *testing.B) {
	a, _ := newTestAuth(b)
	h := defaultPhone().answer(parseChallenge(b, a.Challenges(testRealm, false)[0]))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseCredentials(h); err != nil {
			b.Fatal(err)
		}
	}
}
