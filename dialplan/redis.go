package dialplan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/switchboard/switchboard/internal/redisconn"
)

// DefaultCacheSize is how many tenants a RedisStore keeps compiled in process.
const DefaultCacheSize = 10000

// ErrRedisLost is returned when Redis answers without the directory it held
// before (it restarted empty); cached views are served meanwhile.
var ErrRedisLost = errors.New("dialplan: redis lost the directory")

// RedisOptions configure a RedisStore.
type RedisOptions struct {
	// Realm is the digest realm passwords are hashed for; "" means each
	// tenant's domain.
	Realm string
	// Prefix starts every key and the channel name (default "sb:").
	Prefix string
	// CacheSize bounds the tenants kept compiled in process (default
	// DefaultCacheSize).
	CacheSize int
	// Registerer receives the cache metrics; nil registers nowhere.
	Registerer prometheus.Registerer
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// RedisStore is the directory in Redis, shared by every instance, with an
// in-process cache of compiled views in front (see docs/redis.md for the key
// schema). Reads on the call path are served from the cache when fresh;
// misses read through to Redis; every write bumps a version counter and
// publishes the change, which Run turns into cache invalidations. When Redis
// cannot answer, cached views are served even when stale.
type RedisStore struct {
	rdb    *redisconn.Client
	realm  string
	log    *slog.Logger
	cache  *viewCache
	prefix string

	tenantsKey, numbersKey, versionKey, channel string

	hits, misses, staleServed prometheus.Counter

	loads singleflight.Group // concurrent cache misses per domain

	mu   sync.Mutex
	seed *Directory // what Seed imported, to import again if Redis loses it
}

var (
	_ Store  = (*RedisStore)(nil)
	_ Writer = (*RedisStore)(nil)
)

// NewRedisStore returns a store on c. Call Run to receive invalidations.
func NewRedisStore(c *redisconn.Client, o RedisOptions) *RedisStore {
	if o.Prefix == "" {
		o.Prefix = "sb:"
	}
	if o.CacheSize <= 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	req := promauto.With(o.Registerer).NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_directory_cache_requests_total",
		Help: "Directory lookups by whether the in-process cache answered (hit) or Redis was asked (miss).",
	}, []string{"result"})
	return &RedisStore{
		rdb:        c,
		realm:      o.Realm,
		log:        o.Logger,
		cache:      newViewCache(o.CacheSize),
		prefix:     o.Prefix,
		tenantsKey: o.Prefix + "tenants",
		numbersKey: o.Prefix + "numbers",
		versionKey: o.Prefix + "version",
		channel:    o.Prefix + "changed",
		hits:       req.WithLabelValues("hit"),
		misses:     req.WithLabelValues("miss"),
		staleServed: promauto.With(o.Registerer).NewCounter(prometheus.CounterOpts{
			Name: "switchboard_directory_cache_stale_total",
			Help: "Directory lookups answered from a stale cached view because Redis could not be asked.",
		}),
	}
}

func (s *RedisStore) tenantKey(domain string) string { return s.prefix + "tenant:" + domain }

// Tenant implements Reader.
func (s *RedisStore) Tenant(ctx context.Context, domain string) (*View, error) {
	e := s.cache.domain(domain)
	if s.cache.fresh(e) {
		s.hits.Inc()
		return e.view, nil
	}
	s.misses.Inc()
	ne, err := s.load(ctx, strings.ToLower(domain))
	if err == nil {
		return ne.view, nil
	}
	return s.fallback(e, err)
}

// fallback serves a stale entry when Redis failed; a not-found answer is
// final.
func (s *RedisStore) fallback(e *cacheEntry, err error) (*View, error) {
	if e != nil && !errors.Is(err, ErrNotFound) {
		s.staleServed.Inc()
		return e.view, nil
	}
	return nil, err
}

// TenantByNumber implements Reader.
func (s *RedisStore) TenantByNumber(ctx context.Context, e164 string) (*View, error) {
	e := s.cache.number(e164)
	if s.cache.fresh(e) {
		s.hits.Inc()
		return e.view, nil
	}
	s.misses.Inc()
	var domain string
	err := s.rdb.Call(ctx, "directory_number", func(ctx context.Context) error {
		var ver int64
		var err error
		domain, ver, err = s.getWithVersion(ctx, func(p redis.Pipeliner) *redis.StringCmd {
			return p.HGet(ctx, s.numbersKey, e164)
		})
		if err == nil && domain == "" && ver == 0 && s.cache.knownVersion() > 0 {
			return ErrRedisLost
		}
		return err
	})
	if err == nil && domain == "" {
		err = fmt.Errorf("tenant of number %s: %w", e164, ErrNotFound)
	}
	if err != nil {
		return s.fallback(e, err)
	}
	ne := s.cache.domain(domain)
	if !s.cache.fresh(ne) || !owns(ne.view, e164) {
		if ne, err = s.load(ctx, domain); err != nil {
			return s.fallback(e, err)
		}
	}
	if !owns(ne.view, e164) {
		// The index and the document disagree only across a write landing
		// between the two reads; the next lookup sees both.
		return nil, fmt.Errorf("tenant of number %s: %w", e164, ErrNotFound)
	}
	s.cache.linkNumber(e164, ne)
	return ne.view, nil
}

func owns(v *View, e164 string) bool {
	if v.Tenant.MainNumber == e164 {
		return true
	}
	if _, listed := v.Tenant.Numbers[e164]; listed { // routed or not: owned
		return true
	}
	_, ok := v.Number(e164)
	return ok
}

// load reads a tenant and the version counter in one transaction and
// installs the compiled view in the cache.
//
// Concurrent misses for one tenant share a single read and compile: after a
// restart or an invalidation, every REGISTER of a busy tenant misses at once,
// and each doing its own read and compile overran the Redis timeout.
func (s *RedisStore) load(ctx context.Context, domain string) (*cacheEntry, error) {
	v, err, _ := s.loads.Do(domain, func() (any, error) { return s.loadOnce(ctx, domain) })
	if err != nil {
		return nil, err
	}
	return v.(*cacheEntry), nil
}

func (s *RedisStore) loadOnce(ctx context.Context, domain string) (*cacheEntry, error) {
	gen := s.cache.gen.Load()
	var raw string
	var ver int64
	err := s.rdb.Call(ctx, "directory_tenant", func(ctx context.Context) error {
		var err error
		raw, ver, err = s.getWithVersion(ctx, func(p redis.Pipeliner) *redis.StringCmd {
			return p.Get(ctx, s.tenantKey(domain))
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tenant %q: %w", domain, err)
	}
	if ver == 0 && s.cache.knownVersion() > 0 {
		return nil, fmt.Errorf("tenant %q: %w", domain, ErrRedisLost)
	}
	if raw == "" {
		return nil, fmt.Errorf("tenant %q: %w", domain, ErrNotFound)
	}
	t, err := decodeTenant([]byte(raw))
	if err != nil {
		return nil, fmt.Errorf("tenant %q: %w", domain, err)
	}
	snap, err := Compile(&Directory{Tenants: []*Tenant{t}})
	if err != nil {
		return nil, fmt.Errorf("tenant %q stored in redis: %w", domain, err)
	}
	return s.cache.put(domain, snap.views[0], ver, gen), nil
}

// getWithVersion runs one string read and GET version in MULTI/EXEC; a
// missing value is "" and a missing version 0.
func (s *RedisStore) getWithVersion(ctx context.Context, read func(p redis.Pipeliner) *redis.StringCmd) (string, int64, error) {
	var val, ver *redis.StringCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		val = read(p)
		ver = p.Get(ctx, s.versionKey)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", 0, err
	}
	v, err := val.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", 0, err
	}
	n, err := ver.Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", 0, err
	}
	return v, n, nil
}

// Health reports whether Redis answers; while it does not, lookups are
// served from the cache (degraded).
func (s *RedisStore) Health(ctx context.Context) error {
	if err := s.rdb.Health(ctx); err != nil {
		return fmt.Errorf("directory store degraded (serving cached views): %w", err)
	}
	return nil
}

// Run receives change notifications until ctx ends, invalidating cached
// views, and polls the version counter to notice a Redis that lost its data
// (which it seeds again with what Seed imported, if anything). It
// resubscribes after any connection loss, dropping the whole cache each time
// since messages may have been missed.
func (s *RedisStore) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		s.subscribe(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

// subscribe listens on one subscription until it fails or goes silent.
func (s *RedisStore) subscribe(ctx context.Context) {
	ps := s.rdb.Subscribe(ctx, s.channel)
	defer ps.Close()
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	last := time.Now()
	for {
		msg, err := ps.ReceiveTimeout(ctx, 500*time.Millisecond)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne interface{ Timeout() bool }
			if !errors.As(err, &ne) || !ne.Timeout() || time.Since(last) > 2*time.Second {
				return // broken or silent (black-holed): resubscribe
			}
			if ps.Ping(ctx) != nil {
				return
			}
			s.poll(ctx)
			continue
		}
		last = time.Now()
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				s.cache.subscribed()
			}
		case *redis.Message:
			ver, domain, ok := strings.Cut(m.Payload, " ")
			if v, err := strconv.ParseInt(ver, 10, 64); ok && err == nil {
				s.cache.changed(v, domain)
			} else {
				s.log.Warn("unexpected directory change message", "payload", m.Payload)
			}
		}
	}
}

// poll compares the version counter with the cache's (see
// viewCache.polled): one that went back means Redis lost its data.
func (s *RedisStore) poll(ctx context.Context) {
	var ver int64
	err := s.rdb.Call(ctx, "directory_version", func(ctx context.Context) error {
		var err error
		ver, err = s.rdb.Get(ctx, s.versionKey).Int64()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		return err
	})
	if err != nil || !s.cache.polled(ver) {
		return
	}
	if ver > 0 {
		s.log.Warn("directory version went back; dropping the cache", "known", s.cache.knownVersion(), "redis", ver)
		s.cache.rewind(ver)
		return
	}
	s.mu.Lock()
	seed := s.seed
	s.mu.Unlock()
	if seed == nil {
		return // keep serving the cache: nothing to put back
	}
	s.log.Error("redis lost the directory; importing the directory file again (changes made since start are lost unless Redis persists its data)")
	if _, err := s.seedIfEmpty(ctx, seed); err != nil {
		s.log.Error("directory re-import failed", "error", err)
		return
	}
	s.cache.rewind(0)
}
