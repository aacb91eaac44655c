package security

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// The tables below are bounded so that a flood from spoofed source addresses
// cannot grow them without limit.
//
//   - bans: at most MaxEntries; when full, the ban inserted first is evicted.
//     Every ban lasts the same time, so that is the one closest to expiring.
//   - flood budgets and failure counters: two generations per shard; when
//     the current one is full the older generation is dropped whole. What is
//     evicted first is therefore the sources not heard from for the longest
//     time; a source found only in the old generation moves to the current.
//     An evicted flood budget starts again full, an evicted failure count
//     from zero.

// pairKey names a (source IP, username) ban; user "" is a ban of the IP.
type pairKey struct {
	ip   netip.Addr
	user string
}

type banEntry struct {
	until  time.Time
	reason Reason
	// shared is set once the ban is in the Shared store (published or
	// received), so a resync may drop it when the store no longer has it.
	shared bool
}

// banTable holds the live bans. ipBans counts bans of whole IPs and
// pairBans the (IP, user) ones, so the read path skips the lock entirely
// while nothing is banned.
type banTable struct {
	mu       sync.RWMutex
	bans     map[pairKey]banEntry
	order    []pairKey // insertion order, for eviction when full
	max      int
	ipBans   atomic.Int64
	pairBans atomic.Int64
}

func newBanTable(max int) *banTable {
	return &banTable{bans: make(map[pairKey]banEntry), max: max}
}

// banned reports whether k is banned at now.
func (t *banTable) banned(k pairKey, now time.Time) bool {
	t.mu.RLock()
	e, ok := t.bans[k]
	t.mu.RUnlock()
	return ok && now.Before(e.until)
}

// put adds or extends a ban. It reports whether k was not banned before.
func (t *banTable) put(k pairKey, e banEntry, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	old, had := t.bans[k]
	if had && now.Before(old.until) {
		if e.until.After(old.until) || (e.shared && !old.shared) {
			old.until = maxTime(old.until, e.until)
			old.shared = old.shared || e.shared
			t.bans[k] = old
		}
		return false
	}
	if !had {
		for len(t.bans) >= t.max && len(t.order) > 0 {
			t.removeLocked(t.order[0])
			t.order = t.order[1:]
		}
		t.order = append(t.order, k)
		t.count(k, 1)
	}
	t.bans[k] = e
	return true
}

func (t *banTable) count(k pairKey, d int64) {
	if k.user == "" {
		t.ipBans.Add(d)
	} else {
		t.pairBans.Add(d)
	}
}

func (t *banTable) removeLocked(k pairKey) bool {
	if _, ok := t.bans[k]; !ok {
		return false
	}
	delete(t.bans, k)
	t.count(k, -1)
	return true
}

// lift removes every ban of ip and returns how many there were.
func (t *banTable) lift(ip netip.Addr) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for k := range t.bans {
		if k.ip == ip && t.removeLocked(k) {
			n++
		}
	}
	t.compactLocked()
	return n
}

// sweep drops expired bans and, when keep is not nil, shared bans the
// store no longer holds.
func (t *banTable) sweep(now time.Time, keep map[pairKey]bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, e := range t.bans {
		if !now.Before(e.until) || (keep != nil && e.shared && !keep[k]) {
			t.removeLocked(k)
		}
	}
	t.compactLocked()
}

// compactLocked drops order entries of bans no longer in the table.
func (t *banTable) compactLocked() {
	out := t.order[:0]
	seen := make(map[pairKey]bool, len(t.bans))
	for _, k := range t.order {
		if _, ok := t.bans[k]; ok && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	clear(t.order[len(out):])
	t.order = out
}

// list returns the live bans.
func (t *banTable) list(now time.Time) []Ban {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]Ban, 0, len(t.bans))
	for k, e := range t.bans {
		if now.Before(e.until) {
			out = append(out, Ban{Source: k.ip, User: k.user, Reason: e.reason, Until: e.until})
		}
	}
	return out
}

func (t *banTable) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.bans)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// genMap is a two-generation map: bounded, O(1), least recently used
// generation evicted first. Callers hold mu.
type genMap[K comparable, V any] struct {
	mu       sync.Mutex
	cur, old map[K]*V
	max      int // entries per generation
}

func (g *genMap[K, V]) init(max int) {
	if max < 1 {
		max = 1
	}
	g.max = max
	g.cur = make(map[K]*V)
}

// get returns the entry for k, creating it when missing; fresh reports a
// new entry.
func (g *genMap[K, V]) get(k K) (v *V, fresh bool) {
	if v, ok := g.cur[k]; ok {
		return v, false
	}
	if v, ok := g.old[k]; ok {
		delete(g.old, k)
		g.insert(k, v)
		return v, false
	}
	v = new(V)
	g.insert(k, v)
	return v, true
}

func (g *genMap[K, V]) insert(k K, v *V) {
	if len(g.cur) >= g.max {
		g.old, g.cur = g.cur, make(map[K]*V, g.max/4)
	}
	g.cur[k] = v
}

func (g *genMap[K, V]) delete(k K) {
	delete(g.cur, k)
	delete(g.old, k)
}

func (g *genMap[K, V]) len() int { return len(g.cur) + len(g.old) }

// bucket is one source's token bucket: tokens left at last.
type bucket struct {
	tokens float64
	last   int64 // unix nanoseconds
}

// rateShards is the flood budget table, sharded by source address so that
// the read goroutines of several listeners rarely share a lock.
type rateShards struct {
	seed   maphash.Seed
	shards [16]genMap[netip.Addr, bucket]
	rate   float64 // tokens per second
	burst  float64
}

func newRateShards(rps, maxEntries int) *rateShards {
	r := &rateShards{seed: maphash.MakeSeed(), rate: float64(rps), burst: 2 * float64(rps)}
	per := maxEntries / len(r.shards) / 2
	for i := range r.shards {
		r.shards[i].init(per)
	}
	return r
}

// take spends one token of ip's budget and reports whether there was one.
func (r *rateShards) take(ip netip.Addr, now int64) bool {
	b16 := ip.As16()
	sh := &r.shards[maphash.Bytes(r.seed, b16[:])%uint64(len(r.shards))]
	sh.mu.Lock()
	b, fresh := sh.get(ip)
	if fresh {
		b.tokens, b.last = r.burst, now
	} else if el := now - b.last; el > 0 {
		b.tokens += float64(el) * r.rate / 1e9
		if b.tokens > r.burst {
			b.tokens = r.burst
		}
		b.last = now
	}
	ok := b.tokens >= 1
	if ok {
		b.tokens--
	}
	sh.mu.Unlock()
	return ok
}

func (r *rateShards) forget(ip netip.Addr) {
	b16 := ip.As16()
	sh := &r.shards[maphash.Bytes(r.seed, b16[:])%uint64(len(r.shards))]
	sh.mu.Lock()
	sh.delete(ip)
	sh.mu.Unlock()
}

func (r *rateShards) len() int {
	n := 0
	for i := range r.shards {
		r.shards[i].mu.Lock()
		n += r.shards[i].len()
		r.shards[i].mu.Unlock()
	}
	return n
}

// maxUsersTracked bounds the usernames remembered per source IP; past the
// scan threshold more would change nothing.
const maxUsersTracked = 64

// ipFailures counts one source IP's digest failures in the current window,
// per username.
type ipFailures struct {
	start time.Time
	users map[string]int
}

// failureTable counts failures in memory when there is no Shared store (or
// it is unreachable).
type failureTable struct {
	genMap[netip.Addr, ipFailures]
}

// add counts one failure of user from ip and returns that pair's count and
// the number of distinct users failing from ip in the window.
func (t *failureTable) add(ip netip.Addr, user string, now time.Time, window time.Duration) (int, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, _ := t.get(ip)
	if f.users == nil || now.Sub(f.start) >= window {
		f.start, f.users = now, make(map[string]int)
	}
	if _, ok := f.users[user]; ok || len(f.users) < maxUsersTracked {
		f.users[user]++
	}
	return f.users[user], len(f.users)
}

func (t *failureTable) forget(ip netip.Addr) {
	t.mu.Lock()
	t.delete(ip)
	t.mu.Unlock()
}
