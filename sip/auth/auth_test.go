package auth

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/icholy/digest"
	"github.com/switchboard/switchboard/dialplan"
)

func TestResponseVectors(t *testing.T) {
	tests := []struct {
		name                                string
		alg                                 Algorithm
		user, realm, pass                   string
		method, uri, nonce, nc, cnonce, qop string
		want                                string
	}{
		{
			name: "RFC 2617 3.5 MD5", alg: MD5,
			user: "Mufasa", realm: "testrealm@host.com", pass: "Circle Of Life",
			method: "GET", uri: "/dir/index.html", nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
			nc: "00000001", cnonce: "0a4f113b", qop: "auth",
			want: "6629fae49393a05397450978507c4ef1",
		},
		{
			name: "RFC 7616 3.9.1 SHA-256", alg: SHA256,
			user: "Mufasa", realm: "http-auth@example.org", pass: "Circle of Life",
			method: "GET", uri: "/dir/index.html", nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
			nc: "00000001", cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop: "auth",
			want: "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
		},
		{
			// RFC 7616 3.9.1 also gives the MD5 answer to the same challenge.
			name: "RFC 7616 3.9.1 MD5", alg: MD5,
			user: "Mufasa", realm: "http-auth@example.org", pass: "Circle of Life",
			method: "GET", uri: "/dir/index.html", nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
			nc: "00000001", cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop: "auth",
			want: "8ca523f5e9506fed4657c9700eebdbec",
		},
		{
			// No qop: H(HA1:nonce:HA2), the formula of RFC 2069 §2.1.2.
			name: "RFC 2069 no qop", alg: MD5,
			user: "Mufasa", realm: "testrealm@host.com", pass: "Circle Of Life",
			method: "GET", uri: "/dir/index.html", nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
			want: md5hex(ha1(MD5, "Mufasa", "testrealm@host.com", "Circle Of Life") +
				":dcd98b7102dd2f0e8b11d0f600bfb0c093:" + md5hex("GET:/dir/index.html")),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h1 := ha1(tt.alg, tt.user, tt.realm, tt.pass)
			got := response(tt.alg, h1, tt.method, tt.uri, tt.nonce, tt.nc, tt.cnonce, tt.qop)
			if got != tt.want {
				t.Errorf("response(%s) = %s, want %s", tt.alg, got, tt.want)
			}
			// Directories may hold uppercase hex; the hex text is hashed, so it
			// must be normalised.
			if got := response(tt.alg, strings.ToUpper(h1), tt.method, tt.uri, tt.nonce, tt.nc, tt.cnonce, tt.qop); got != tt.want {
				t.Errorf("response(%s, uppercase HA1) = %s, want %s", tt.alg, got, tt.want)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	for _, alg := range []Algorithm{MD5, SHA256} {
		t.Run(string(alg), func(t *testing.T) {
			a, _ := newTestAuth(t, alg)
			chs := a.Challenges(testRealm, false)
			if len(chs) != 1 {
				t.Fatalf("Challenges() returned %d values, want 1", len(chs))
			}
			ch := parseChallenge(t, chs[0])
			if ch.algorithm != string(alg) || ch.qop != "auth" || ch.realm != testRealm || ch.stale {
				t.Fatalf("Challenges() = %q, want realm %s, algorithm %s, qop auth, not stale", chs[0], testRealm, alg)
			}
			p := defaultPhone()
			for _, user := range []string{"7001", "john"} {
				p.user, p.pass = user, map[string]string{"7001": "secret7001", "john": "hunter2"}[user]
				got, err := a.Verify(Request{Method: p.method, URI: p.uri, Realm: testRealm, Header: p.answer(ch)}, testDirectory)
				if err != nil || got != user {
					t.Errorf("Verify(%s) = %q, %v, want %q, nil", user, got, err, user)
				}
				p.nc++
			}
		})
	}
}

// TestRoundTripIcholy answers with github.com/icholy/digest, the client code
// sipgo's DoDigestAuth uses, so our challenges are known to work for it.
func TestRoundTripIcholy(t *testing.T) {
	for _, alg := range []Algorithm{MD5, SHA256} {
		t.Run(string(alg), func(t *testing.T) {
			a, _ := newTestAuth(t, alg)
			ch, err := digest.ParseChallenge(a.Challenges(testRealm, false)[0])
			if err != nil {
				t.Fatalf("digest.ParseChallenge: %v", err)
			}
			for count := 1; count <= 3; count++ {
				cred, err := digest.Digest(ch, digest.Options{Method: "INVITE", URI: "sip:7002@acme.example", Username: "7001", Password: "secret7001", Count: count})
				if err != nil {
					t.Fatalf("digest.Digest: %v", err)
				}
				got, err := a.Verify(Request{Method: "INVITE", URI: "sip:7002@acme.example", Realm: testRealm, Header: cred.String()}, testDirectory)
				if err != nil || got != "7001" {
					t.Errorf("Verify(%q) = %q, %v, want 7001, nil", cred.String(), got, err)
				}
			}
		})
	}
}

func TestChallenges(t *testing.T) {
	tests := []struct {
		name  string
		algs  []Algorithm
		stale bool
		want  []string // algorithms, in order
	}{
		{name: "default is MD5", want: []string{"MD5"}},
		{name: "SHA-256 preferred", algs: []Algorithm{SHA256, MD5}, want: []string{"SHA-256", "MD5"}},
		{name: "MD5 preferred", algs: []Algorithm{MD5, SHA256}, want: []string{"MD5", "SHA-256"}},
		{name: "stale", algs: []Algorithm{SHA256, MD5}, stale: true, want: []string{"SHA-256", "MD5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := newTestAuth(t, tt.algs...)
			chs := a.Challenges(testRealm, tt.stale)
			if len(chs) != len(tt.want) {
				t.Fatalf("Challenges() = %q, want %d values", chs, len(tt.want))
			}
			nonces := map[string]bool{}
			for i, h := range chs {
				ch := parseChallenge(t, h)
				if ch.algorithm != tt.want[i] || ch.realm != testRealm || ch.qop != "auth" || ch.stale != tt.stale {
					t.Errorf("Challenges()[%d] = %q, want algorithm %s, stale %v", i, h, tt.want[i], tt.stale)
				}
				if _, ok := a.checkNonce(a.pool.New().(*scratch), ch.nonce, testRealm); !ok {
					t.Errorf("Challenges()[%d] nonce %q does not check", i, ch.nonce)
				}
				nonces[ch.nonce] = true
			}
			if len(nonces) != len(chs) {
				t.Errorf("Challenges() = %q, want a distinct nonce per value", chs)
			}
		})
	}
	t.Run("realm is quoted", func(t *testing.T) {
		a, _ := newTestAuth(t)
		h := a.Challenges(`odd "realm\`, false)[0]
		if ch := parseChallenge(t, h); ch.realm != `odd "realm\` {
			t.Errorf("Challenges(odd realm) = %q, parsed realm %q", h, ch.realm)
		}
	})
}

// withHeader edits a valid credentials header with a replacer.
func withHeader(h string, oldnew ...string) string { return strings.NewReplacer(oldnew...).Replace(h) }

func TestVerifyErrors(t *testing.T) {
	a, _ := newTestAuth(t, MD5)
	aSHA, _ := newTestAuth(t, SHA256)
	nonce := fixedNonce(a, testEpoch, 1, testRealm)
	ch := challenge{realm: testRealm, nonce: nonce, algorithm: "MD5"}
	p := defaultPhone()
	good := p.answer(ch)
	req := Request{Method: p.method, URI: p.uri, Realm: testRealm, Header: good}

	other, _ := New(Config{Secret: []byte("another-secret-0123456789"), Now: func() time.Time { return testEpoch }})
	wrongPass := p
	wrongPass.pass = "guess"
	unknown := p
	unknown.user = "7999"
	sha := ch
	sha.algorithm = "SHA-256"
	md5Sess := good + `, algorithm=MD5-sess`
	md5Sess = strings.Replace(md5Sess, "algorithm=MD5, ", "", 1)
	flip := []byte(nonce)
	flip[len(flip)-2] ^= 1 // a bit of the HMAC

	tests := []struct {
		name string
		a    *Authenticator
		req  func(r Request) Request
		want error
	}{
		{"wrong password", a, func(r Request) Request { r.Header = wrongPass.answer(ch); return r }, ErrWrongPassword},
		{"unknown user", a, func(r Request) Request { r.Header = unknown.answer(ch); return r }, ErrUnknownUser},
		{"realm mismatch", a, func(r Request) Request { r.Realm = "other.example"; return r }, ErrRealm},
		{"realm differs in case", a, func(r Request) Request { r.Realm = "ACME.example"; return r }, ErrRealm},
		{"uri mismatch", a, func(r Request) Request { r.URI = "sip:other.example"; return r }, ErrURI},
		{"uri other user", a, func(r Request) Request { r.URI = "sip:7002@acme.example"; return r }, ErrURI},
		{"nonce from another realm", a, func(r Request) Request {
			c := ch
			c.nonce = fixedNonce(a, testEpoch, 1, "other.example")
			r.Header = p.answer(c)
			return r
		}, ErrBadNonce},
		{"nonce with forged HMAC", a, func(r Request) Request {
			c := ch
			c.nonce = string(flip)
			r.Header = p.answer(c)
			return r
		}, ErrBadNonce},
		{"nonce from another secret", a, func(r Request) Request {
			c := ch
			c.nonce = fixedNonce(other, testEpoch, 1, testRealm)
			r.Header = p.answer(c)
			return r
		}, ErrBadNonce},
		{"nonce garbage", a, func(r Request) Request {
			c := ch
			c.nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093"
			r.Header = p.answer(c)
			return r
		}, ErrBadNonce},
		{"nonce not base64", a, func(r Request) Request {
			c := ch
			c.nonce = strings.Repeat("!", len(nonce))
			r.Header = p.answer(c)
			return r
		}, ErrBadNonce},
		{"SHA-256 not offered", a, func(r Request) Request { r.Header = p.answer(sha); return r }, ErrUnsupportedAlgorithm},
		{"absent algorithm means MD5, not offered", aSHA, func(r Request) Request {
			c := ch
			c.nonce = fixedNonce(aSHA, testEpoch, 1, testRealm)
			r.Header = strings.Replace(p.answer(c), ", algorithm=MD5", "", 1)
			return r
		}, ErrUnsupportedAlgorithm},
		{"MD5-sess", a, func(r Request) Request { r.Header = md5Sess; return r }, ErrUnsupportedAlgorithm},
		{"unknown algorithm", a, func(r Request) Request {
			r.Header = withHeader(good, "algorithm=MD5", "algorithm=SHA-512-256")
			return r
		}, ErrUnsupportedAlgorithm},
		{"qop auth-int", a, func(r Request) Request { r.Header = withHeader(good, "qop=auth", "qop=auth-int"); return r }, ErrUnsupportedQOP},
		{"nc missing", a, func(r Request) Request { r.Header = withHeader(good, ", nc=00000001", ""); return r }, ErrMalformed},
		{"nc zero", a, func(r Request) Request { r.Header = withHeader(good, "nc=00000001", "nc=00000000"); return r }, ErrMalformed},
		{"nc short", a, func(r Request) Request { r.Header = withHeader(good, "nc=00000001", "nc=1"); return r }, ErrMalformed},
		{"nc not hex", a, func(r Request) Request { r.Header = withHeader(good, "nc=00000001", "nc=0000000g"); return r }, ErrMalformed},
		{"cnonce missing", a, func(r Request) Request { r.Header = withHeader(good, `, cnonce="0a4f113b"`, ""); return r }, ErrMalformed},
		{"response too short", a, func(r Request) Request { r.Header = withHeader(good, `response="`, `response="0`); return r }, ErrMalformed},
		{"response SHA-256 length for MD5", a, func(r Request) Request {
			r.Header = withHeader(good, `response="`, `response="`+strings.Repeat("0", 32))
			return r
		}, ErrMalformed},
		{"not digest", a, func(r Request) Request { r.Header = "Basic dXNlcjpwYXNz"; return r }, ErrMalformed},
		{"empty", a, func(r Request) Request { r.Header = ""; return r }, ErrMalformed},
		{"username twice", a, func(r Request) Request { r.Header = good + `, username="john"`; return r }, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req(req)
			got, err := tt.a.Verify(r, testDirectory)
			if !errors.Is(err, tt.want) || got != "" {
				t.Errorf("Verify(%q) = %q, %v, want \"\", %v", r.Header, got, err, tt.want)
			}
		})
	}
	// Last, so the failures above are known not to have used up the nonce.
	t.Run("good", func(t *testing.T) {
		if got, err := a.Verify(req, testDirectory); err != nil || got != "7001" {
			t.Errorf("Verify(%q) = %q, %v, want 7001, nil", req.Header, got, err)
		}
	})
}

func TestUnknownUserLooksLikeWrongPassword(t *testing.T) {
	a, clk := newTestAuth(t, SHA256, MD5)
	ch := parseChallenge(t, a.Challenges(testRealm, false)[0])
	wrong, unknown := defaultPhone(), defaultPhone()
	wrong.pass = "guess"
	unknown.user = "7999"
	lookup := func(user string) (dialplan.Credential, bool) {
		if user == "7001" {
			return testDirectory(user)
		}
		return dialplan.Credential{}, false
	}
	check := func(t *testing.T, want error) {
		_, errWrong := a.Verify(Request{Method: "REGISTER", URI: "sip:acme.example", Realm: testRealm, Header: wrong.answer(ch)}, lookup)
		_, errUnknown := a.Verify(Request{Method: "REGISTER", URI: "sip:acme.example", Realm: testRealm, Header: unknown.answer(ch)}, lookup)
		if !errors.Is(errWrong, want) || !errors.Is(errUnknown, ErrUnknownUser) {
			t.Fatalf("Verify(wrong password, unknown user) = %v, %v, want %v, %v", errWrong, errUnknown, want, ErrUnknownUser)
		}
		// The caller re-challenges with stale=true only for ErrStale: neither
		// error may be one, so both get the same answer.
		if errors.Is(errWrong, ErrStale) || errors.Is(errUnknown, ErrStale) {
			t.Errorf("Verify errors %v, %v: want neither stale", errWrong, errUnknown)
		}
	}
	t.Run("fresh nonce", func(t *testing.T) { check(t, ErrWrongPassword) })
	t.Run("stale nonce", func(t *testing.T) {
		// stale=true would tell a guesser the password was right.
		clk.Add(time.Hour)
		check(t, ErrWrongPassword)
	})
	t.Run("same challenge format", func(t *testing.T) {
		mask := func(h string) string { return strings.Replace(h, parseChallenge(t, h).nonce, "NONCE", 1) }
		x, y := a.Challenges(testRealm, false), a.Challenges(testRealm, false)
		for i := range x {
			if mask(x[i]) != mask(y[i]) {
				t.Errorf("Challenges() = %q then %q, want the same format", x[i], y[i])
			}
		}
	})
	t.Run("credential unusable", func(t *testing.T) {
		creds := map[string]dialplan.Credential{
			"other-realm": {Username: "other-realm", Realm: "other.example", HA1MD5: ha1(MD5, "other-realm", testRealm, "pw")},
			"no-sha256":   {Username: "no-sha256", Realm: testRealm, HA1MD5: ha1(MD5, "no-sha256", testRealm, "pw")},
			"bad-hex":     {Username: "bad-hex", Realm: testRealm, HA1SHA256: strings.Repeat("z", 64)},
		}
		lookup := func(u string) (dialplan.Credential, bool) { c, ok := creds[u]; return c, ok }
		for _, tc := range []struct{ user, alg string }{{"other-realm", "MD5"}, {"no-sha256", "SHA-256"}, {"bad-hex", "SHA-256"}} {
			c := parseChallenge(t, a.Challenges(testRealm, false)[0])
			c.algorithm = tc.alg
			p := defaultPhone()
			p.user, p.pass = tc.user, "pw"
			if _, err := a.Verify(Request{Method: "REGISTER", URI: "sip:acme.example", Realm: testRealm, Header: p.answer(c)}, lookup); !errors.Is(err, ErrUnknownUser) {
				t.Errorf("Verify(%s, %s) = %v, want %v", tc.user, tc.alg, err, ErrUnknownUser)
			}
		}
	})
}

func TestStale(t *testing.T) {
	tests := []struct {
		name    string
		ttl     time.Duration
		elapsed time.Duration
		want    error
	}{
		{"fresh", 0, time.Second, nil},
		{"at the default TTL", 0, 300 * time.Second, nil},
		{"past the default TTL", 0, 300*time.Second + time.Nanosecond, ErrStale},
		{"past a short TTL", 30 * time.Second, 31 * time.Second, ErrStale},
		{"issued in the future beyond the TTL", 30 * time.Second, -31 * time.Second, ErrStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: testEpoch}
			a, err := New(Config{Secret: testSecret, Now: clk.Now, NonceTTL: tt.ttl})
			if err != nil {
				t.Fatal(err)
			}
			ch := parseChallenge(t, a.Challenges(testRealm, false)[0])
			clk.Add(tt.elapsed)
			p := defaultPhone()
			if _, err := a.Verify(Request{Method: p.method, URI: p.uri, Realm: testRealm, Header: p.answer(ch)}, testDirectory); !errors.Is(err, tt.want) {
				t.Errorf("Verify after %v = %v, want %v", tt.elapsed, err, tt.want)
			}
		})
	}
	t.Run("re-challenge carries stale=true", func(t *testing.T) {
		a, _ := newTestAuth(t, SHA256, MD5)
		for _, h := range a.Challenges(testRealm, true) {
			if !strings.Contains(h, ", stale=true") || !parseChallenge(t, h).stale {
				t.Errorf("Challenges(stale) = %q, want stale=true", h)
			}
			if ch, err := digest.ParseChallenge(h); err != nil || !ch.Stale {
				t.Errorf("digest.ParseChallenge(%q) = %+v, %v, want Stale", h, ch, err)
			}
		}
	})
}

func TestReplay(t *testing.T) {
	a, _ := newTestAuth(t)
	ch := parseChallenge(t, a.Challenges(testRealm, false)[0])
	steps := []struct {
		name   string
		nc     uint32
		pass   string
		noQOP  bool
		branch string
		want   error
	}{
		{name: "first", nc: 1, branch: "z9hG4bK1"},
		{name: "same nc", nc: 1, want: ErrReplay},
		{name: "same nc, another branch", nc: 1, branch: "z9hG4bK2", want: ErrReplay},
		{name: "same nc, same branch: a retransmission", nc: 1, branch: "z9hG4bK1"},
		{name: "wrong password with a high nc", nc: 0xffffffff, pass: "guess", want: ErrWrongPassword},
		{name: "skip ahead", nc: 3, branch: "z9hG4bK3"},
		{name: "lower nc, an earlier branch", nc: 1, branch: "z9hG4bK1", want: ErrReplay},
		{name: "lower nc", nc: 2, want: ErrReplay},
		{name: "next", nc: 4},
		{name: "next again without a branch", nc: 4, want: ErrReplay},
		{name: "no qop after qop", noQOP: true, want: ErrReplay},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			p := defaultPhone()
			p.nc, p.noQOP = s.nc, s.noQOP
			if s.pass != "" {
				p.pass = s.pass
			}
			if _, err := a.Verify(Request{Method: p.method, URI: p.uri, Realm: testRealm, Header: p.answer(ch), Branch: s.branch}, testDirectory); !errors.Is(err, s.want) {
				t.Errorf("Verify(nc=%d) = %v, want %v", s.nc, err, s.want)
			}
		})
	}
	t.Run("no qop is single use", func(t *testing.T) {
		ch := parseChallenge(t, a.Challenges(testRealm, false)[0])
		p := defaultPhone()
		p.noQOP = true
		r := Request{Method: p.method, URI: p.uri, Realm: testRealm, Header: p.answer(ch)}
		if _, err := a.Verify(r, testDirectory); err != nil {
			t.Errorf("Verify(no qop, first) = %v, want nil", err)
		}
		if _, err := a.Verify(r, testDirectory); !errors.Is(err, ErrReplay) {
			t.Errorf("Verify(no qop, again) = %v, want %v", err, ErrReplay)
		}
	})
}

func TestReplayCache(t *testing.T) {
	const ttl = 10 * time.Second
	key := func(i int) []byte {
		k := make([]byte, nonceKeyLen)
		k[8], k[9], k[10] = 0, byte(i), byte(i>>8) // all in shard 0
		return k
	}
	t.Run("history outlives the nonce", func(t *testing.T) {
		c := newReplayCache(ttl, DefaultMaxNonces)
		issued := testEpoch
		for _, step := range []struct {
			at   time.Duration
			nc   uint32
			want advanceResult
		}{
			{0, 1, advanceOK},
			{ttl / 2, 1, advanceReplay},
			{ttl + 1, 1, advanceReplay}, // rotated into the previous generation
			{ttl + 2, 2, advanceOK},     // and written back to the current one
			{2*ttl + 3, 2, advanceReplay},
		} {
			if got := c.advance(key(0), issued, testEpoch.Add(step.at), step.nc, 0); got != step.want {
				t.Errorf("advance(nc=%d) at +%v = %v, want %v", step.nc, step.at, got, step.want)
			}
		}
		// Long idle: both generations go; the nonce was stale long ago.
		c.advance(key(1), issued, testEpoch.Add(10*ttl), 1, 0)
		if len(c.shards[0].cur) != 1 || len(c.shards[0].prev) != 0 {
			t.Errorf("after idle: %d current, %d previous entries, want 1, 0", len(c.shards[0].cur), len(c.shards[0].prev))
		}
	})
	t.Run("bounded", func(t *testing.T) {
		const maxNonces = 4 * replayShards // 2 per generation per shard
		c := newReplayCache(ttl, maxNonces)
		for i := range 100 {
			if got := c.advance(key(i), testEpoch, testEpoch, 1, 0); got != advanceOK && i < 4 {
				t.Errorf("advance(key %d) = %v, want OK", i, got)
			}
			if n := len(c.shards[0].cur) + len(c.shards[0].prev); n > maxNonces/replayShards {
				t.Fatalf("shard holds %d entries, want at most %d", n, maxNonces/replayShards)
			}
		}
		// key(0) was dropped: it must not be accepted again as if new.
		if got := c.advance(key(0), testEpoch, testEpoch.Add(time.Second), 1, 0); got != advanceForgotten {
			t.Errorf("advance(dropped key) = %v, want %v", got, advanceForgotten)
		}
		// Nonces issued after the drop are unaffected.
		if got := c.advance(key(1000), testEpoch.Add(2*time.Second), testEpoch.Add(2*time.Second), 1, 0); got != advanceOK {
			t.Errorf("advance(new key) = %v, want OK", got)
		}
	})
	t.Run("dropped history means stale", func(t *testing.T) {
		clk := &clock{t: testEpoch}
		a, err := New(Config{Secret: testSecret, Now: clk.Now, MaxNonces: 1})
		if err != nil {
			t.Fatal(err)
		}
		p := defaultPhone()
		var first Request
		for i := range 256 { // 4 nonces per shard, 1 kept

			ch := challenge{realm: testRealm, nonce: fixedNonce(a, clk.Now(), byte(i), testRealm), algorithm: "MD5"}
			r := Request{Method: p.method, URI: p.uri, Realm: testRealm, Header: p.answer(ch)}
			if i == 0 {
				first = r
			}
			if _, err := a.Verify(r, testDirectory); err != nil {
				t.Fatalf("Verify(nonce %d) = %v, want nil", i, err)
			}
			clk.Add(time.Millisecond)
		}
		if _, err := a.Verify(first, testDirectory); !errors.Is(err, ErrStale) {
			t.Errorf("Verify(replay after memory pressure) = %v, want %v", err, ErrStale)
		}
	})
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{name: "zero value", cfg: Config{}},
		{name: "both algorithms", cfg: Config{Algorithms: []Algorithm{SHA256, MD5}}},
		{name: "max TTL", cfg: Config{NonceTTL: MaxNonceTTL}},
		{name: "TTL too long", cfg: Config{NonceTTL: MaxNonceTTL + time.Second}, wantErr: true},
		{name: "negative TTL", cfg: Config{NonceTTL: -time.Second}, wantErr: true},
		{name: "unknown algorithm", cfg: Config{Algorithms: []Algorithm{"SHA-512"}}, wantErr: true},
		{name: "lowercase algorithm", cfg: Config{Algorithms: []Algorithm{"md5"}}, wantErr: true},
		{name: "duplicate algorithm", cfg: Config{Algorithms: []Algorithm{MD5, MD5}}, wantErr: true},
		{name: "short secret", cfg: Config{Secret: []byte("short")}, wantErr: true},
		{name: "empty secret", cfg: Config{Secret: []byte{}}, wantErr: true},
		{name: "negative max nonces", cfg: Config{MaxNonces: -1}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New(%+v) error = %v, want error %v", tt.cfg, err, tt.wantErr)
			}
			if err == nil && len(a.Challenges(testRealm, false)) == 0 {
				t.Errorf("New(%+v).Challenges() is empty", tt.cfg)
			}
		})
	}
	t.Run("random secrets differ", func(t *testing.T) {
		a, _ := New(Config{})
		b, _ := New(Config{})
		ch := parseChallenge(t, a.Challenges(testRealm, false)[0])
		p := defaultPhone()
		if _, err := b.Verify(Request{Method: p.method, URI: p.uri, Realm: testRealm, Header: p.answer(ch)}, testDirectory); !errors.Is(err, ErrBadNonce) {
			t.Errorf("Verify(nonce of another instance) = %v, want %v", err, ErrBadNonce)
		}
	})
	t.Run("shared secret", func(t *testing.T) {
		a, _ := New(Config{Secret: testSecret})
		b, _ := New(Config{Secret: testSecret})
		ch := parseChallenge(t, a.Challenges(testRealm, false)[0])
		p := defaultPhone()
		if _, err := b.Verify(Request{Method: p.method, URI: p.uri, Realm: testRealm, Header: p.answer(ch)}, testDirectory); err != nil {
			t.Errorf("Verify(nonce of a peer instance) = %v, want nil", err)
		}
	})
}

func TestReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{ErrMalformed, "malformed"},
		{ErrUnsupportedAlgorithm, "unsupported_algorithm"},
		{ErrUnsupportedQOP, "unsupported_qop"},
		{ErrRealm, "realm"},
		{ErrURI, "uri"},
		{ErrBadNonce, "bad_nonce"},
		{ErrStale, "stale"},
		{ErrReplay, "replay"},
		{ErrUnknownUser, "unknown_user"},
		{ErrWrongPassword, "wrong_password"},
		{fmt.Errorf("register 7001: %w", ErrStale), "stale"},
		{errors.New("something else"), "other"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			if got := Reason(tt.err); got != tt.want {
				t.Errorf("Reason(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

// TestConcurrentVerify is for -race: many phones on one Authenticator.
func TestConcurrentVerify(t *testing.T) {
	a, _ := newTestAuth(t, SHA256, MD5)
	const phones, requests = 16, 50
	errs := make(chan error, phones*requests)
	var wg sync.WaitGroup
	for range phones {
		// Parsed here: no t.Fatal from the goroutines.
		chs := a.Challenges(testRealm, false)
		sha, md5 := parseChallenge(t, chs[0]), parseChallenge(t, chs[1])
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := defaultPhone()
			for i := range requests {
				p.nc = uint32(i + 1)
				ch := sha
				if i%2 == 1 {
					ch = md5
				}
				if _, err := a.Verify(Request{Method: p.method, URI: p.uri, Realm: testRealm, Header: p.answer(ch)}, testDirectory); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Verify = %v, want nil", err)
	}
}
