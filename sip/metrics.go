package sip

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	requests     *prometheus.CounterVec
	responses    *prometheus.CounterVec
	authFailures *prometheus.CounterVec
	panics       prometheus.Counter
	callsActive  prometheus.Gauge
	calls        *prometheus.CounterVec
	setup        prometheus.Histogram
	routing      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, counts func() map[string]int) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_sip_requests_total",
			Help: "SIP requests received, by method (unknown methods as OTHER).",
		}, []string{"method"}),
		responses: f.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_sip_responses_total",
			Help: "SIP responses sent by switchboard as a server, by request method and status code.",
		}, []string{"method", "code"}),
		authFailures: f.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_auth_failures_total",
			Help: "Digest authentications that failed, by reason.",
		}, []string{"reason"}),
		panics: f.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_sip_handler_panics_total",
			Help: "Request handlers that panicked; the request got a 500 and serving went on.",
		}),
		callsActive: f.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_calls_active",
			Help: "Calls being set up or connected through this instance.",
		}),
		calls: f.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_calls_total",
			Help: "Finished call attempts, by plan kind and result (answered, busy, no_answer, unavailable, declined, cancelled, not_found, failed).",
		}, []string{"kind", "result"}),
		setup: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "switchboard_call_setup_seconds",
			Help:    "Time from INVITE to the first 18x or 2xx relayed to the caller.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		routing: f.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_routing_decisions_total",
			Help: "Routing plans made, by kind (user, alias, group, attendant, outbound, emergency, forward, reject).",
		}, []string{"plan"}),
	}
	if counts != nil {
		reg.MustRegister(&registrationsCollector{counts: counts, desc: prometheus.NewDesc(
			"switchboard_registrations_active",
			"Live registered contacts, by tenant.",
			[]string{"tenant"}, nil)})
	}
	return m
}

// registrationsCollector reads the location store's counts at scrape time, so
// the registrar does not have to mirror every expiry into a gauge.
type registrationsCollector struct {
	counts func() map[string]int
	desc   *prometheus.Desc
}

func (c *registrationsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *registrationsCollector) Collect(ch chan<- prometheus.Metric) {
	for tenant, n := range c.counts() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), tenant)
	}
}

// methodLabel bounds the method label: anything not in RFC 3261 and its
// common extensions is OTHER.
func methodLabel(m string) string {
	switch m {
	case "INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "INFO", "UPDATE",
		"PRACK", "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PUBLISH":
		return m
	}
	return "OTHER"
}

var codeLabels = func() map[int]string {
	m := make(map[int]string, 700)
	for c := 100; c < 700; c++ {
		m[c] = strconv.Itoa(c)
	}
	return m
}()

func codeLabel(code int) string {
	if s, ok := codeLabels[code]; ok {
		return s
	}
	return "other"
}
