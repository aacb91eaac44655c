package main

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/admin"
	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/security"
)

// newGuard builds the security engine from the config: trunks' inbound_from
// are exempt from the flood limit, and with Redis the bans are shared.
func newGuard(cfg config.Config, st *stores, reg prometheus.Registerer, log *slog.Logger) *security.Guard {
	s := cfg.Security
	sc := security.Config{
		Window:                s.Window,
		Ban:                   s.Ban,
		AuthFailuresPerUser:   s.AuthFailuresPerUser,
		AuthFailureUsersPerIP: s.AuthFailureUsersPerIP,
		RequestsPerSecond:     s.RequestsPerSecond,
		Scanners:              s.Scanners,
	}
	var exempt []netip.Prefix
	for _, t := range cfg.Trunks {
		exempt = append(exempt, t.Prefixes()...)
	}
	opt := security.Options{Exempt: exempt, Registerer: reg, Logger: log}
	if st.redis != nil {
		opt.Shared = security.NewRedisShared(st.redis, st.redis.KeyPrefix(), 0)
	}
	return security.New(sc, opt)
}

// bans adapts the guard to admin.Bans.
type bans struct{ g *security.Guard }

func (b bans) Bans() []admin.Ban {
	var out []admin.Ban
	for _, x := range b.g.Bans() {
		out = append(out, admin.Ban{Source: x.Source.String(), User: x.User, Reason: string(x.Reason), Until: x.Until.UTC().Truncate(time.Second)})
	}
	return out
}

func (b bans) Lift(ctx context.Context, src netip.Addr) (int, error) { return b.g.Lift(ctx, src) }

// newCallCounter counts the tenants' toll-fraud limits, in Redis when
// configured so that they hold across instances.
func newCallCounter(st *stores, log *slog.Logger) *security.CallCounter {
	if st.redis != nil {
		return security.NewCallCounter(st.redis, st.redis.KeyPrefix(), 0, log)
	}
	return security.NewCallCounter(nil, "", 0, log)
}
