package security

import (
	"net/netip"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func gather(t *testing.T, reg *prometheus.Registry) []*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// BenchmarkInbound is the read-path cost per datagram with the defaults
// (flood limit on, scanner list on, nothing banned), to compare with a
// REGISTER's cost (sip's BenchmarkRegister).
func BenchmarkInbound(b *testing.B) {
	g := New(DefaultConfig(), Options{})
	src := netip.MustParseAddr("127.0.0.1")
	msg := []byte("REGISTER sip:acme.example SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK776asdhds;rport\r\n" +
		"Max-Forwards: 70\r\nTo: <sip:7001@acme.example>\r\nFrom: <sip:7001@acme.example>;tag=1928301774\r\n" +
		"Call-ID: a84b4c76e66710@pc33\r\nCSeq: 314159 REGISTER\r\nContact: <sip:7001@127.0.0.1:5070>\r\n" +
		"User-Agent: Yealink SIP-T46S 66.86.0.15\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n")
	g.rate.burst = 1e18 // never limited: measure the pass path
	b.ReportAllocs()
	for b.Loop() {
		if g.Inbound(src, msg) != Pass {
			b.Fatal("dropped")
		}
	}
}
