package sip

import (
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestStartsWork(t *testing.T) {
	for _, tt := range []struct {
		msg  string
		want bool
	}{
		{"REGISTER sip:a SIP/2.0\r\n", true}, {"INVITE sip:a SIP/2.0\r\n", true},
		{"OPTIONS sip:a SIP/2.0\r\n", true}, {"SUBSCRIBE sip:a SIP/2.0\r\n", true},
		{"ACK sip:a SIP/2.0\r\n", false}, {"BYE sip:a SIP/2.0\r\n", false},
		{"CANCEL sip:a SIP/2.0\r\n", false}, {"SIP/2.0 200 OK\r\n", false}, {"\r\n\r\n", false},
	} {
		if got := startsWork([]byte(tt.msg)); got != tt.want {
			t.Errorf("startsWork(%q) = %v, want %v", tt.msg, got, tt.want)
		}
	}
}

// TestOverloadSheds: with MaxActive requests in progress a new request is
// dropped before parsing (no answer, counted); once the backlog is gone the
// next one is answered at once.
func TestOverloadSheds(t *testing.T) {
	s, server := udpServer(t)
	phone, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	opts := func(branch string) []byte {
		return []byte("OPTIONS sip:acme.example SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP " + phone.LocalAddr().String() + ";branch=z9hG4bK" + branch + ";rport\r\n" +
			"Max-Forwards: 70\r\nFrom: <sip:7001@acme.example>;tag=1\r\nTo: <sip:acme.example>\r\n" +
			"Call-ID: " + branch + "@phone\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
	}
	buf := make([]byte, 65535)
	answer := func(wait time.Duration) (string, error) {
		_ = phone.SetReadDeadline(time.Now().Add(wait))
		n, _, err := phone.ReadFrom(buf)
		return string(buf[:n]), err
	}

	s.inflight.Store(s.overload.limit) // as if that many were being handled
	if _, err := phone.WriteTo(opts("ov1"), server); err != nil {
		t.Fatal(err)
	}
	if res, err := answer(300 * time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("overloaded server answered %q (%v), want the request dropped", res, err)
	}
	if got := testutil.ToFloat64(s.overload.dropped); got != 1 {
		t.Errorf("switchboard_sip_overload_dropped_total = %v, want 1", got)
	}
	s.inflight.Store(0)
	if _, err := phone.WriteTo(opts("ov2"), server); err != nil {
		t.Fatal(err)
	}
	if res, err := answer(5 * time.Second); err != nil || !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Errorf("after the backlog: %q, %v; want 200", res, err)
	}
}
