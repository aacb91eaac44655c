// Package redisconn opens the Redis client the directory and location stores
// share, tuned for SIP: tight dial/read/write/pool timeouts, one retry, a
// deadline on every store call and a circuit breaker, so that a dead or
// black-holed Redis costs a SIP transaction microseconds rather than the
// go-redis defaults' seconds. It also owns the store metrics
// (switchboard_store_errors_total{op}, switchboard_store_duration_seconds{op}).
//
// Flow of one store call:
//
//	Client.Call(ctx, op, fn) ─ deadline ─▶ fn ─▶ go-redis ─▶ breaker hook ─▶ socket
//	                         ◀─ duration, error counted per op ─┘
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Defaults of Config.
const (
	DefaultTimeout         = 100 * time.Millisecond
	DefaultOpTimeout       = 150 * time.Millisecond
	DefaultMaxRetries      = 1
	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = time.Second
)

// Config tunes the client. Zero values take the defaults.
type Config struct {
	// URL is redis://[user:pass@]host:port/db, rediss://…, unix:///path,
	// redis-sentinel://[user:pass@]host1:port,host2:port/master[?db=N] or
	// redis-cluster://[user:pass@]host1:port,host2:port (seed nodes).
	URL string
	// Timeout bounds each dial, socket read and write, and the wait for a
	// pooled connection (default 100ms).
	Timeout time.Duration
	// OpTimeout is the deadline of one store call on the call path, retries
	// included (default 150ms). Bulk calls pass their own.
	OpTimeout time.Duration
	// MaxRetries is how often a failed command is retried (default 1; -1 for none).
	MaxRetries int
	// PoolSize is the number of pooled connections (default: go-redis's, 10 per CPU).
	PoolSize int
	// BreakerFailures consecutive failures open the circuit (default 5).
	BreakerFailures int
	// BreakerCooldown is how long an open circuit refuses calls before one
	// probe is let through (default 1s).
	BreakerCooldown time.Duration
}

func (c *Config) setDefaults() {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.OpTimeout <= 0 {
		c.OpTimeout = DefaultOpTimeout
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	if c.BreakerFailures <= 0 {
		c.BreakerFailures = DefaultBreakerFailures
	}
	if c.BreakerCooldown <= 0 {
		c.BreakerCooldown = DefaultBreakerCooldown
	}
}

// Client is a go-redis UniversalClient with the breaker installed, plus Call,
// which every store operation goes through.
type Client struct {
	redis.UniversalClient
	cluster   bool
	opTimeout time.Duration
	breaker   *Breaker
	metrics   *metrics
}

// Open builds the client; it does not connect (go-redis dials lazily), so a
// Redis that is down at start is reported by Health, not here. reg may be nil.
func Open(cfg Config, reg prometheus.Registerer) (*Client, error) {
	cfg.setDefaults()
	opts, err := universalOptions(cfg.URL)
	if err != nil {
		return nil, err
	}
	opts.DialTimeout = cfg.Timeout
	opts.ReadTimeout = cfg.Timeout
	opts.WriteTimeout = cfg.Timeout
	opts.PoolTimeout = cfg.Timeout
	opts.MaxRetries = cfg.MaxRetries
	opts.DialerRetries = 1 // the default 5 multiplies a dead Redis's cost
	opts.MinRetryBackoff = 5 * time.Millisecond
	opts.MaxRetryBackoff = 20 * time.Millisecond
	opts.ContextTimeoutEnabled = true
	opts.DisableIdentity = true
	if cfg.PoolSize > 0 {
		opts.PoolSize = cfg.PoolSize
	}
	b := NewBreaker(cfg.BreakerFailures, cfg.BreakerCooldown, nil)
	uc := redis.NewUniversalClient(opts)
	uc.AddHook(b)
	return &Client{UniversalClient: uc, cluster: opts.IsClusterMode, opTimeout: cfg.OpTimeout, breaker: b, metrics: newMetrics(reg, b)}, nil
}

// KeyPrefix is the prefix every switchboard key and channel starts with:
// "sb:" on a single server or Sentinel, "{sb}:" on Redis Cluster, where the
// hash tag puts every key in one slot so that MULTI/WATCH and the Lua
// scripts, which touch several keys, keep working (see docs/redis.md).
func (c *Client) KeyPrefix() string {
	if c.cluster {
		return "{sb}:"
	}
	return "sb:"
}

// Cluster reports whether the client talks to a Redis Cluster.
func (c *Client) Cluster() bool { return c.cluster }

// universalOptions turns the store URL into go-redis options.
func universalOptions(raw string) (*redis.UniversalOptions, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	switch u.Scheme {
	case "redis", "rediss", "unix":
		o, err := redis.ParseURL(raw)
		if err != nil {
			return nil, fmt.Errorf("redis url %s: %w", u.Redacted(), err)
		}
		uo := &redis.UniversalOptions{
			Addrs: []string{o.Addr}, DB: o.DB, Username: o.Username, Password: o.Password,
			TLSConfig: o.TLSConfig, Protocol: 2,
		}
		if o.Network == "unix" {
			uo.Dialer = func(ctx context.Context, _, addr string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", addr)
			}
		}
		return uo, nil
	case "redis-sentinel":
		o := &redis.UniversalOptions{Addrs: strings.Split(u.Host, ","), MasterName: strings.Trim(u.Path, "/"), Protocol: 2}
		if o.MasterName == "" {
			return nil, fmt.Errorf("redis url %s: the master name is missing (redis-sentinel://host:26379/mymaster)", u.Redacted())
		}
		if u.User != nil {
			o.Username = u.User.Username()
			o.Password, _ = u.User.Password()
		}
		if db := u.Query().Get("db"); db != "" {
			if o.DB, err = strconv.Atoi(db); err != nil {
				return nil, fmt.Errorf("redis url %s: database %q is not a number", u.Redacted(), db)
			}
		}
		return o, nil
	case "redis-cluster":
		if u.Host == "" {
			return nil, fmt.Errorf("redis url %s: the cluster nodes are missing (redis-cluster://h1:6379,h2:6379)", u.Redacted())
		}
		if p := strings.Trim(u.Path, "/"); p != "" {
			return nil, fmt.Errorf("redis url %s: a cluster has no database (%q)", u.Redacted(), p)
		}
		o := &redis.UniversalOptions{Addrs: strings.Split(u.Host, ","), IsClusterMode: true, Protocol: 2}
		if u.User != nil {
			o.Username = u.User.Username()
			o.Password, _ = u.User.Password()
		}
		return o, nil
	}
	return nil, fmt.Errorf("redis url %s: unknown scheme %q", u.Redacted(), u.Scheme)
}

func init() {
	// go-redis logs every failed dial on the standard logger; during an
	// outage that is one line per call. The stores count and report
	// failures themselves, so its messages go to slog at debug level.
	redis.SetLogger(debugLogger{})
}

type debugLogger struct{}

func (debugLogger) Printf(ctx context.Context, format string, v ...any) {
	slog.DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
}

// ErrUnavailable is returned without touching the network while the circuit
// is open.
var ErrUnavailable = errors.New("redis: unavailable (circuit open)")

// Call runs one store operation with the call-path deadline, timing it and
// counting its failure under op (a fixed name such as "location_update").
func (c *Client) Call(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	return c.CallTimeout(ctx, op, c.opTimeout, fn)
}

// CallTimeout is Call with its own deadline, for bulk operations.
func (c *Client) CallTimeout(ctx context.Context, op string, d time.Duration, fn func(ctx context.Context) error) error {
	if !c.breaker.Ready() {
		// Fail before allocating a deadline: an open circuit costs nanoseconds.
		c.metrics.errors.WithLabelValues(op).Inc()
		return fmt.Errorf("%s: %w", op, ErrUnavailable)
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	start := time.Now()
	err := fn(ctx)
	cancel()
	c.metrics.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil && IsFailure(err) {
		c.metrics.errors.WithLabelValues(op).Inc()
	}
	return err
}

// Health reports whether Redis answers: an open circuit or a failed PING is
// an error.
func (c *Client) Health(ctx context.Context) error {
	return c.Call(ctx, "ping", func(ctx context.Context) error { return c.Ping(ctx).Err() })
}

// Breaker returns the client's circuit breaker.
func (c *Client) Breaker() *Breaker { return c.breaker }

// IsFailure reports whether err means Redis could not be reached or did not
// answer in time, as opposed to an answer (a nil reply, a server error, a
// failed optimistic transaction) or the caller giving up.
func IsFailure(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, redis.TxFailedErr) ||
		errors.Is(err, context.Canceled) {
		return false
	}
	var re redis.Error
	return !errors.As(err, &re)
}
