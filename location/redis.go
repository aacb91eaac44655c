package location

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/redisconn"
)

// RedisOptions configure a Redis location store.
type RedisOptions struct {
	// Prefix starts every key (default "sb:").
	Prefix string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Redis is the location Store shared by every instance: one hash per AOR
// (see docs/redis.md). Update is an optimistic read-modify-write that
// rewrites only the contacts that changed, so a re-REGISTER costs one
// field, one index entry and the key's TTL.
//
// It keeps a mirror of every binding it wrote or read in a Memory store.
// While Redis is unreachable, lookups are answered from the mirror and
// updates are applied to it and remembered (with the contacts they removed);
// Run writes them back when Redis answers again, the later Updated winning
// per contact. When Redis comes back empty (its epoch key changed), Run
// writes back every binding of the mirror.
type Redis struct {
	rdb    *redisconn.Client
	prefix string
	log    *slog.Logger
	now    func() time.Time

	tenantsKey, epochKey string

	mirror *Memory
	kick   chan struct{}
	batch  *batcher // group commit of concurrent reads and writes

	versions atomic.Uint64 // source of version tokens, see newVersion

	mu     sync.Mutex
	dirty  map[string]*pending // AOR -> changes not yet in Redis
	epoch  string              // the epoch key's value when last seen; "" before the first check
	counts map[string]int      // last counts read from Redis
}

// pending is what an AOR changed while Redis was away.
type pending struct {
	tenant  string
	seq     uint64               // bumped by every update made in the mirror
	removed map[string]time.Time // contact -> when it was removed
}

var _ Store = (*Redis)(nil)

// NewRedis returns a location store on c. Call Run to write back what an
// outage kept in memory.
func NewRedis(c *redisconn.Client, o RedisOptions) *Redis {
	if o.Prefix == "" {
		o.Prefix = "sb:"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &Redis{
		rdb:        c,
		prefix:     o.Prefix,
		log:        o.Logger,
		now:        o.Now,
		tenantsKey: o.Prefix + "loc:tenants",
		epochKey:   o.Prefix + "loc:epoch",
		mirror:     NewMemory(o.Now),
		kick:       make(chan struct{}, 1),
		dirty:      make(map[string]*pending),
		batch:      newBatcher(func() redis.Pipeliner { return c.Pipeline() }, maxBatch, maxFlights),
	}
	// Version tokens start at a random point, so that no two processes
	// (nor two runs of one) hand out the same; the top bit stays clear,
	// leaving room below 2^63 for the small counters older releases wrote.
	var seed [8]byte
	_, _ = rand.Read(seed[:])
	r.versions.Store(binary.BigEndian.Uint64(seed[:])>>1 | 1<<62)
	return r
}

// Group commit limits (see batcher): at most maxBatch jobs — a read is one,
// a write another — in one pipeline, and maxFlights pipelines in flight,
// which leaves most of the connection pool to the directory store.
const (
	maxBatch   = 128
	maxFlights = 4
)

func (r *Redis) aorKey(aor string) string       { return r.prefix + "loc:" + aor }
func (r *Redis) tenantKey(tenant string) string { return r.prefix + "loc:tenant:" + tenant }

// errEpoch means Redis answered but is not the Redis this instance wrote
// to: it lost its data. Treated like an outage until Run has written back.
var errEpoch = errors.New("location: redis lost its data")

// Update implements Store.
func (r *Redis) Update(ctx context.Context, aor, tenant string, fn UpdateFunc) ([]Binding, error) {
	if r.isDirty(aor) {
		return r.updateMirror(ctx, aor, tenant, fn)
	}
	out, appErr, err := r.update(ctx, "location_update", aor, tenant, fn)
	if appErr != nil {
		return nil, appErr
	}
	if err != nil {
		if !unreachable(err) {
			return nil, fmt.Errorf("update %s: %w", aor, err)
		}
		r.log.Debug("redis unreachable; registration kept in memory", "aor", aor, "error", err)
		return r.updateMirror(ctx, aor, tenant, fn)
	}
	return out, nil // update left it in the mirror
}

// Lookup implements Store.
func (r *Redis) Lookup(ctx context.Context, aor string) ([]Binding, error) {
	var st stored
	err := r.rdb.Call(ctx, "location_lookup", func(ctx context.Context) error {
		var err error
		st, err = r.read(ctx, aor)
		return err
	})
	if err != nil {
		if !unreachable(err) {
			return nil, fmt.Errorf("lookup %s: %w", aor, err)
		}
		return r.mirror.Lookup(ctx, aor)
	}
	bs := st.bindings
	if p := r.pendingOf(aor); p != nil {
		mine, _ := r.mirror.Lookup(ctx, aor)
		return merge(bs, mine, p.removed), nil
	}
	tenant := ""
	if len(bs) > 0 {
		tenant = bs[0].Tenant
	}
	var v uint64 // 0: the mirror knows the bindings but not a version to write on
	if st.exact {
		v, _ = strconv.ParseUint(st.version, 10, 64)
	}
	r.mirror.setVersioned(aor, tenant, bs, v)
	return bs, nil
}

// unreachable reports whether err means Redis could not be used, so the
// mirror must stand in.
func unreachable(err error) bool { return errors.Is(err, errEpoch) || redisconn.IsFailure(err) }

// updateMirror applies fn to the mirror and marks the AOR for write-back.
func (r *Redis) updateMirror(ctx context.Context, aor, tenant string, fn UpdateFunc) ([]Binding, error) {
	var removed []string
	var when time.Time
	out, err := r.mirror.Update(ctx, aor, tenant, func(now time.Time, cur []Binding) ([]Binding, error) {
		next, err := fn(now, cur)
		if err != nil {
			return nil, err
		}
		when = now
		for _, b := range cur {
			if !slices.ContainsFunc(next, func(n Binding) bool { return n.Key() == b.Key() }) {
				removed = append(removed, b.Key())
			}
		}
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	p := r.dirty[aor]
	if p == nil {
		p = &pending{tenant: tenant, removed: map[string]time.Time{}}
		r.dirty[aor] = p
	}
	p.seq++
	for _, c := range removed {
		p.removed[c] = when
	}
	for _, b := range out {
		delete(p.removed, b.Key())
	}
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
	return out, nil
}

func (r *Redis) isDirty(aor string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dirty[aor] != nil
}

// pendingOf returns a copy of an AOR's pending changes, or nil.
func (r *Redis) pendingOf(aor string) *pending {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.dirty[aor]
	if p == nil {
		return nil
	}
	c := *p
	c.removed = make(map[string]time.Time, len(p.removed))
	for k, v := range p.removed {
		c.removed[k] = v
	}
	return &c
}

// merge combines what Redis holds with what this instance kept during an
// outage: per contact the binding updated last wins; a contact only Redis
// has stays unless this instance removed it after Redis's copy was written.
func merge(stored, mine []Binding, removed map[string]time.Time) []Binding {
	out := slices.Clone(mine)
	for _, s := range stored {
		i := slices.IndexFunc(out, func(b Binding) bool { return b.Key() == s.Key() })
		switch {
		case i >= 0:
			if s.Updated.After(out[i].Updated) {
				out[i] = s
			}
		case !removed[s.Key()].IsZero() && !removed[s.Key()].Before(s.Updated):
			// removed here after it was written there
		default:
			out = append(out, s)
		}
	}
	return out
}

// Health reports the store's state for /readyz: an error while Redis does
// not answer or while registrations made during an outage are not yet
// written back (degraded: lookups are served from memory).
func (r *Redis) Health(ctx context.Context) error {
	if err := r.rdb.Health(ctx); err != nil {
		return fmt.Errorf("location store degraded (registrations kept in memory): %w", err)
	}
	r.mu.Lock()
	n := len(r.dirty)
	r.mu.Unlock()
	if n > 0 {
		return fmt.Errorf("location store degraded: %d addresses of record not yet written back to redis", n)
	}
	return nil
}

// Pending returns how many AORs have changes not yet written back.
func (r *Redis) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.dirty)
}

// Run writes back, until ctx ends, what outages kept in memory: at once
// when an update lands in memory, and every interval (which also notices a
// Redis that came back empty).
func (r *Redis) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	r.reconcile(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-r.kick:
		}
		r.reconcile(ctx)
	}
}

// reconcile checks the epoch and writes back pending AORs, stopping at the
// first failure (Redis is still away; the next round retries).
func (r *Redis) reconcile(ctx context.Context) {
	if !r.rdb.Breaker().Ready() {
		return
	}
	lost, err := r.checkEpoch(ctx)
	if err != nil {
		return
	}
	if lost {
		n := r.markAllDirty()
		r.log.Warn("redis lost its registrations; writing back the ones this instance holds", "aors", n)
	}
	r.mu.Lock()
	aors := make([]string, 0, len(r.dirty))
	for aor := range r.dirty {
		aors = append(aors, aor)
	}
	r.mu.Unlock()
	for _, aor := range aors {
		if ctx.Err() != nil {
			return
		}
		if err := r.flush(ctx, aor); err != nil {
			r.log.Debug("write-back paused", "error", err)
			return
		}
	}
}

// checkEpoch reads the epoch key, creating it when absent. A value other
// than the one last seen means Redis lost its data since.
func (r *Redis) checkEpoch(ctx context.Context) (lost bool, err error) {
	var val string
	err = r.rdb.Call(ctx, "location_epoch", func(ctx context.Context) error {
		fresh := strconv.FormatInt(time.Now().UnixNano(), 36)
		v, err := r.rdb.SetArgs(ctx, r.epochKey, fresh, redis.SetArgs{Mode: "NX", Get: true}).Result()
		if errors.Is(err, redis.Nil) {
			val = fresh
			return nil
		}
		val = v
		return err
	})
	if err != nil {
		return false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	lost = r.epoch != "" && r.epoch != val
	r.epoch = val
	return lost, nil
}

func (r *Redis) currentEpoch() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.epoch
}

// markAllDirty schedules every AOR of the mirror for write-back.
func (r *Redis) markAllDirty() int {
	all := r.mirror.All("")
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range all {
		if r.dirty[b.AOR] == nil {
			r.dirty[b.AOR] = &pending{tenant: b.Tenant, removed: map[string]time.Time{}}
		}
	}
	return len(r.dirty)
}

// flush writes one AOR's mirror bindings back to Redis, merged with what
// Redis holds, and clears it unless it changed meanwhile.
func (r *Redis) flush(ctx context.Context, aor string) error {
	p := r.pendingOf(aor)
	if p == nil {
		return nil
	}
	mine, _ := r.mirror.Lookup(ctx, aor)
	out, _, err := r.update(ctx, "location_writeback", aor, p.tenant, func(_ time.Time, cur []Binding) ([]Binding, error) {
		return merge(cur, mine, p.removed), nil
	})
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if q := r.dirty[aor]; q != nil && q.seq == p.seq {
		delete(r.dirty, aor)
		_, _ = r.mirror.Update(ctx, aor, p.tenant, func(time.Time, []Binding) ([]Binding, error) { return out, nil })
	}
	return nil
}
