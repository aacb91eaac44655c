package sip

import (
	"context"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/routing"
)

// CallLimiter counts what the tenants' toll-fraud limits bound
// (security.CallCounter): trunk calls at once per tenant and new outbound
// calls per user and minute, across instances when it is shared.
type CallLimiter interface {
	Acquire(ctx context.Context, tenant, callID string, max int) bool
	Release(ctx context.Context, tenant, callID string)
	CountOutbound(ctx context.Context, tenant, user string) int
}

func newRefusedMetric(reg prometheus.Registerer) *prometheus.CounterVec {
	v := promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_calls_refused_total",
		Help: "Calls refused 403 by a tenant's toll-fraud limits, by limit (concurrent_calls, outbound_per_minute, international, denied_prefix).",
	}, []string{"reason"})
	for _, r := range []string{routing.LimitConcurrentCalls, routing.LimitOutboundPerMinute, routing.LimitInternational, routing.LimitDeniedPrefix} {
		v.WithLabelValues(r)
	}
	return v
}

// limitReason is the Reason header of a refusal by limit name (RFC 3326).
func limitReason(name string) sip.Header {
	return sip.NewHeader("Reason", `SIP;cause=403;text="limit: `+name+`"`)
}

// refuseInboundTrunkCall takes a concurrent-call slot of the tenant for a
// call arriving from a trunk; when none is left it answers 403 and returns
// true.
func (s *Server) refuseInboundTrunkCall(req *sip.Request, tx sip.ServerTransaction, view *dialplan.View) bool {
	l := dialplan.LimitsOf(view.Tenant)
	if l.ConcurrentCalls <= 0 {
		return false
	}
	if s.limits.Acquire(context.Background(), view.Tenant.Domain, req.CallID().Value(), l.ConcurrentCalls) {
		return false
	}
	s.refused.WithLabelValues(routing.LimitConcurrentCalls).Inc()
	s.log.Info("call refused by limit", "tenant", view.Tenant.Domain, "limit", routing.LimitConcurrentCalls, "from", req.From().Address.User)
	s.reply(tx, req, 403, "Forbidden", limitReason(routing.LimitConcurrentCalls))
	return true
}

// refusedByLimits checks an outbound leg — a user's call to the PSTN or a
// forward of user — against the tenant's limits, in the order destination,
// rate, concurrency. A refused call gets 403 with the limit's name and the
// method returns true. Emergency numbers pass unchecked and uncounted.
func (c *call) refusedByLimits(number, user string) bool {
	if routing.IsEmergency(number) {
		return false
	}
	t := c.view.Tenant
	l := dialplan.LimitsOf(t)
	ctx := c.ctx
	name := routing.CheckDestination(l, t.CountryCode, number)
	if name == "" && l.OutboundPerMinute > 0 && user != "" &&
		c.s.limits.CountOutbound(ctx, t.Domain, user) > l.OutboundPerMinute {
		name = routing.LimitOutboundPerMinute
	}
	if name == "" && l.ConcurrentCalls > 0 && !c.limitSlot {
		if !c.s.limits.Acquire(ctx, t.Domain, c.req.CallID().Value(), l.ConcurrentCalls) {
			name = routing.LimitConcurrentCalls
		} else {
			c.limitSlot = true
		}
	}
	if name == "" {
		return false
	}
	c.s.refused.WithLabelValues(name).Inc()
	c.s.log.Info("call refused by limit", "tenant", t.Domain, "limit", name, "user", user, "call_id", c.req.CallID().Value())
	c.final = true
	c.outcome = "declined"
	c.s.reply(c.tx, c.req, 403, "Forbidden", limitReason(name))
	return true
}

// forwardingUser is the user id whose forward st is (its DivertedBy names
// them by extension), for the per-minute count.
func (c *call) forwardingUser(st routing.Forward) string {
	if e, ok := c.view.Lookup(st.DivertedBy); ok && e.User != nil {
		return e.User.ID
	}
	return st.DivertedBy
}

// callingUser is the user id of a call from a user, "" from a trunk.
func (c *call) callingUser() string {
	if u := c.caller.Caller.User; u != nil {
		return u.ID
	}
	return ""
}

// releaseLimit gives a call's concurrent-call slot back, once.
func (c *call) releaseLimit() {
	if c.limitSlot {
		c.limitSlot = false
		c.s.limits.Release(context.Background(), c.view.Tenant.Domain, c.req.CallID().Value())
	}
}
