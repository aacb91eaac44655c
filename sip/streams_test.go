package sip

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

// A WebSocket client that connects and sends nothing must not hold up the
// next one: the upgrade request is read ahead per connection, and Close
// ends the reads still waiting.
func TestStreamListenerSlowClient(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var admitted []netip.Addr
	l := newStreamListener("ws", raw, nil, func(ip netip.Addr) bool { admitted = append(admitted, ip); return true })
	l.run()

	idle, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	time.Sleep(50 * time.Millisecond) // the idle one is accepted first

	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\nafter"
	fast, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	if _, err := fast.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}

	got := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			got <- c
		}
		close(got)
	}()
	select {
	case c := <-got:
		if c == nil {
			t.Fatal("Accept failed")
		}
		buf := make([]byte, len(req))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != req {
			t.Errorf("read %q, %v; want the upgrade request and what followed it, %q", buf, err, req)
		}
		c.Close()
	case <-time.After(3 * time.Second):
		t.Fatal("a client that sent its upgrade request waited behind an idle one")
	}

	closed := make(chan struct{})
	go func() { l.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		t.Fatal("Close waited for the idle client's handshake timeout")
	}
	if _, err := l.Accept(); err == nil {
		t.Error("Accept after Close succeeded")
	}
	if len(admitted) != 2 {
		t.Errorf("guard asked about %d connections, want 2", len(admitted))
	}
}

// A connection the guard refuses is closed before anything is read.
func TestStreamListenerRefused(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newStreamListener("ws", raw, nil, func(netip.Addr) bool { return false })
	l.run()
	defer l.Close()
	c, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil || n != 0 {
		t.Errorf("refused connection read %d bytes, err %v; want it closed", n, err)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Error("refused connection left open")
	}
}
