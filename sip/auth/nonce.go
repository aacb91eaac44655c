package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"hash/maphash"
	"sync"
	"time"
)

// A nonce is base64url(issued || random || tag) where issued is the issue
// time in Unix nanoseconds (8 bytes, big endian), random is 8 random bytes
// and tag is HMAC-SHA256(secret, issued || random || realm) cut to 16 bytes.
// Binding the realm stops a nonce issued for one tenant being used in
// another; the random part makes every nonce a distinct replay-table key.
const (
	nonceKeyLen = 16 // issued || random: the nonce's identity
	nonceTagLen = 16
	nonceRawLen = nonceKeyLen + nonceTagLen
)

var nonceEncoding = base64.RawURLEncoding

// nonceLen is the length of an encoded nonce.
var nonceLen = nonceEncoding.EncodedLen(nonceRawLen)

// newNonce returns a fresh nonce for realm issued at t. The result aliases sc.
func (a *Authenticator) newNonce(sc *scratch, t time.Time, realm string) []byte {
	var rnd [8]byte
	rand.Read(rnd[:]) // never fails since Go 1.24
	return a.makeNonce(sc, t, rnd, realm)
}

func (a *Authenticator) makeNonce(sc *scratch, t time.Time, rnd [8]byte, realm string) []byte {
	raw := sc.raw[:]
	binary.BigEndian.PutUint64(raw[:8], uint64(t.UnixNano()))
	copy(raw[8:nonceKeyLen], rnd[:])
	copy(raw[nonceKeyLen:], a.tag(sc, raw[:nonceKeyLen], realm))
	return nonceEncoding.AppendEncode(sc.buf[:0], raw)
}

// checkNonce decodes nonce into sc.raw and checks its tag against realm. It
// reports the issue time and whether the nonce is ours; freshness is the
// caller's business, because an expired nonce of ours means "stale", not
// "forged".
func (a *Authenticator) checkNonce(sc *scratch, nonce, realm string) (time.Time, bool) {
	if len(nonce) != nonceLen {
		return time.Time{}, false
	}
	b := append(sc.buf[:0], nonce...)
	n, err := nonceEncoding.Decode(sc.raw[:], b)
	if err != nil || n != nonceRawLen {
		return time.Time{}, false
	}
	// The key part is copied out because tag reuses sc.buf.
	var key [nonceKeyLen]byte
	copy(key[:], sc.raw[:nonceKeyLen])
	if !hmac.Equal(a.tag(sc, key[:], realm), sc.raw[nonceKeyLen:]) {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(key[:8]))), true
}

// tag returns the truncated HMAC of key || realm; the result aliases sc.sum.
func (a *Authenticator) tag(sc *scratch, key []byte, realm string) []byte {
	b := append(sc.buf[:0], key...)
	b = append(b, realm...)
	sc.mac.Reset()
	sc.mac.Write(b)
	if cap(b) <= maxScratch {
		sc.buf = b[:0]
	}
	return sc.mac.Sum(sc.sum[:0])[:nonceTagLen]
}

// replayCache remembers the highest nonce count accepted per nonce, and a
// hash of the Via branch of the request that used it. Each shard
// holds two generations of maps; on access, a shard older than ttl moves its
// current map to the previous slot, dropping the one before. An entry thus
// lives at least ttl after its last write, by which time its nonce is stale
// anyway, so nothing needs a goroutine or timer to expire. Shards keep the
// mutexes uncontended; the shard is picked by a random byte of the nonce,
// which is already authenticated, so callers cannot aim at one shard.
type replayCache struct {
	ttl    time.Duration
	genCap int // entries per generation per shard
	shards [replayShards]replayShard
}

const replayShards = 64

type replayShard struct {
	mu      sync.Mutex
	cur     map[[nonceKeyLen]byte]ncSeen
	prev    map[[nonceKeyLen]byte]ncSeen
	rotated time.Time
	// floor: nonces issued until then may have had their entry dropped early
	// under memory pressure, so for them a missing entry proves nothing.
	floor time.Time
}

// ncSeen is the highest nonce count accepted for a nonce and the branch
// key of the request that carried it.
type ncSeen struct{ nc, branch uint32 }

type advanceResult int

const (
	advanceOK         advanceResult = iota
	advanceReplay                   // nc not above the highest seen
	advanceForgotten                // history may have been dropped; cannot tell
	advanceRetransmit               // the request that set the highest nc, again
)

func newReplayCache(ttl time.Duration, maxNonces int) *replayCache {
	return &replayCache{ttl: ttl, genCap: max(maxNonces/replayShards/2, 1)}
}

// advance records nc for the nonce identified by key (issued at issued) if it
// is above the highest count seen so far. The same nc from the request
// that set it (the same branch key, not 0) is a retransmission.
func (c *replayCache) advance(key []byte, issued, now time.Time, nc, branch uint32) advanceResult {
	k := [nonceKeyLen]byte(key)
	s := &c.shards[k[8]%replayShards]
	s.mu.Lock()
	defer s.mu.Unlock()

	if age := now.Sub(s.rotated); age >= c.ttl {
		if age >= 2*c.ttl {
			s.prev = nil // both generations are past their nonces' lifetime
		} else {
			s.prev = s.cur
		}
		s.cur = nil
		s.rotated = now
	}
	last, found := s.cur[k]
	if !found {
		last, found = s.prev[k]
	}
	switch {
	case !found && !s.floor.IsZero() && !issued.After(s.floor):
		return advanceForgotten
	case found && nc == last.nc && branch != 0 && branch == last.branch:
		return advanceRetransmit
	case found && nc <= last.nc:
		return advanceReplay
	}
	if s.cur == nil {
		s.cur = make(map[[nonceKeyLen]byte]ncSeen)
	}
	s.cur[k] = ncSeen{nc: nc, branch: branch}
	if len(s.cur) >= c.genCap {
		// Over budget: rotate early, dropping the older generation, and
		// remember that anything issued until now may have lost its history.
		if len(s.prev) > 0 {
			s.floor = now
		}
		s.prev, s.cur = s.cur, nil
		s.rotated = now
	}
	return advanceOK
}

// branchSeed keys branch hashes: per process, so that nobody can choose two
// branches that collide.
var branchSeed = maphash.MakeSeed()

// branchKey is what the replay cache keeps of a Via branch; 0 for none.
func branchKey(branch string) uint32 {
	if branch == "" {
		return 0
	}
	return uint32(maphash.String(branchSeed, branch)) | 1
}
