package main

import (
	"context"
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
	dir    directoryStore
	loc    locationStore
	run    []func(ctx context.Context) error
	health []func(ctx context.Context) error
	close  func() error
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
		return &stores{dir: mem, loc: loc,
			run:   []func(context.Context) error{func(ctx context.Context) error { return loc.Run(ctx, time.Second) }},
			close: func() error { return nil },
		}, nil
	}
	rdb, err := openRedis(cfg, reg)
	if err != nil {
		return nil, err
	}
	rdir := dialplan.NewRedisStore(rdb, dialplan.RedisOptions{Realm: cfg.SIP.Realm, Registerer: reg, Logger: log})
	rloc := location.NewRedis(rdb, location.RedisOptions{Logger: log})
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
	return &stores{dir: rdir, loc: rloc,
		run: []func(context.Context) error{
			rdir.Run,
			func(ctx context.Context) error { return rloc.Run(ctx, 500*time.Millisecond) },
		},
		health: []func(context.Context) error{rdir.Health, rloc.Health},
		close:  rdb.Close,
	}, nil
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
