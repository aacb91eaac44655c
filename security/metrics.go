package security

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	bans        *prometheus.CounterVec
	dropBanned  prometheus.Counter
	dropFlood   prometheus.Counter
	dropScanner prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, active func() int) *metrics {
	f := promauto.With(reg)
	dropped := f.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_security_dropped_total",
		Help: "Datagrams and stream reads dropped unanswered before parsing, by reason (banned, flood, scanner).",
	}, []string{"reason"})
	m := &metrics{
		bans: f.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_security_bans_total",
			Help: "Bans decided by this instance, by reason (auth_failures, scan, flood).",
		}, []string{"reason"}),
		dropBanned:  dropped.WithLabelValues("banned"),
		dropFlood:   dropped.WithLabelValues("flood"),
		dropScanner: dropped.WithLabelValues("scanner"),
	}
	for _, r := range []Reason{ReasonAuthFailures, ReasonScan, ReasonFlood} {
		m.bans.WithLabelValues(string(r))
	}
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "switchboard_security_bans_active",
		Help: "Bans in force on this instance (its own and, with Redis, every instance's).",
	}, func() float64 { return float64(active()) })
	return m
}
