package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/dialplan"
)

// Algorithm is a digest algorithm name as written in the algorithm parameter.
type Algorithm string

// Supported algorithms. The -sess variants are not offered: SIP phones rarely
// implement them and they need server state per client nonce.
const (
	MD5    Algorithm = "MD5"
	SHA256 Algorithm = "SHA-256"
)

// Defaults and limits of Config.
const (
	// MaxNonceTTL is the default and the longest NonceTTL: a nonce is a
	// replayable token until it expires, and the replay table must cover its
	// whole life, so both stay short.
	MaxNonceTTL = 300 * time.Second
	// DefaultMaxNonces is the default bound on nonces tracked for replay.
	DefaultMaxNonces = 1 << 20
	// MinSecretLen is the shortest accepted Config.Secret.
	MinSecretLen = 16
)

// Errors returned by Verify. Reason maps each to a metric label.
var (
	ErrMalformed            = errors.New("auth: malformed credentials")
	ErrUnsupportedAlgorithm = errors.New("auth: unsupported algorithm")
	ErrUnsupportedQOP       = errors.New("auth: unsupported qop")
	ErrRealm                = errors.New("auth: realm mismatch")
	ErrURI                  = errors.New("auth: uri mismatch")
	ErrBadNonce             = errors.New("auth: nonce not issued here")
	ErrStale                = errors.New("auth: stale nonce")
	ErrReplay               = errors.New("auth: nonce count replayed")
	ErrUnknownUser          = errors.New("auth: unknown user")
	ErrWrongPassword        = errors.New("auth: wrong password")
	ErrBanned               = errors.New("auth: username banned from this source")
)

// Reason returns a bounded label for err, for switchboard_auth_failures_total:
// "malformed", "unsupported_algorithm", "unsupported_qop", "realm", "uri",
// "bad_nonce", "stale", "replay", "unknown_user", "wrong_password", "other" for
// an error from elsewhere, and "" for nil.
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrUnsupportedAlgorithm):
		return "unsupported_algorithm"
	case errors.Is(err, ErrUnsupportedQOP):
		return "unsupported_qop"
	case errors.Is(err, ErrRealm):
		return "realm"
	case errors.Is(err, ErrURI):
		return "uri"
	case errors.Is(err, ErrBadNonce):
		return "bad_nonce"
	case errors.Is(err, ErrStale):
		return "stale"
	case errors.Is(err, ErrReplay):
		return "replay"
	case errors.Is(err, ErrUnknownUser):
		return "unknown_user"
	case errors.Is(err, ErrWrongPassword):
		return "wrong_password"
	case errors.Is(err, ErrBanned):
		return "banned"
	}
	return "other"
}

// Config configures an Authenticator. The zero value is usable.
type Config struct {
	// Algorithms are offered in this order, most preferred first; default [MD5].
	// Several phones (baresip 1.0) fail whenever a SHA-256 challenge is present,
	// so SHA-256 is opt-in.
	Algorithms []Algorithm
	// NonceTTL is how long a nonce is accepted; default and maximum MaxNonceTTL.
	NonceTTL time.Duration
	// Secret is the HMAC key nonces are signed with. Instances behind one
	// domain must share it so a nonce from one is accepted by the others; when
	// nil a random 32-byte key is used. At least MinSecretLen bytes.
	Secret []byte
	// Now is the clock; time.Now when nil. For tests.
	Now func() time.Time
	// MaxNonces bounds how many nonces are tracked for replay detection;
	// default DefaultMaxNonces.
	MaxNonces int
}

// Validate reports the first problem with c, leaving defaults unapplied.
func (c Config) Validate() error {
	seen := map[Algorithm]bool{}
	for _, alg := range c.Algorithms {
		if alg != MD5 && alg != SHA256 {
			return fmt.Errorf("auth: algorithm %q not supported (want MD5 or SHA-256)", alg)
		}
		if seen[alg] {
			return fmt.Errorf("auth: algorithm %s listed twice", alg)
		}
		seen[alg] = true
	}
	switch {
	case c.NonceTTL < 0:
		return errors.New("auth: nonce TTL is negative")
	case c.NonceTTL > MaxNonceTTL:
		return fmt.Errorf("auth: nonce TTL %v above the maximum %v", c.NonceTTL, MaxNonceTTL)
	case c.Secret != nil && len(c.Secret) < MinSecretLen:
		return fmt.Errorf("auth: secret of %d bytes, want at least %d", len(c.Secret), MinSecretLen)
	case c.MaxNonces < 0:
		return errors.New("auth: max nonces is negative")
	}
	return nil
}

// Authenticator issues digest challenges and verifies the answers. It is safe
// for concurrent use.
type Authenticator struct {
	algs  []Algorithm
	ttl   time.Duration
	now   func() time.Time
	seen  *replayCache
	dummy [2]string // HA1 used for unknown users, per algorithm (MD5, SHA-256)
	pool  sync.Pool // *scratch
}

// scratch is the per-call working memory of Verify and Challenges, pooled so
// the hot path does not allocate; it also carries an HMAC keyed with the
// secret, which is costly to set up.
type scratch struct {
	mac  hash.Hash
	buf  []byte
	sum  [sha256.Size]byte
	raw  [nonceRawLen]byte
	want [2 * sha256.Size]byte
	got  [2 * sha256.Size]byte
	ha1  [2 * sha256.Size]byte
	ha2  [2 * sha256.Size]byte
}

// New checks cfg, applies defaults and returns an Authenticator.
func New(cfg Config) (*Authenticator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Authenticator{
		algs: append([]Algorithm(nil), cfg.Algorithms...),
		ttl:  cfg.NonceTTL,
		now:  cfg.Now,
	}
	if len(a.algs) == 0 {
		a.algs = []Algorithm{MD5}
	}
	if a.ttl == 0 {
		a.ttl = MaxNonceTTL
	}
	if a.now == nil {
		a.now = time.Now
	}
	maxNonces := cfg.MaxNonces
	if maxNonces == 0 {
		maxNonces = DefaultMaxNonces
	}
	a.seen = newReplayCache(a.ttl, maxNonces)
	secret := append([]byte(nil), cfg.Secret...)
	if cfg.Secret == nil {
		secret = make([]byte, 32)
		rand.Read(secret) // never fails since Go 1.24
	}
	a.pool.New = func() any {
		return &scratch{mac: hmac.New(sha256.New, secret), buf: make([]byte, 0, 512)}
	}
	// A random dummy HA1 rather than a constant: nobody can know a response
	// that would match it.
	var d [sha256.Size]byte
	rand.Read(d[:])
	a.dummy[0] = hexString(d[:16])
	a.dummy[1] = hexString(d[:])
	return a, nil
}

// Algorithms returns the offered algorithms, most preferred first.
func (a *Authenticator) Algorithms() []Algorithm { return append([]Algorithm(nil), a.algs...) }

// Challenges returns the WWW-Authenticate (or Proxy-Authenticate) header
// values for realm: one per offered algorithm, most preferred first, each with
// a fresh nonce and qop="auth", and stale=true when stale is set.
func (a *Authenticator) Challenges(realm string, stale bool) []string {
	sc := a.pool.Get().(*scratch)
	defer a.pool.Put(sc)
	issued := a.now()
	out := make([]string, len(a.algs))
	for i, alg := range a.algs {
		nonce := a.newNonce(sc, issued, realm)
		var b strings.Builder
		b.Grow(len(`Digest realm="", nonce="", algorithm=SHA-256, qop="auth", stale=true`) + len(realm) + 2 + len(nonce))
		b.WriteString(`Digest realm=`)
		writeQuoted(&b, realm)
		b.WriteString(`, nonce="`)
		b.Write(nonce)
		b.WriteString(`", algorithm=`)
		b.WriteString(string(alg))
		b.WriteString(`, qop="auth"`)
		if stale {
			b.WriteString(`, stale=true`)
		}
		out[i] = b.String()
	}
	return out
}

// Request is what Verify checks: the request line's method and URI, the
// realm the request must authenticate in, and the Authorization or
// Proxy-Authorization header value.
type Request struct {
	Method string
	URI    string // the Request-URI as received
	Realm  string
	Header string
	// AlsoAccept, when set, may accept a digest uri that differs from URI.
	// The SIP server uses it for a uri that names the server or the tenant
	// domain without a user part, which SIPp sends unless told otherwise;
	// any other mismatch is still ErrURI.
	AlsoAccept func(uri string) bool
	// Banned, when set, is asked about the username right after parsing:
	// true fails Verify with ErrBanned before any digest is computed.
	Banned func(username string) bool
	// Branch is the request's top Via branch. A request whose nonce count
	// was already used is a replay (ErrReplay) unless it carries the same
	// branch as the request that used it: that is a retransmission of the
	// same transaction (RFC 3261 §17.2.3), which a server answering
	// statelessly must accept again, or a phone whose 200 OK was lost
	// gets a 401 and fails the registration. "" treats every repeat as a
	// replay.
	Branch string
}

// Verify checks the digest credentials in r.Header and returns the digest
// username they prove. lookup returns the credential for a digest username,
// false when the username is unknown. On error the username is empty and the
// error is one of the package's sentinels (see Reason).
//
// The checks run cheapest-first up to the nonce's HMAC, so garbage costs
// little; the response is checked before staleness and replay, so ErrStale
// and ErrReplay are only reported to someone who knows the password.
func (a *Authenticator) Verify(r Request, lookup func(username string) (dialplan.Credential, bool)) (string, error) {
	c, err := parseCredentials(r.Header)
	if err != nil {
		return "", err
	}
	if r.Banned != nil && r.Banned(c.username) {
		return "", ErrBanned
	}
	alg, ok := a.algorithm(c.algorithm)
	if !ok {
		return "", ErrUnsupportedAlgorithm
	}
	nc := uint32(1) // RFC 2069 responses: the first use is the only use
	if c.qop != "" {
		if !strings.EqualFold(c.qop, "auth") {
			return "", ErrUnsupportedQOP
		}
		if nc, ok = parseNC(c.nc); !ok || c.cnonce == "" {
			return "", ErrMalformed
		}
	}
	if len(c.response) != hexLen(alg) || !isHex(c.response) {
		return "", ErrMalformed
	}
	if c.realm != r.Realm {
		return "", ErrRealm
	}
	if !uriMatch(c.uri, r.URI) && (r.AlsoAccept == nil || !r.AlsoAccept(c.uri)) {
		return "", ErrURI
	}

	sc := a.pool.Get().(*scratch)
	defer a.pool.Put(sc)
	issued, ok := a.checkNonce(sc, c.nonce, r.Realm)
	if !ok {
		return "", ErrBadNonce
	}

	known := false
	ha1 := a.dummy[algIndex(alg)]
	if cred, found := lookup(c.username); found {
		// A credential for another realm or without a usable hash for this
		// algorithm cannot match: treat it like an unknown user.
		if h := credHA1(cred, alg); (cred.Realm == "" || cred.Realm == r.Realm) && len(h) == hexLen(alg) && isHex(h) {
			ha1, known = h, true
		}
	}
	want := computeResponse(sc, alg, ha1, r.Method, c.uri, c.nonce, c.nc, c.cnonce, c.qop)
	got := appendLower(sc.got[:0], c.response)
	match := subtle.ConstantTimeCompare(want, got) == 1
	switch {
	case !known:
		return "", ErrUnknownUser
	case !match:
		return "", ErrWrongPassword
	}

	now := a.now()
	if age := now.Sub(issued); age > a.ttl || age < -a.ttl {
		return "", ErrStale
	}
	switch a.seen.advance(sc.raw[:nonceKeyLen], issued, now, nc, branchKey(r.Branch)) {
	case advanceReplay:
		return "", ErrReplay
	case advanceForgotten:
		// Its nc history was dropped under memory pressure: make the client
		// start over with a fresh nonce rather than risk accepting a replay.
		return "", ErrStale
	}
	return c.username, nil
}

// algorithm resolves the algorithm parameter against the offered ones; absent
// means MD5 (RFC 2617), acceptable only when MD5 is offered.
func (a *Authenticator) algorithm(name string) (Algorithm, bool) {
	var alg Algorithm
	switch {
	case name == "" || strings.EqualFold(name, string(MD5)):
		alg = MD5
	case strings.EqualFold(name, string(SHA256)):
		alg = SHA256
	default:
		return "", false
	}
	for _, offered := range a.algs {
		if offered == alg {
			return alg, true
		}
	}
	return "", false
}

func credHA1(c dialplan.Credential, alg Algorithm) string {
	if alg == SHA256 {
		return c.HA1SHA256
	}
	return c.HA1MD5
}

func algIndex(alg Algorithm) int {
	if alg == SHA256 {
		return 1
	}
	return 0
}

// parseNC parses an nc-value: exactly 8 hex digits, not zero.
func parseNC(s string) (uint32, bool) {
	if len(s) != 8 {
		return 0, false
	}
	var n uint32
	for i := 0; i < len(s); i++ {
		v, ok := unhex(s[i])
		if !ok {
			return 0, false
		}
		n = n<<4 | uint32(v)
	}
	return n, n != 0
}
