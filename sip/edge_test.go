package sip

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/security"
)

func guarded(tb testing.TB, cfg security.Config) (*Server, *security.Guard) {
	tb.Helper()
	s, _, _ := newTestServer(tb)
	g := security.New(cfg, security.Options{Registerer: prometheus.NewRegistry()})
	s.cfg.Guard = g
	return s, g
}

func TestReadFilter(t *testing.T) {
	s, g := guarded(t, security.DefaultConfig())
	src := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 10), Port: 5060}
	msg := registerBytes(1, "r1", "")
	udp := sip.TransportReadProps{Transport: "UDP", RemoteAddr: src}
	tcp := sip.TransportReadProps{Transport: "TCP", RemoteAddr: &net.TCPAddr{IP: src.IP, Port: 40000}}
	if out, err := s.readFilter(udp, msg); err != nil || len(out) != len(msg) {
		t.Fatalf("readFilter(UDP) = %d bytes, %v; want the message through", len(out), err)
	}
	for _, u := range []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"} {
		g.AuthFailed(context.Background(), netip.MustParseAddr("192.0.2.10"), u)
	}
	if out, err := s.readFilter(udp, msg); err != nil || out != nil {
		t.Errorf("readFilter(UDP) from a banned IP = %q, %v; want nil, nil (an error would stop the listener)", out, err)
	}
	if _, err := s.readFilter(tcp, msg); err == nil {
		t.Error("readFilter(TCP) from a banned IP: no error, want one to close the connection")
	}
	other := sip.TransportReadProps{Transport: "UDP", RemoteAddr: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 11), Port: 5060}}
	if out, _ := s.readFilter(other, msg); out == nil {
		t.Error("readFilter from another IP dropped the message")
	}
}

// TestBannedPairRefusedWithoutDigest: five wrong digests for 7001, then the
// right one is refused 403, another username from the same source is not.
func TestBannedPairRefusedWithoutDigest(t *testing.T) {
	s, _ := guarded(t, security.DefaultConfig())
	chal := challenge(t, s)
	for i := range 5 {
		tx := newFakeTx()
		s.handle(parseRequest(t, registerBytes(2+i, fmt.Sprint("w", i), credentials(t, chal, "wrong", 1+i))), tx)
		if tx.res.StatusCode != 401 {
			t.Fatalf("wrong digest %d: %d, want 401", i+1, tx.res.StatusCode)
		}
	}
	tx := newFakeTx()
	s.handle(parseRequest(t, registerBytes(10, "right", credentials(t, chal, "alice7001", 10))), tx)
	if tx.res.StatusCode != 403 || tx.res.GetHeader("WWW-Authenticate") != nil {
		t.Errorf("right digest from the banned pair: %d, want 403 without a challenge", tx.res.StatusCode)
	}
}

// BenchmarkRegisterEdge is BenchmarkRegister's path plus the read filter on
// the raw bytes, without a guard (off) and with the default one (on): the
// difference is what the ban checks cost a REGISTER (read path, banned-pair
// check of the credentials, no failure).
func BenchmarkRegisterEdge(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("guard=%v", on), func(b *testing.B) {
			s, _, _ := newTestServer(b)
			if on {
				cfg := security.DefaultConfig()
				cfg.RequestsPerSecond = 1 << 30 // on, but never reached
				s.cfg.Guard = security.New(cfg, security.Options{Registerer: prometheus.NewRegistry()})
			}
			chal := challenge(b, s)
			props := sip.TransportReadProps{Transport: "UDP", RemoteAddr: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 10), Port: 5060}}
			const batch = 1 << 14
			raws := make([][]byte, 0, batch)
			reqs := make([]*sip.Request, 0, batch)
			prepare := func(from int) {
				raws, reqs = raws[:0], reqs[:0]
				for i := range batch {
					n := from + i
					raw := registerBytes(n+2, fmt.Sprint("b", n), credentials(b, chal, "alice7001", n+1))
					raws = append(raws, raw)
					reqs = append(reqs, parseRequest(b, raw))
				}
			}
			b.ReportAllocs()
			n := 0
			b.StopTimer()
			prepare(0)
			b.StartTimer()
			for b.Loop() {
				if n%batch == 0 && n > 0 {
					b.StopTimer()
					prepare(n)
					b.StartTimer()
				}
				if out, _ := s.readFilter(props, raws[n%batch]); out == nil {
					b.Fatal("dropped")
				}
				tx := newFakeTx()
				s.handle(reqs[n%batch], tx)
				if tx.res.StatusCode != 200 {
					b.Fatalf("REGISTER %d: %d", n, tx.res.StatusCode)
				}
				n++
			}
		})
	}
}
