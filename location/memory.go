package location

import (
	"cmp"
	"container/heap"
	"context"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"time"
)

const shardCount = 64

// Memory is the in-process Store. AORs are spread over shards, each with its
// own lock and an expiry heap, so registrations from many phones do not contend
// on one mutex and expiry costs O(log n) per change instead of a timer each.
type Memory struct {
	seed   maphash.Seed
	now    func() time.Time
	shards [shardCount]shard
}

type shard struct {
	mu      sync.Mutex
	records map[string]*record
	due     expiryHeap
	counts  map[string]int // live bindings per tenant
}

type record struct {
	aor      string
	tenant   string
	bindings []Binding // immutable once stored; replaced on every update
	next     time.Time // earliest expiry among bindings
	index    int       // position in the shard's heap, -1 when absent
	// version is, in the Redis store's mirror, the AOR hash's version these
	// bindings were read or written at (0: unknown). See Redis.update.
	version uint64
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory location store. now may be nil (time.Now).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	m := &Memory{seed: maphash.MakeSeed(), now: now}
	for i := range m.shards {
		m.shards[i].records = make(map[string]*record)
		m.shards[i].counts = make(map[string]int)
	}
	return m
}

func (m *Memory) shard(aor string) *shard {
	return &m.shards[maphash.String(m.seed, aor)%shardCount]
}

// Update implements Store.
func (m *Memory) Update(ctx context.Context, aor, tenant string, fn UpdateFunc) ([]Binding, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := m.now()
	s := m.shard(aor)
	s.mu.Lock()
	defer s.mu.Unlock()

	r := s.records[aor]
	var current []Binding
	if r != nil {
		current = live(r.bindings, now)
	}
	next, err := fn(now, current)
	if err != nil {
		return nil, err
	}
	next = live(next, now)
	if r == nil {
		if len(next) == 0 {
			return nil, nil
		}
		r = &record{aor: aor, tenant: tenant, index: -1}
		s.records[aor] = r
	}
	r.version = 0
	s.set(r, next)
	return next, nil
}

// setVersioned stores bs as the AOR's bindings as Redis holds them at
// version (the Redis store's mirror).
func (m *Memory) setVersioned(aor, tenant string, bs []Binding, version uint64) {
	now := m.now()
	bs = live(bs, now)
	s := m.shard(aor)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.records[aor]
	if r == nil {
		if len(bs) == 0 {
			return
		}
		r = &record{aor: aor, tenant: tenant, index: -1}
		s.records[aor] = r
	}
	r.version = version
	s.set(r, bs)
}

// versioned returns the AOR's live bindings and the Redis version they
// were stored at, or ok false when the mirror does not know the version.
func (m *Memory) versioned(aor string) (bs []Binding, version uint64, ok bool) {
	now := m.now()
	s := m.shard(aor)
	s.mu.Lock()
	r := s.records[aor]
	if r != nil {
		bs, version = r.bindings, r.version
	}
	s.mu.Unlock()
	if version == 0 {
		return nil, 0, false
	}
	if l := live(bs, now); len(l) == len(bs) {
		return bs, version, true
	}
	// Some expired: an update read from Redis deletes their fields there.
	return nil, 0, false
}

// Lookup implements Store.
func (m *Memory) Lookup(ctx context.Context, aor string) ([]Binding, error) {
	now := m.now()
	s := m.shard(aor)
	s.mu.Lock()
	r := s.records[aor]
	var bs []Binding
	if r != nil {
		bs = r.bindings
	}
	s.mu.Unlock()
	return live(bs, now), nil
}

// Counts returns the number of live bindings per tenant, as of the last sweep.
func (m *Memory) Counts() map[string]int {
	out := make(map[string]int)
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for t, n := range s.counts {
			out[t] += n
		}
		s.mu.Unlock()
	}
	return out
}

// Sweep removes every binding expired at now and returns how many it removed.
func (m *Memory) Sweep() int {
	now := m.now()
	removed := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for len(s.due) > 0 && !now.Before(s.due[0].next) {
			r := s.due[0]
			before := len(r.bindings)
			s.set(r, live(r.bindings, now))
			removed += before - len(r.bindings)
		}
		s.mu.Unlock()
	}
	return removed
}

// Run sweeps expired bindings every interval until ctx ends.
func (m *Memory) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			m.Sweep()
		}
	}
}

// set stores bs as r's bindings and keeps the heap, the record map and the
// per-tenant counts in step. Callers hold s.mu.
func (s *shard) set(r *record, bs []Binding) {
	s.counts[r.tenant] += len(bs) - len(r.bindings)
	if s.counts[r.tenant] == 0 {
		delete(s.counts, r.tenant)
	}
	r.bindings = bs
	if len(bs) == 0 {
		if r.index >= 0 {
			heap.Remove(&s.due, r.index)
		}
		delete(s.records, r.aor)
		return
	}
	r.next = bs[0].Expires
	for _, b := range bs[1:] {
		if b.Expires.Before(r.next) {
			r.next = b.Expires
		}
	}
	if r.index >= 0 {
		heap.Fix(&s.due, r.index)
	} else {
		heap.Push(&s.due, r)
	}
}

// live returns bs without the bindings expired at now, reusing bs when none are.
func live(bs []Binding, now time.Time) []Binding {
	for i := range bs {
		if bs[i].Expired(now) {
			out := make([]Binding, 0, len(bs)-1)
			out = append(out, bs[:i]...)
			for _, b := range bs[i+1:] {
				if !b.Expired(now) {
					out = append(out, b)
				}
			}
			return out
		}
	}
	return bs
}

// expiryHeap orders records by their earliest binding expiry.
type expiryHeap []*record

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *expiryHeap) Push(x any) {
	r := x.(*record)
	r.index = len(*h)
	*h = append(*h, r)
}
func (h *expiryHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	r.index = -1
	*h = old[:len(old)-1]
	return r
}

// All returns the live bindings of every AOR of a tenant ("" = every
// tenant), sorted by AOR then contact.
func (m *Memory) All(tenant string) []Binding {
	now := m.now()
	var out []Binding
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for _, r := range s.records {
			if tenant == "" || r.tenant == tenant {
				out = append(out, live(r.bindings, now)...)
			}
		}
		s.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b Binding) int {
		return cmp.Or(strings.Compare(a.AOR, b.AOR), strings.Compare(a.Contact, b.Contact))
	})
	return out
}
