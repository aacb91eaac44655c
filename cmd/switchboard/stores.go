package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/internal/redisconn"
	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/mailbox"
	"github.com/switchboard/switchboard/sip/auth"
)

// directoryStore is what serve needs of the directory: the call path's
// reads, the admin API's writes and export.
type directoryStore interface {
	dialplan.Store
	dialplan.Writer
}

// locationStore is what serve needs of the location service: the
// registrar's Store, per-tenant counts for the registrations_active gauge
// and the admin API's listing.
type locationStore interface {
	location.Store
	Counts() map[string]int
	All(tenant string) []location.Binding
}

// stores are the directory and location stores serve runs on: in memory, or
// in Redis when store.redis is set.
type stores struct {
	dir directoryStore
	loc locationStore
	// accounts holds tenant admins, tokens and sessions, next to the
	// directory (in Redis, shared by every instance).
	accounts dialplan.Accounts
	// mail holds voicemail messages and greetings (memory or Redis).
	mail   mailbox.Store
	run    []func(ctx context.Context) error
	health []func(ctx context.Context) error
	close  func() error
	// nonceSecret is the digest nonce key every instance on the same
	// Redis shares (<prefix>auth:secret); nil with the memory store.
	nonceSecret []byte
	// redis is the shared client (security bans); nil with the memory store.
	redis *redisconn.Client
}

// openStores builds the stores for cfg and loads dir into them: the memory
// store always takes it; a Redis store imports it only when Redis holds no
// directory yet.
func openStores(ctx context.Context, cfg config.Config, dir *dialplan.Directory, reg prometheus.Registerer, log *slog.Logger) (*stores, error) {
	if cfg.Store.Redis == "" {
		mem := dialplan.NewMemoryStore(dialplan.WithRealm(cfg.SIP.Realm))
		if err := mem.Replace(ctx, dir); err != nil {
			return nil, fmt.Errorf("invalid directory:\n%w", err)
		}
		loc := location.NewMemory(nil)
		return &stores{dir: mem, loc: loc, accounts: dialplan.NewMemoryAccounts(), mail: mailbox.NewMemory(),
			run:   []func(context.Context) error{func(ctx context.Context) error { return loc.Run(ctx, time.Second) }},
			close: func() error { return nil },
		}, nil
	}
	rdb, err := openRedis(cfg, reg)
	if err != nil {
		return nil, err
	}
	// One prefix for every key: "sb:", or "{sb}:" on Redis Cluster so that
	// all keys share one hash slot (see redisconn.Client.KeyPrefix).
	prefix := rdb.KeyPrefix()
	rdir := dialplan.NewRedisStore(rdb, dialplan.RedisOptions{Prefix: prefix, Realm: cfg.SIP.Realm, Registerer: reg, Logger: log})
	rloc := location.NewRedis(rdb, location.RedisOptions{Prefix: prefix, Logger: log})
	switch imported, err := rdir.Seed(ctx, dir); {
	case err != nil:
		var ps dialplan.Problems
		if errors.As(err, &ps) {
			rdb.Close()
			return nil, fmt.Errorf("invalid directory:\n%w", err)
		}
		// Redis is down at start: serve anyway, degraded; Run imports
		// the file once Redis answers (it will be empty).
		log.Error("redis unreachable at start; directory not imported yet", "error", err)
	case imported:
		log.Info("redis was empty: directory file imported", "file", cfg.Directory, "tenants", len(dir.Tenants))
	default:
		log.Info("redis already holds a directory: the directory file is not imported (use switchboard directory import -force to overwrite)",
			"file", cfg.Directory)
	}
	secret, err := nonceSecret(ctx, rdb, prefix)
	if err != nil {
		// Redis is down at start: sign with a random key, offered to Redis
		// by keepNonceSecret when it returns. If another instance's key is
		// there, this one's nonces are not accepted by the others until it
		// is restarted (a phone answering elsewhere is challenged again).
		log.Error("shared nonce secret not read from redis; using a random one", "error", err)
		secret = make([]byte, nonceSecretLen)
		rand.Read(secret)
	}
	rmail := mailbox.NewRedis(rdb, prefix, log)
	return &stores{dir: rdir, loc: rloc, nonceSecret: secret, accounts: dialplan.NewRedisAccounts(rdb, prefix), redis: rdb, mail: rmail,
		run: []func(context.Context) error{
			rdir.Run,
			rmail.Run,
			func(ctx context.Context) error {
				keepNonceSecret(ctx, rdb, prefix, secret, 2*time.Second, log)
				return nil
			},
			func(ctx context.Context) error { return rloc.Run(ctx, 500*time.Millisecond) },
		},
		health: []func(context.Context) error{rdir.Health, rloc.Health},
		close:  rdb.Close,
	}, nil
}

// nonceSecretLen is the size of the shared nonce secret created in Redis.
const nonceSecretLen = 32

// nonceSecret returns the HMAC key every instance on this Redis signs digest
// nonces with, so a REGISTER challenged by one instance can be answered to
// another: the first instance creates it (SET <prefix>auth:secret NX),
// every one reads it back. It is never rotated automatically (see
// docs/redis.md).
func nonceSecret(ctx context.Context, rdb *redisconn.Client, prefix string) ([]byte, error) {
	key := prefix + "auth:secret"
	fresh := make([]byte, nonceSecretLen)
	rand.Read(fresh) // never fails since Go 1.24
	var secret []byte
	err := rdb.CallTimeout(ctx, "auth_secret", time.Second, func(ctx context.Context) error {
		if err := rdb.SetNX(ctx, key, fresh, 0).Err(); err != nil {
			return err
		}
		b, err := rdb.Get(ctx, key).Bytes()
		secret = b
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("nonce secret %s: %w", key, err)
	}
	if len(secret) < auth.MinSecretLen {
		return nil, fmt.Errorf("nonce secret %s: %d bytes, want at least %d (delete the key and restart every instance)",
			key, len(secret), auth.MinSecretLen)
	}
	return secret, nil
}

// keepNonceSecret puts secret back into Redis when the key is missing (Redis
// restarted empty), every interval until ctx ends, so that an instance
// started later signs with the same key as the running ones. A different
// key in Redis (rotated by hand, or this instance started with Redis down
// and a random key) is logged once: this instance keeps its key until
// restarted.
func keepNonceSecret(ctx context.Context, rdb *redisconn.Client, prefix string, secret []byte, interval time.Duration, log *slog.Logger) {
	key := prefix + "auth:secret"
	tick := time.NewTicker(interval)
	defer tick.Stop()
	warned := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var cur []byte
		err := rdb.Call(ctx, "auth_secret", func(ctx context.Context) error {
			if err := rdb.SetNX(ctx, key, secret, 0).Err(); err != nil {
				return err
			}
			b, err := rdb.Get(ctx, key).Bytes()
			cur = b
			return err
		})
		if err != nil {
			continue // unreachable or not there yet: try again next tick
		}
		if !bytes.Equal(cur, secret) && !warned {
			warned = true
			log.Warn("the nonce secret in redis differs from the one this instance signs with: restart it so every instance accepts the others' nonces",
				"key", key)
		}
	}
}

// openRedis opens the client both Redis stores share.
func openRedis(cfg config.Config, reg prometheus.Registerer) (*redisconn.Client, error) {
	rc := redisconn.Config{URL: cfg.Store.Redis, Timeout: cfg.Store.Timeout}
	if rc.Timeout > 0 {
		rc.OpTimeout = rc.Timeout * 3 / 2
	}
	rdb, err := redisconn.Open(rc, reg)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return rdb, nil
}

// Run runs the stores' background work (expiry sweep; or cache
// invalidation and write-back) until ctx ends.
func (s *stores) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, run := range s.run {
		g.Go(func() error { return run(ctx) })
	}
	return g.Wait()
}

// Health is nil when every store is fully available; otherwise it says
// what is degraded (see docs/redis.md).
func (s *stores) Health(ctx context.Context) error {
	var errs []error
	for _, h := range s.health {
		errs = append(errs, h(ctx))
	}
	return errors.Join(errs...)
}

// Close releases the Redis connections; call it after Run has returned.
func (s *stores) Close() error { return s.close() }
