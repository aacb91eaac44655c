package security

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/redisconn"
)

// RedisShared keeps failure counters and bans in Redis (docs/redis.md):
//
//	<prefix>sec:fail:<ip>   hash username -> wrong digests; TTL = window from the first
//	<prefix>sec:bans        sorted set "ip|user|reason", score = until (unix ms)
//	<prefix>sec:events      channel: "ban ip|user|reason|until_ms" or "lift ip"
//
// The ban set is trimmed of expired members on every write and capped at
// max members, evicting those closest to expiry first.
type RedisShared struct {
	rdb     *redisconn.Client
	prefix  string
	bansKey string
	channel string
	max     int64
}

var _ Shared = (*RedisShared)(nil)

// NewRedisShared returns the Shared store on rdb under prefix ("sb:" when
// empty) holding at most max bans (0 = 65536).
func NewRedisShared(rdb *redisconn.Client, prefix string, max int) *RedisShared {
	if prefix == "" {
		prefix = "sb:"
	}
	if max <= 0 {
		max = 65536
	}
	return &RedisShared{rdb: rdb, prefix: prefix, bansKey: prefix + "sec:bans", channel: prefix + "sec:events", max: int64(max)}
}

func (r *RedisShared) failKey(ip netip.Addr) string { return r.prefix + "sec:fail:" + ip.String() }

// CountFailure implements Shared.
func (r *RedisShared) CountFailure(ctx context.Context, ip netip.Addr, user string, window time.Duration) (int, int, error) {
	key := r.failKey(ip)
	var n *redis.IntCmd
	var users *redis.IntCmd
	err := r.rdb.Call(ctx, "security_failure", func(ctx context.Context) error {
		_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			n = p.HIncrBy(ctx, key, user, 1)
			p.ExpireNX(ctx, key, window)
			users = p.HLen(ctx, key)
			return nil
		})
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("count failure %s: %w", key, err)
	}
	return int(n.Val()), int(users.Val()), nil
}

func member(b Ban) string {
	return b.Source.String() + "|" + b.User + "|" + string(b.Reason)
}

func parseMember(m string, untilMs int64) (Ban, bool) {
	parts := strings.Split(m, "|")
	if len(parts) != 3 {
		return Ban{}, false
	}
	ip, err := netip.ParseAddr(parts[0])
	if err != nil {
		return Ban{}, false
	}
	return Ban{Source: ip, User: parts[1], Reason: Reason(parts[2]), Until: time.UnixMilli(untilMs)}, true
}

// PutBan implements Shared.
func (r *RedisShared) PutBan(ctx context.Context, b Ban) error {
	m := member(b)
	until := b.Until.UnixMilli()
	err := r.rdb.Call(ctx, "security_ban", func(ctx context.Context) error {
		_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.ZAddGT(ctx, r.bansKey, redis.Z{Score: float64(until), Member: m})
			p.ZRemRangeByScore(ctx, r.bansKey, "-inf", strconv.FormatInt(time.Now().UnixMilli(), 10))
			// Past max, the bans closest to expiry go first.
			p.ZRemRangeByRank(ctx, r.bansKey, 0, -r.max-1)
			p.Publish(ctx, r.channel, "ban "+m+"|"+strconv.FormatInt(until, 10))
			return nil
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("put ban %s: %w", m, err)
	}
	return nil
}

// Lift implements Shared.
func (r *RedisShared) Lift(ctx context.Context, ip netip.Addr) error {
	prefix := ip.String() + "|"
	err := r.rdb.Call(ctx, "security_lift", func(ctx context.Context) error {
		// Members of one IP sort together: ZRANGEBYLEX would need equal
		// scores, so read them all; the set is bounded.
		all, err := r.rdb.ZRange(ctx, r.bansKey, 0, -1).Result()
		if err != nil {
			return err
		}
		var drop []any
		for _, m := range all {
			if strings.HasPrefix(m, prefix) {
				drop = append(drop, m)
			}
		}
		_, err = r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if len(drop) > 0 {
				p.ZRem(ctx, r.bansKey, drop...)
			}
			p.Del(ctx, r.failKey(ip))
			p.Publish(ctx, r.channel, "lift "+ip.String())
			return nil
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("lift bans of %s: %w", ip, err)
	}
	return nil
}

// Bans implements Shared.
func (r *RedisShared) Bans(ctx context.Context) ([]Ban, error) {
	var zs []redis.Z
	err := r.rdb.Call(ctx, "security_bans", func(ctx context.Context) error {
		var err error
		zs, err = r.rdb.ZRangeByScoreWithScores(ctx, r.bansKey, &redis.ZRangeBy{
			Min: strconv.FormatInt(time.Now().UnixMilli(), 10), Max: "+inf"}).Result()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list bans: %w", err)
	}
	out := make([]Ban, 0, len(zs))
	for _, z := range zs {
		m, _ := z.Member.(string)
		if b, ok := parseMember(m, int64(z.Score)); ok {
			out = append(out, b)
		}
	}
	return out, nil
}

// Watch implements Shared.
func (r *RedisShared) Watch(ctx context.Context, onBan func(Ban), onLift func(netip.Addr)) error {
	ps := r.rdb.Subscribe(ctx, r.channel)
	defer ps.Close()
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	for {
		msg, err := ps.ReceiveTimeout(ctx, 5*time.Second)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() && ps.Ping(ctx) == nil {
				continue
			}
			return fmt.Errorf("ban subscription: %w", err)
		}
		m, ok := msg.(*redis.Message)
		if !ok {
			continue
		}
		kind, rest, _ := strings.Cut(m.Payload, " ")
		switch kind {
		case "ban":
			i := strings.LastIndexByte(rest, '|')
			if i < 0 {
				continue
			}
			until, err := strconv.ParseInt(rest[i+1:], 10, 64)
			if b, ok := parseMember(rest[:i], until); ok && err == nil {
				onBan(b)
			}
		case "lift":
			if ip, err := netip.ParseAddr(rest); err == nil {
				onLift(ip)
			}
		}
	}
}
