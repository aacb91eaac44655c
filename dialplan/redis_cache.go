package dialplan

import (
	"sync"
	"sync/atomic"
)

// viewCache is the RedisStore's bounded in-process cache of compiled tenant
// views, by domain and by number.
//
// Freshness: an entry is fresh while it is not marked stale and was made in
// the current generation. Pub/sub (and the store's own writes) mark one
// domain stale; a reconnect of the subscriber, a gap in the message
// sequence, or a version seen in Redis that pub/sub has not delivered within
// a poll interval bumps the generation, which makes every entry stale at
// once in O(1). Stale entries are kept: a lookup reloads them, and serves the
// stale view when Redis cannot answer.
//
// Eviction is CLOCK (second chance) by entry count: a hit only sets a
// reference bit, so the read path takes a read lock and never allocates.
type viewCache struct {
	gen atomic.Uint64

	mu       sync.RWMutex
	version  int64 // the newest version announced by pub/sub
	lastMsg  int64 // version of the last message on this subscription; 0 after (re)subscribing
	seen     int64 // the newest version read from Redis (read-through, own writes, poll)
	lag      int64 // Redis's version at the previous poll
	byDomain map[string]*cacheEntry
	byNumber map[string]*cacheEntry
	ring     []*cacheEntry // eviction order; len <= size
	hand     int
	size     int
}

type cacheEntry struct {
	domain  string
	view    *View
	gen     uint64
	stale   atomic.Bool
	ref     atomic.Bool
	numbers []string // keys of byNumber pointing here; guarded by viewCache.mu
	slot    int      // index in ring
}

func newViewCache(size int) *viewCache {
	return &viewCache{
		byDomain: make(map[string]*cacheEntry),
		byNumber: make(map[string]*cacheEntry),
		size:     size,
	}
}

// fresh reports whether e may be served without asking Redis.
func (c *viewCache) fresh(e *cacheEntry) bool {
	return e != nil && !e.stale.Load() && e.gen == c.gen.Load()
}

func (e *cacheEntry) touch() {
	if !e.ref.Load() {
		e.ref.Store(true)
	}
}

// domain returns the entry of a domain, fresh or not, or nil.
func (c *viewCache) domain(d string) *cacheEntry {
	c.mu.RLock()
	e, _ := lookupFold(c.byDomain, d)
	c.mu.RUnlock()
	if e != nil {
		e.touch()
	}
	return e
}

// number returns the entry a number was last resolved to, or nil.
func (c *viewCache) number(e164 string) *cacheEntry {
	c.mu.RLock()
	e := c.byNumber[e164]
	c.mu.RUnlock()
	if e != nil {
		e.touch()
	}
	return e
}

// put installs a view read from Redis at version, in a read started at
// generation gen, and returns its entry. When anything changed since the
// read began (a newer announced version or a generation bump) the entry goes
// in stale: usable as a fallback, reloaded on its next lookup.
func (c *viewCache) put(domain string, v *View, version int64, gen uint64) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	stale := gen != c.gen.Load() || version < c.version
	c.seen = max(c.seen, version)
	e := &cacheEntry{domain: domain, view: v, gen: gen}
	e.stale.Store(stale)
	if old := c.byDomain[domain]; old != nil {
		old.stale.Store(true)
		c.unlinkNumbers(old)
		e.slot = old.slot
		c.ring[e.slot] = e
	} else {
		c.insert(e)
	}
	c.byDomain[domain] = e
	return e
}

// insert places a new entry in the ring, evicting by CLOCK when full.
func (c *viewCache) insert(e *cacheEntry) {
	if len(c.ring) < c.size {
		e.slot = len(c.ring)
		c.ring = append(c.ring, e)
		return
	}
	for {
		victim := c.ring[c.hand]
		if victim.ref.Load() {
			victim.ref.Store(false)
			c.hand = (c.hand + 1) % len(c.ring)
			continue
		}
		victim.stale.Store(true)
		c.unlinkNumbers(victim)
		delete(c.byDomain, victim.domain)
		e.slot = c.hand
		c.ring[c.hand] = e
		c.hand = (c.hand + 1) % len(c.ring)
		return
	}
}

func (c *viewCache) unlinkNumbers(e *cacheEntry) {
	for _, n := range e.numbers {
		if c.byNumber[n] == e {
			delete(c.byNumber, n)
		}
	}
	e.numbers = nil
}

// linkNumber makes a number resolve to e, if e is still the domain's entry.
func (c *viewCache) linkNumber(e164 string, e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byDomain[e.domain] != e {
		return
	}
	if c.byNumber[e164] == e {
		return
	}
	// A previous owner keeps the name in its list; harmless, since
	// unlinkNumbers checks where the name points.
	c.byNumber[e164] = e
	e.numbers = append(e.numbers, e164)
}

// changed applies a pub/sub notification: version and the domain written
// ("*" for a whole-directory replace).
func (c *viewCache) changed(version int64, domain string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if domain == "*" || (c.lastMsg != 0 && version > c.lastMsg+1) {
		c.gen.Add(1) // everything, or a gap: a message was missed
	}
	c.lastMsg = version
	c.version = max(c.version, version)
	if e := c.byDomain[domain]; e != nil {
		e.stale.Store(true)
	}
}

// wrote applies one of the store's own writes at once, without waiting for
// its message (read your writes).
func (c *viewCache) wrote(version int64, domain string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = max(c.seen, version)
	if domain == "*" {
		c.gen.Add(1)
	} else if e := c.byDomain[domain]; e != nil {
		e.stale.Store(true)
	}
}

// subscribed starts a new message sequence: messages may have been missed
// while there was no subscription, so every entry goes stale.
func (c *viewCache) subscribed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastMsg = 0
	c.gen.Add(1)
}

// polled checks Redis's version counter against what the cache knows. A
// version lower than any seen means Redis lost its data (returned true: the
// caller decides). A version pub/sub has still not announced one poll later
// means messages were missed: every entry goes stale.
func (c *viewCache) polled(redisVersion int64) (wentBack bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if redisVersion < max(c.version, c.seen) {
		return true
	}
	if c.lag > c.version {
		c.gen.Add(1)
		c.version = c.lag
	}
	c.lag = redisVersion
	return false
}

// rewind makes every entry stale and forgets versions above version: Redis
// lost its data (and may have been seeded again).
func (c *viewCache) rewind(version int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version, c.seen, c.lag, c.lastMsg = version, version, version, 0
	c.gen.Add(1)
}

// knownVersion is the newest version announced or read.
func (c *viewCache) knownVersion() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return max(c.version, c.seen)
}

// len returns the number of cached domains.
func (c *viewCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.byDomain)
}
