package auth

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/dialplan"
)

const testRealm = "acme.example"

var (
	testSecret = []byte("test-secret-0123456789abcdef")
	testEpoch  = time.Unix(1_700_000_000, 0)
)

// ha1 computes H(user:realm:pass) the way the directory stores it.
func ha1(alg Algorithm, user, realm, pass string) string {
	in := []byte(user + ":" + realm + ":" + pass)
	if alg == SHA256 {
		s := sha256.Sum256(in)
		return hex.EncodeToString(s[:])
	}
	s := md5.Sum(in)
	return hex.EncodeToString(s[:])
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// clock is an injectable, settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func newTestAuth(t testing.TB, algs ...Algorithm) (*Authenticator, *clock) {
	t.Helper()
	clk := &clock{t: testEpoch}
	a, err := New(Config{Algorithms: algs, Secret: testSecret, Now: clk.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a, clk
}

// directory is a lookup over users with the given passwords in testRealm.
func directory(passwords map[string]string) func(string) (dialplan.Credential, bool) {
	creds := map[string]dialplan.Credential{}
	for user, pass := range passwords {
		creds[user] = dialplan.Credential{
			Username:  user,
			Realm:     testRealm,
			HA1MD5:    ha1(MD5, user, testRealm, pass),
			HA1SHA256: ha1(SHA256, user, testRealm, pass),
		}
	}
	return func(user string) (dialplan.Credential, bool) {
		c, ok := creds[user]
		return c, ok
	}
}

var testDirectory = directory(map[string]string{"7001": "secret7001", "john": "hunter2"})

// challenge is what a phone reads from one WWW-Authenticate value.
type challenge struct {
	realm, nonce, algorithm, qop string
	stale                        bool
}

// parseChallenge reads a challenge with the package's own parameter parser
// (the challenge grammar is the same as the credentials grammar).
func parseChallenge(t testing.TB, h string) challenge {
	t.Helper()
	var ch challenge
	s := strings.TrimPrefix(h, "Digest ")
	if s == h {
		t.Fatalf("challenge %q: no Digest scheme", h)
	}
	for s != "" {
		key, rest, ok := strings.Cut(s, "=")
		if !ok {
			t.Fatalf("challenge %q: no '=' in %q", h, s)
		}
		val, rest, ok := parseValue(rest)
		if !ok {
			t.Fatalf("challenge %q: bad value in %q", h, s)
		}
		switch strings.TrimSpace(key) {
		case "realm":
			ch.realm = val
		case "nonce":
			ch.nonce = val
		case "algorithm":
			ch.algorithm = val
		case "qop":
			ch.qop = val
		case "stale":
			ch.stale = val == "true"
		}
		s = strings.TrimPrefix(rest, ", ")
	}
	return ch
}

// phone answers a challenge the way a SIP phone does.
type phone struct {
	user, pass, method, uri string
	nc                      uint32
	cnonce                  string
	noQOP                   bool // answer RFC 2069 style
}

func (p phone) answer(ch challenge) string {
	alg := Algorithm(ch.algorithm)
	if alg == "" {
		alg = MD5
	}
	h1 := ha1(alg, p.user, ch.realm, p.pass)
	if p.noQOP {
		resp := response(alg, h1, p.method, p.uri, ch.nonce, "", "", "")
		return fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=%s`,
			p.user, ch.realm, ch.nonce, p.uri, resp, alg)
	}
	nc := fmt.Sprintf("%08x", p.nc)
	resp := response(alg, h1, p.method, p.uri, ch.nonce, nc, p.cnonce, "auth")
	return fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=%s, cnonce="%s", qop=auth, nc=%s`,
		p.user, ch.realm, ch.nonce, p.uri, resp, alg, p.cnonce, nc)
}

func defaultPhone() phone {
	return phone{user: "7001", pass: "secret7001", method: "REGISTER", uri: "sip:acme.example", nc: 1, cnonce: "0a4f113b"}
}

// fixedNonce returns a nonce issued at t for realm with chosen random bytes,
// so seeds and vectors are stable.
func fixedNonce(a *Authenticator, t time.Time, rnd byte, realm string) string {
	return string(a.makeNonce(a.pool.New().(*scratch), t, [8]byte{rnd, rnd, rnd, rnd, rnd, rnd, rnd, rnd}, realm))
}
