package redisconn

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	errors   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer, b *Breaker) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		errors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_store_errors_total",
			Help: "Store operations that failed because Redis was unreachable, slow or refused by the open circuit breaker, by operation.",
		}, []string{"op"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_store_duration_seconds",
			Help:    "Time taken by store operations that reached Redis, by operation.",
			Buckets: []float64{.0002, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"op"}),
	}
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "switchboard_store_circuit_open",
		Help: "1 while the Redis circuit breaker refuses calls (open or probing), else 0.",
	}, func() float64 {
		if b.Open() {
			return 1
		}
		return 0
	})
	return m
}
