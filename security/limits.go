package security

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/redisconn"
)

// CallCounter counts what the toll-fraud limits bound: each tenant's calls
// through a trunk at once, and each user's new outbound calls per minute.
// With Redis the counts hold across instances; if Redis fails, each
// instance falls back to counting on its own.
type CallCounter struct {
	rdb    *redisconn.Client // nil = this instance only
	prefix string
	log    *slog.Logger
	now    func() time.Time
	maxAge time.Duration // a slot leaked by a crash expires after this

	mu    sync.Mutex
	slots map[string]map[string]time.Time // tenant -> call id -> expiry
	rate  genMap[string, minuteCount]     // tenant|user -> count this minute
}

type minuteCount struct {
	minute int64
	n      int
}

// NewCallCounter returns a counter; rdb nil keeps the counts in memory.
// maxAge bounds how long a call's slot is held if its end is never seen
// (0 = 12h, the SIP server's max call age).
func NewCallCounter(rdb *redisconn.Client, prefix string, maxAge time.Duration, log *slog.Logger) *CallCounter {
	if prefix == "" {
		prefix = "sb:"
	}
	if maxAge <= 0 {
		maxAge = 12 * time.Hour
	}
	if log == nil {
		log = slog.Default()
	}
	c := &CallCounter{rdb: rdb, prefix: prefix, log: log, now: time.Now, maxAge: maxAge,
		slots: make(map[string]map[string]time.Time)}
	c.rate.init(32768)
	return c
}

// acquireScript takes a slot when fewer than ARGV[3] are live: one sorted
// set per tenant, call id -> expiry (ms).
var acquireScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1`)

// Acquire takes one of tenant's max concurrent-call slots for callID and
// reports whether there was one. Taking a slot callID already holds
// succeeds.
func (c *CallCounter) Acquire(ctx context.Context, tenant, callID string, max int) bool {
	now := c.now()
	if c.rdb != nil {
		var ok int64
		err := c.rdb.Call(ctx, "limits_acquire", func(ctx context.Context) error {
			var err error
			ok, err = acquireScript.Run(ctx, c.rdb, []string{c.prefix + "lim:calls:" + tenant},
				now.UnixMilli(), now.Add(c.maxAge).UnixMilli(), max, callID).Int64()
			return err
		})
		if err == nil {
			return ok == 1
		}
		c.log.Warn("limits: shared call count unavailable; counting on this instance", "error", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.slots[tenant]
	if m == nil {
		m = make(map[string]time.Time)
		c.slots[tenant] = m
	}
	for id, exp := range m {
		if !now.Before(exp) {
			delete(m, id)
		}
	}
	if _, held := m[callID]; held {
		return true
	}
	if len(m) >= max {
		return false
	}
	m[callID] = now.Add(c.maxAge)
	return true
}

// Release gives callID's slot back.
func (c *CallCounter) Release(ctx context.Context, tenant, callID string) {
	c.mu.Lock()
	if m := c.slots[tenant]; m != nil {
		delete(m, callID)
		if len(m) == 0 {
			delete(c.slots, tenant)
		}
	}
	c.mu.Unlock()
	if c.rdb != nil {
		_ = c.rdb.Call(ctx, "limits_release", func(ctx context.Context) error {
			return c.rdb.ZRem(ctx, c.prefix+"lim:calls:"+tenant, callID).Err()
		})
	}
}

// CountOutbound counts one new outbound call of user and returns the
// user's count in the current minute, this call included.
func (c *CallCounter) CountOutbound(ctx context.Context, tenant, user string) int {
	minute := c.now().Unix() / 60
	if c.rdb != nil {
		key := c.prefix + "lim:rate:" + tenant + ":" + user + ":" + strconv.FormatInt(minute, 10)
		var n *redis.IntCmd
		err := c.rdb.Call(ctx, "limits_rate", func(ctx context.Context) error {
			_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
				n = p.Incr(ctx, key)
				p.Expire(ctx, key, 2*time.Minute)
				return nil
			})
			return err
		})
		if err == nil {
			return int(n.Val())
		}
		c.log.Warn("limits: shared outbound count unavailable; counting on this instance", "error", fmt.Errorf("%s: %w", key, err))
	}
	c.rate.mu.Lock()
	defer c.rate.mu.Unlock()
	m, _ := c.rate.get(tenant + "|" + user)
	if m.minute != minute {
		m.minute, m.n = minute, 0
	}
	m.n++
	return m.n
}
