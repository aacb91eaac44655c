package media

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are media's Prometheus collectors. A nil *Metrics records nothing,
// so tests and tools can leave it out.
type Metrics struct {
	sessions       prometheus.Gauge
	packetsIn      prometheus.Counter
	packetsOut     prometheus.Counter
	bytesIn        prometheus.Counter
	bytesOut       prometheus.Counter
	dtmfRFC4733    prometheus.Counter
	dtmfInfo       prometheus.Counter
	dtmfDropped    prometheus.Counter
	ignored        *prometheus.CounterVec
	portsAvailable prometheus.Gauge
}

// NewMetrics creates media's collectors and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	packets := f.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_rtp_packets_total",
		Help: "RTP packets received from and sent to peers, by direction (in|out).",
	}, []string{"direction"})
	bytes := f.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_rtp_bytes_total",
		Help: "RTP bytes (header and payload) received from and sent to peers, by direction (in|out).",
	}, []string{"direction"})
	dtmf := f.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_dtmf_events_total",
		Help: "Key presses detected, by source (rfc4733|info).",
	}, []string{"source"})
	return &Metrics{
		sessions: f.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_media_sessions_active",
			Help: "RTP sessions open (a port is bound).",
		}),
		packetsIn: packets.WithLabelValues("in"), packetsOut: packets.WithLabelValues("out"),
		bytesIn: bytes.WithLabelValues("in"), bytesOut: bytes.WithLabelValues("out"),
		dtmfRFC4733: dtmf.WithLabelValues("rfc4733"), dtmfInfo: dtmf.WithLabelValues("info"),
		dtmfDropped: f.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_dtmf_dropped_total",
			Help: "Key presses dropped because nobody read them fast enough (a DTMF flood).",
		}),
		ignored: f.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_rtp_packets_ignored_total",
			Help: "Received packets ignored, by reason (malformed|payload_type|source).",
		}, []string{"reason"}),
		portsAvailable: f.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_rtp_ports_available",
			Help: "RTP ports free in the pool.",
		}),
	}
}

func (m *Metrics) sessionOpened() {
	if m != nil {
		m.sessions.Inc()
	}
}

func (m *Metrics) sessionClosed() {
	if m != nil {
		m.sessions.Dec()
	}
}

func (m *Metrics) received(n int) {
	if m != nil {
		m.packetsIn.Inc()
		m.bytesIn.Add(float64(n))
	}
}

func (m *Metrics) sent(n int) {
	if m != nil {
		m.packetsOut.Inc()
		m.bytesOut.Add(float64(n))
	}
}

func (m *Metrics) ignoredPacket(reason string) {
	if m != nil {
		m.ignored.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) digit(source string) {
	if m == nil {
		return
	}
	if source == sourceInfo {
		m.dtmfInfo.Inc()
	} else {
		m.dtmfRFC4733.Inc()
	}
}

func (m *Metrics) digitDropped() {
	if m != nil {
		m.dtmfDropped.Inc()
	}
}

func (m *Metrics) ports(n int) {
	if m != nil {
		m.portsAvailable.Set(float64(n))
	}
}
