package sip

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// Overload on a WebSocket is answered 503 with Retry-After, as on TCP: a
// stream cannot drop a request and stay framed.
func TestOverloadWebSocket503(t *testing.T) {
	s, _, _ := newTestServer(t)
	s.cfg.Listen = []Listener{{Network: "udp", Addr: "127.0.0.1:0"}, {Network: "ws", Addr: "127.0.0.1:0"}}
	s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { s.Serve(ctx, time.Second); close(served) }()
	t.Cleanup(func() { stop(); <-served })

	dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, _, err := ws.Dialer{Protocols: []string{"sip"}}.Dial(dctx, "ws://"+s.streams[0].Addr().String()+"/")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	opts := func(branch string) []byte {
		return []byte("OPTIONS sip:acme.example SIP/2.0\r\n" +
			"Via: SIP/2.0/WS abc.invalid;branch=z9hG4bK" + branch + "\r\n" +
			"Max-Forwards: 70\r\nFrom: <sip:7001@acme.example>;tag=1\r\nTo: <sip:acme.example>\r\n" +
			"Call-ID: " + branch + "@ws\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
	}
	answer := func() string {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		data, _, err := wsutil.ReadServerData(c)
		if err != nil {
			t.Fatalf("no answer over the WebSocket: %v", err)
		}
		return string(data)
	}

	s.inflight.Store(s.overload.limit) // as if that many were being handled
	if err := wsutil.WriteClientText(c, opts("ws1")); err != nil {
		t.Fatal(err)
	}
	if res := answer(); !strings.HasPrefix(res, "SIP/2.0 503") || headerLine(res, "Retry-After") == "" {
		t.Errorf("overloaded server answered %q, want 503 with Retry-After", res)
	}
	s.inflight.Store(0)
	if err := wsutil.WriteClientText(c, opts("ws2")); err != nil {
		t.Fatal(err)
	}
	if res := answer(); !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Errorf("after the backlog: %q, want 200", res)
	}
}
