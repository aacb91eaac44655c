package security

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Reason says why a source was banned; it is the bans_total label.
type Reason string

// Ban reasons.
const (
	ReasonAuthFailures Reason = "auth_failures" // one username guessed wrong too often
	ReasonScan         Reason = "scan"          // too many distinct usernames failing
	ReasonFlood        Reason = "flood"         // over requests_per_second
)

// Ban is one live ban; User is "" when the whole source IP is banned.
type Ban struct {
	Source netip.Addr
	User   string
	Reason Reason
	Until  time.Time
}

// Verdict is what Inbound decides for a datagram or stream chunk.
type Verdict uint8

// Verdicts; everything but Pass means drop without answering.
const (
	Pass        Verdict = iota
	DropBanned          // the source IP is banned
	DropFlood           // the source went over its budget (and is now banned)
	DropScanner         // a known scanner's User-Agent
)

// Shared is the state several instances share (Redis; see RedisShared). Its
// calls may block on the network: the Guard calls it from request handlers
// and its own goroutines, never from the read path.
type Shared interface {
	// CountFailure counts one failure of user from ip in a window that
	// starts at the IP's first failure, and returns that user's count and
	// the number of distinct failing users from ip.
	CountFailure(ctx context.Context, ip netip.Addr, user string, window time.Duration) (userFails, users int, err error)
	// PutBan stores a ban until b.Until and tells the other instances.
	PutBan(ctx context.Context, b Ban) error
	// Lift removes every ban and failure count of ip, everywhere.
	Lift(ctx context.Context, ip netip.Addr) error
	// Bans returns every live ban in the store.
	Bans(ctx context.Context) ([]Ban, error)
	// Watch calls onBan and onLift for every change published by any
	// instance until ctx ends or the subscription breaks.
	Watch(ctx context.Context, onBan func(Ban), onLift func(netip.Addr)) error
}

// Guard makes the ban and drop decisions. It is safe for concurrent use;
// Run owns its background work (sweeping, publishing, syncing with Shared).
type Guard struct {
	cfg      Config
	exempt   []netip.Prefix
	scanners [][]byte
	shared   Shared
	log      *slog.Logger
	metrics  *metrics
	now      func() time.Time

	bans     *banTable
	rate     *rateShards // nil when requests_per_second is 0
	failures failureTable
	publish  chan Ban // bans decided here, for Run to put into Shared
}

// Options are a Guard's collaborators; all may be zero.
type Options struct {
	// Exempt sources are never flood-limited (trunks' inbound_from).
	Exempt     []netip.Prefix
	Shared     Shared // nil = this instance only
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time // for tests; default time.Now
}

// New builds a Guard from a validated Config.
func New(cfg Config, opt Options) *Guard {
	cfg.setDefaults()
	g := &Guard{
		cfg:     cfg,
		exempt:  opt.Exempt,
		shared:  opt.Shared,
		log:     opt.Logger,
		now:     opt.Now,
		bans:    newBanTable(cfg.MaxEntries),
		publish: make(chan Ban, 1024),
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.now == nil {
		g.now = time.Now
	}
	reg := opt.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	g.metrics = newMetrics(reg, g.bans.len)
	for _, s := range cfg.Scanners {
		g.scanners = append(g.scanners, bytes.ToLower([]byte(s)))
	}
	if cfg.RequestsPerSecond > 0 {
		g.rate = newRateShards(cfg.RequestsPerSecond, cfg.MaxEntries)
	}
	g.failures.init(cfg.MaxEntries / 2)
	return g
}

// Inbound decides, before parsing, whether to drop what src sent. It is on
// every read, so it takes no lock while nothing is banned and the flood
// limit is off.
func (g *Guard) Inbound(src netip.Addr, data []byte) Verdict {
	src = src.Unmap()
	var now time.Time
	if g.bans.ipBans.Load() > 0 {
		now = g.now()
		if g.bans.banned(pairKey{ip: src}, now) {
			g.metrics.dropBanned.Inc()
			return DropBanned
		}
	}
	if g.rate != nil && !g.isExempt(src) {
		if now.IsZero() {
			now = g.now()
		}
		if !g.rate.take(src, now.UnixNano()) {
			g.ban(src, "", ReasonFlood, now)
			g.metrics.dropFlood.Inc()
			return DropFlood
		}
	}
	if len(g.scanners) > 0 && matchScanner(userAgent(data), g.scanners) {
		g.metrics.dropScanner.Inc()
		return DropScanner
	}
	return Pass
}

func (g *Guard) isExempt(ip netip.Addr) bool {
	for _, p := range g.exempt {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// UserBanned reports whether digest username user from src is banned: the
// request is then refused without checking its digest.
func (g *Guard) UserBanned(src netip.Addr, user string) bool {
	if g.bans.pairBans.Load() == 0 {
		return false
	}
	return g.bans.banned(pairKey{ip: src.Unmap(), user: user}, g.now())
}

// UserBans reports whether any (source IP, username) ban is in force, so
// callers can skip preparing UserBanned calls.
func (g *Guard) UserBans() bool { return g.bans.pairBans.Load() > 0 }

// Shared reports whether the guard counts and bans through a shared store,
// so that AuthFailed may wait on the network.
func (g *Guard) Shared() bool { return g.shared != nil }

// AuthFailed counts a wrong digest (wrong password or unknown username) from
// src and bans the pair or the IP when a threshold is reached. It may wait
// for the Shared store, within ctx.
func (g *Guard) AuthFailed(ctx context.Context, src netip.Addr, user string) {
	if g.cfg.AuthFailuresPerUser == 0 && g.cfg.AuthFailureUsersPerIP == 0 {
		return
	}
	src = src.Unmap()
	now := g.now()
	var fails, users int
	var err error = errNoShared
	if g.shared != nil {
		fails, users, err = g.shared.CountFailure(ctx, src, user, g.cfg.Window)
		if err != nil {
			g.log.Warn("security: shared failure count unavailable; counting on this instance", "error", err)
		}
	}
	if err != nil {
		fails, users = g.failures.add(src, user, now, g.cfg.Window)
	}
	switch {
	case g.cfg.AuthFailureUsersPerIP > 0 && users >= g.cfg.AuthFailureUsersPerIP:
		g.ban(src, "", ReasonScan, now)
	case g.cfg.AuthFailuresPerUser > 0 && fails >= g.cfg.AuthFailuresPerUser:
		g.ban(src, user, ReasonAuthFailures, now)
	}
}

type sentinel string

func (s sentinel) Error() string { return string(s) }

const errNoShared = sentinel("security: no shared store")

// ban records a ban decided here: one log line, the metrics, and a copy for
// the other instances. A ban already in force is not logged again.
func (g *Guard) ban(ip netip.Addr, user string, reason Reason, now time.Time) {
	b := Ban{Source: ip, User: user, Reason: reason, Until: now.Add(g.cfg.Ban)}
	if !g.bans.put(pairKey{ip: ip, user: user}, banEntry{until: b.Until, reason: reason}, now) {
		return
	}
	if user == "" && g.rate != nil {
		g.rate.forget(ip) // its budget starts full when the ban ends
	}
	g.metrics.bans.WithLabelValues(string(reason)).Inc()
	g.log.Warn("ban", "source", ip.String(), "user", user, "reason", string(reason), "until", b.Until.UTC().Format(time.RFC3339))
	if g.shared != nil {
		select {
		case g.publish <- b:
		default: // Run is behind: the ban holds here, the resync is lost
		}
	}
}

// Bans lists the live bans this instance enforces.
func (g *Guard) Bans() []Ban { return g.bans.list(g.now()) }

// Lift removes every ban of src (and its failure counts) here and, with a
// Shared store, on every instance. It returns how many bans this instance
// held.
func (g *Guard) Lift(ctx context.Context, src netip.Addr) (int, error) {
	src = src.Unmap()
	n := g.bans.lift(src)
	g.failures.forget(src)
	if g.rate != nil {
		g.rate.forget(src)
	}
	if g.shared != nil {
		if err := g.shared.Lift(ctx, src); err != nil {
			return n, err
		}
	}
	if n > 0 {
		g.log.Info("ban lifted", "source", src.String(), "bans", n)
	}
	return n, nil
}

// Run sweeps expired bans and, with a Shared store, publishes the bans
// decided here and mirrors the others' until ctx ends.
func (g *Guard) Run(ctx context.Context) error {
	sweep := time.NewTicker(time.Second)
	defer sweep.Stop()
	if g.shared == nil {
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-sweep.C:
				g.bans.sweep(g.now(), nil)
			}
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.watch(ctx)
	}()
	defer func() { <-done }()
	resync := time.NewTicker(10 * time.Second)
	defer resync.Stop()
	g.resync(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case b := <-g.publish:
			if err := g.shared.PutBan(ctx, b); err != nil {
				g.log.Warn("security: ban not shared", "source", b.Source.String(), "error", err)
				continue
			}
			g.bans.put(pairKey{ip: b.Source, user: b.User}, banEntry{until: b.Until, reason: b.Reason, shared: true}, g.now())
		case <-sweep.C:
			g.bans.sweep(g.now(), nil)
		case <-resync.C:
			g.resync(ctx)
		}
	}
}

// watch applies the other instances' bans and lifts, resubscribing after
// a broken subscription (and resyncing, since messages may have been lost).
func (g *Guard) watch(ctx context.Context) {
	for ctx.Err() == nil {
		err := g.shared.Watch(ctx,
			func(b Ban) {
				g.bans.put(pairKey{ip: b.Source.Unmap(), user: b.User}, banEntry{until: b.Until, reason: b.Reason, shared: true}, g.now())
			},
			func(ip netip.Addr) {
				g.bans.lift(ip.Unmap())
				g.failures.forget(ip.Unmap())
			})
		if ctx.Err() != nil {
			return
		}
		g.log.Debug("security: ban subscription broken; resubscribing", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		g.resync(ctx)
	}
}

// resync merges the store's bans into the local table and drops shared
// ones the store no longer has (lifted while a message was lost).
func (g *Guard) resync(ctx context.Context) {
	bans, err := g.shared.Bans(ctx)
	if err != nil {
		g.log.Debug("security: ban resync failed", "error", err)
		return
	}
	now := g.now()
	keep := make(map[pairKey]bool, len(bans))
	for _, b := range bans {
		k := pairKey{ip: b.Source.Unmap(), user: b.User}
		keep[k] = true
		g.bans.put(k, banEntry{until: b.Until, reason: b.Reason, shared: true}, now)
	}
	g.bans.sweep(now, keep)
}
