package sip

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// trunkMetrics are the carrier-trunk collectors; the trunk label is a
// configured trunk name (bounded by the config).
type trunkMetrics struct {
	up         *prometheus.GaugeVec
	active     *prometheus.GaugeVec
	attempts   *prometheus.CounterVec
	registered *prometheus.GaugeVec
}

func newTrunkMetrics(reg prometheus.Registerer) *trunkMetrics {
	f := promauto.With(reg)
	return &trunkMetrics{
		up: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_trunk_up",
			Help: "1 while the trunk takes calls, 0 after 3 failed OPTIONS probes (until one succeeds).",
		}, []string{"trunk"}),
		active: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_trunk_calls_active",
			Help: "Calls being set up or connected through the trunk (what max_calls bounds).",
		}, []string{"trunk"}),
		attempts: f.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_trunk_attempts_total",
			Help: "INVITE attempts on the trunk, by result (answered, challenged, auth_failed, timeout, no_provisional, unavailable, server_error, busy, rejected, cancelled, skipped_down, skipped_retry_after, skipped_max_calls, dns_failed).",
		}, []string{"trunk", "result"}),
		registered: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_trunk_registration_up",
			Help: "1 while the registration at the carrier is accepted and not expired.",
		}, []string{"trunk"}),
	}
}
