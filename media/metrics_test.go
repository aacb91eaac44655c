package media

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
)

type testMetrics struct {
	*Metrics
	reg *prometheus.Registry
}

func newTestMetrics(t *testing.T) testMetrics {
	reg := prometheus.NewRegistry()
	return testMetrics{NewMetrics(reg), reg}
}

// expect checks one sample, written name{labels}.
func (m testMetrics) expect(t *testing.T, sample string, want float64) {
	t.Helper()
	name, labels, _ := strings.Cut(sample, "{")
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, metric := range mf.GetMetric() {
			var parts []string
			for _, l := range metric.GetLabel() {
				parts = append(parts, l.GetName()+`="`+l.GetValue()+`"`)
			}
			if strings.Join(parts, ",")+"}" != labels && !(labels == "" && len(parts) == 0) {
				continue
			}
			got := metric.GetCounter().GetValue() + metric.GetGauge().GetValue()
			if got != want {
				t.Errorf("%s = %v, want %v", sample, got, want)
			}
			return
		}
	}
	if want != 0 {
		t.Errorf("%s missing, want %v", sample, want)
	}
}

func TestMetricsLint(t *testing.T) {
	m := newTestMetrics(t)
	m.ignoredPacket("source")
	problems, err := promlint.NewWithMetricFamilies(mustGather(t, m.reg)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	if n := testutil.CollectAndCount(m.reg); n < 8 {
		t.Errorf("%d series, want at least 8", n)
	}
}

func mustGather(t *testing.T, g prometheus.Gatherer) []*dto.MetricFamily {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

func TestMetricsSessionLifecycle(t *testing.T) {
	m := newTestMetrics(t)
	pool := newTestPool(t, m.Metrics)
	m.expect(t, "switchboard_rtp_ports_available", 100)
	s := newTestSession(t, SessionConfig{Pool: pool, Metrics: m.Metrics, Clock: newStepClock()})
	m.expect(t, "switchboard_media_sessions_active", 1)
	m.expect(t, "switchboard_rtp_ports_available", 99)
	p := newPeer(t)
	s.SetRemote(Negotiated{RemoteRTP: p.addr(), Codec: PCMU, DTMFPayloadType: 101})
	if err := s.Send(context.Background(), make([]byte, 160)); err != nil {
		t.Fatal(err)
	}
	p.read()
	m.expect(t, `switchboard_rtp_packets_total{direction="out"}`, 1)
	m.expect(t, `switchboard_rtp_bytes_total{direction="out"}`, 172)
	s.receive(dtmfPacket(t, '1', 1), netip.MustParseAddrPort("192.0.2.9:1")) // latches: within the window
	s.receive(dtmfPacket(t, '2', 2), netip.MustParseAddrPort("192.0.2.8:1"))
	m.expect(t, `switchboard_rtp_packets_ignored_total{reason="source"}`, 1)
	s.Close()
	m.expect(t, "switchboard_media_sessions_active", 0)
	m.expect(t, "switchboard_rtp_ports_available", 100)
}
