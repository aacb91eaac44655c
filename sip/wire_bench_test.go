package sip

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

// BenchmarkRegisterWire is an authenticated REGISTER through a real server
// on loopback UDP, from the bytes a phone sends to the 200 it reads back:
// sipgo's transport, parser and transaction layer included, unlike
// BenchmarkRegister. The phone is a bare UDP socket writing prepared
// requests, so allocations and CPU per REGISTER are nearly all the
// server's.
func BenchmarkRegisterWire(b *testing.B) {
	if testing.Short() {
		b.Skip("opens sockets; skipped under -short")
	}
	_, server := udpServer(b)
	phone, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer phone.Close()
	local := phone.LocalAddr().String()
	buf := make([]byte, 65535)
	roundTrip := func(msg []byte) string {
		if _, err := phone.WriteTo(msg, server); err != nil {
			b.Fatal(err)
		}
		_ = phone.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := phone.ReadFrom(buf)
		if err != nil {
			b.Fatal(err)
		}
		return string(buf[:n])
	}
	wire := func(cseq int, authz string) []byte {
		msg := registerBytes(cseq, fmt.Sprint("w", cseq), authz)
		return bytes.ReplaceAll(msg, []byte("192.0.2.10:5060"), []byte(local))
	}
	res := roundTrip(wire(1, ""))
	if !strings.HasPrefix(res, "SIP/2.0 401") {
		b.Fatalf("unauthenticated REGISTER answered %q", res)
	}
	chal, err := parseChallengeHeader(headerLine(res, "WWW-Authenticate"))
	if err != nil {
		b.Fatal(err)
	}
	const batch = 1 << 14
	reqs := make([][]byte, 0, batch)
	prepare := func(from int) {
		reqs = reqs[:0]
		for i := range batch {
			reqs = append(reqs, wire(from+i+2, credentials(b, chal, "alice7001", from+i+1)))
		}
	}
	prepare(0)
	b.ReportAllocs()
	cpu0 := processCPU()
	n := 0
	for b.Loop() {
		if n%batch == 0 && n > 0 {
			b.StopTimer()
			prepare(n)
			b.StartTimer()
		}
		if res := roundTrip(reqs[n%batch]); !strings.HasPrefix(res, "SIP/2.0 200") {
			b.Fatalf("REGISTER %d answered %q", n, res)
		}
		n++
	}
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(n), "cpu-µs/op")
}

// udpServer starts a test server (the demo directory) on a loopback UDP
// port, stopped when the test ends.
func udpServer(tb testing.TB) (*Server, net.Addr) {
	tb.Helper()
	return udpServerInline(tb, 0)
}

// udpServerInline is udpServer with the fast path forced onto the read
// loop (1), off it (-1), or decided as in production (0).
func udpServerInline(tb testing.TB, inline int8) (*Server, net.Addr) {
	tb.Helper()
	s, _, _ := newTestServer(tb)
	s.cfg.fastInline = inline
	s.cfg.Listen = []Listener{{Network: "udp", Addr: "127.0.0.1:0"}}
	s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := s.Listen(); err != nil {
		tb.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { s.Serve(ctx, time.Second); close(served) }()
	tb.Cleanup(func() { stop(); <-served })
	return s, s.udp[0].LocalAddr()
}

// headerLine returns the value of the first header called name in a raw
// message.
func headerLine(msg, name string) string {
	for _, line := range strings.Split(msg, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
