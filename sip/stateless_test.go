package sip

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestStatelessFastPath: REGISTER and OPTIONS over UDP are answered by the
// fast path, from bytes to bytes. It alone knows the listener a datagram
// came in on (sipgo's read loop does not say), so the binding records it:
// through sipgo, LocalAddr came from the request-URI ("acme.example:5060").
func TestStatelessFastPath(t *testing.T) {
	for _, mode := range []struct {
		name   string
		inline int8
	}{{"handed-off", -1}, {"on-read-loop", 1}} {
		t.Run(mode.name, func(t *testing.T) { testStatelessFastPath(t, mode.inline) })
	}
}

func testStatelessFastPath(t *testing.T, inline int8) {
	s, server := udpServerInline(t, inline)
	phone, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	port := phone.LocalAddr().(*net.UDPAddr).Port
	buf := make([]byte, 65535)
	exchange := func(msg []byte) string {
		t.Helper()
		if _, err := phone.WriteTo(msg, server); err != nil {
			t.Fatal(err)
		}
		_ = phone.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := phone.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		return string(buf[:n])
	}
	via := fmt.Sprintf("127.0.0.2:%d", port)
	reg := bytes.ReplaceAll(registerBytes(1, "fp1", ""), []byte("192.0.2.10:5060;branch=z9hG4bKfp1;rport"), []byte(via+";branch=z9hG4bKfp1"))
	res := exchange(reg)
	if !strings.HasPrefix(res, "SIP/2.0 401") || headerLine(res, "WWW-Authenticate") == "" {
		t.Fatalf("REGISTER answered %q, want a 401 challenge", res)
	}
	chal, err := parseChallengeHeader(headerLine(res, "WWW-Authenticate"))
	if err != nil {
		t.Fatal(err)
	}
	reg = bytes.ReplaceAll(registerBytes(2, "fp1b", credentials(t, chal, "alice7001", 1)),
		[]byte("192.0.2.10:5060;branch=z9hG4bKfp1b;rport"), []byte(via+";branch=z9hG4bKfp1b"))
	if res := exchange(reg); !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Fatalf("authenticated REGISTER answered %q, want 200", res)
	}
	// Its retransmission (the 200 may have been lost) is answered 200
	// again; the same credentials in another transaction are a replay.
	if res := exchange(reg); !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Errorf("retransmitted REGISTER answered %q, want 200 again", res)
	}
	if res := exchange(bytes.ReplaceAll(reg, []byte("z9hG4bKfp1b"), []byte("z9hG4bKfp1c"))); !strings.HasPrefix(res, "SIP/2.0 401") {
		t.Errorf("credentials reused in a new transaction answered %q, want 401", res)
	}
	bs, err := s.loc.Lookup(context.Background(), "alice@acme.example")
	if err != nil || len(bs) != 1 || bs[0].LocalAddr != server.String() || bs[0].Transport != "udp" {
		t.Errorf("binding = %+v, %v; want one over udp with LocalAddr %s", bs, err, server)
	}
	// Requests to the phone must later leave from the listener (NAT): its
	// source is mapped to the listener's connection, as sipgo's read loop does.
	c, err := s.ua.TransportLayer().GetConnection("udp", phone.LocalAddr().String())
	if err != nil || c == nil || c.LocalAddr().String() != server.String() {
		t.Errorf("connection for the phone = %v, %v; want the listener %s", c, err, server)
	}

	opts := "OPTIONS sip:acme.example SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + via + ";branch=z9hG4bKfp2\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:7001@acme.example>;tag=1\r\nTo: <sip:acme.example>\r\n" +
		"Call-ID: fp2@phone\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	if res := exchange([]byte(opts)); !strings.HasPrefix(res, "SIP/2.0 200") || !strings.Contains(headerLine(res, "Allow"), "REGISTER") {
		t.Errorf("OPTIONS answered %q, want 200 with Allow", res)
	}

	// What does not parse is left to sipgo, which drops it; the server goes on.
	if _, err := phone.WriteTo([]byte("REGISTER \x00\x01 garbage\r\n\r\n"), server); err != nil {
		t.Fatal(err)
	}
	if res := exchange([]byte(strings.Replace(opts, "fp2", "fp3", 2))); !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Errorf("OPTIONS after garbage answered %q", res)
	}
	// On the read loop every answer above left through the batch writer.
	if _, written := s.batched[s.udp[0]].sent(); inline == 1 && written < 6 {
		t.Errorf("read loop: %d responses sent by batch; want the 6 answers", written)
	} else if inline == -1 && written != 0 {
		t.Errorf("handed off: %d responses sent by batch; want none", written)
	}
}

func TestResponseAddr(t *testing.T) {
	for _, tt := range []struct{ via, want string }{
		{"SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKa;rport", "127.0.0.1:40000"}, // rport: the source port
		{"SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKa", "127.0.0.1:5070"},        // received IP, sent-by port
		{"SIP/2.0/UDP phone.example;branch=z9hG4bKa", "127.0.0.1:5060"},         // default port
	} {
		raw := "SIP/2.0 200 OK\r\nVia: " + tt.via + "\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\n" +
			"Call-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
		res := parseResponse(t, raw)
		if got := responseAddr(res, mustAddrPort("127.0.0.1:40000")).String(); got != tt.want {
			t.Errorf("responseAddr(Via %s) = %s, want %s", tt.via, got, tt.want)
		}
	}
}

func parseResponse(tb testing.TB, raw string) *sip.Response {
	tb.Helper()
	msg, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		tb.Fatal(err)
	}
	return msg.(*sip.Response)
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// TestInlineFastPath: the fast path runs on the read loop only with one P
// and nothing that can wait on the network.
func TestInlineFastPath(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	s, _, _ := newTestServer(t)
	if !s.inlineFastPath() {
		t.Error("one P, in-process stores, no guard: want the read loop")
	}
	s.cfg.Guard = sharedGuard{shared: false}
	if !s.inlineFastPath() {
		t.Error("a guard without a shared store: want the read loop")
	}
	s.cfg.Guard = sharedGuard{shared: true}
	if s.inlineFastPath() {
		t.Error("a guard counting in a shared store may wait: want hand-off")
	}
	s.cfg.Guard = nil
	runtime.GOMAXPROCS(2)
	if s.inlineFastPath() {
		t.Error("two Ps: want hand-off, which runs requests in parallel")
	}
	s.cfg.fastInline = 1
	if !s.inlineFastPath() {
		t.Error("forced on: want the read loop")
	}
}

type sharedGuard struct {
	Guard  // never called: inlineFastPath only asks Shared
	shared bool
}

func (g sharedGuard) Shared() bool { return g.shared }
