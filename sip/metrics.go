package sip

import (
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	requests     *prometheus.CounterVec
	responses    *prometheus.CounterVec
	byMethod     map[string]*methodCounters // resolved children, see countRequest
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
	m.byMethod = make(map[string]*methodCounters, len(methodLabels))
	for _, l := range methodLabels {
		m.byMethod[l] = &methodCounters{}
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

// methodLabels is every value methodLabel returns.
var methodLabels = []string{"INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "INFO", "UPDATE",
	"PRACK", "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PUBLISH", "OTHER"}

// methodCounters holds one method's children of the request and response
// counters once resolved. WithLabelValues hashes the labels and looks the
// child up under a lock on every call (2–3% of a REGISTER's CPU); children
// are still created on first use, so /metrics shows only series that
// happened, as before.
type methodCounters struct {
	request atomic.Pointer[prometheus.Counter]
	// response is indexed by status code - 100 (codeLabel's range).
	response [600]atomic.Pointer[prometheus.Counter]
}

// resolved returns the counter in p, resolving it the first time.
func resolved(p *atomic.Pointer[prometheus.Counter], resolve func() prometheus.Counter) prometheus.Counter {
	if c := p.Load(); c != nil {
		return *c
	}
	c := resolve()
	p.Store(&c) // racing resolvers store the same child
	return c
}

// countRequest counts a request received, by methodLabel(method).
func (m *metrics) countRequest(method string) {
	l := methodLabel(method)
	resolved(&m.byMethod[l].request, func() prometheus.Counter { return m.requests.WithLabelValues(l) }).Inc()
}

// countResponse counts a response sent to a request of method.
func (m *metrics) countResponse(method string, code int) {
	l := methodLabel(method)
	if code < 100 || code >= 700 {
		m.responses.WithLabelValues(l, codeLabel(code)).Inc()
		return
	}
	resolved(&m.byMethod[l].response[code-100], func() prometheus.Counter {
		return m.responses.WithLabelValues(l, codeLabel(code))
	}).Inc()
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
