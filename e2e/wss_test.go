package e2e

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestWSSRegisterAndCall: a browser-style SIP client on a secure WebSocket
// (RFC 7118: Via SIP/2.0/WSS, a .invalid Contact host) registers with
// digest, calls a UDP phone through a call record-routed across the two
// transports and hangs up; then the UDP phone calls it and the registrar
// delivers the INVITE over the WebSocket it registered on.
func TestWSSRegisterAndCall(t *testing.T) {
	t.Parallel()
	e := newTLSEnv(t, true, options{})
	w := dialWS(t, "wss://"+e.wsAddr+"/", e.ca.pool)
	res := w.register("7001", alice)
	wantStatus(t, res, 200)
	if c := header(res, "Contact"); !strings.Contains(c, ".invalid") {
		t.Errorf("200 to REGISTER lists Contact %q, want the client's .invalid binding", c)
	}
	b := newPeer(t, e.srv, "7002", "127.0.0.1", "UDP")
	b.register("7002", bob)

	// WSS -> UDP, BYE from the WebSocket caller.
	c, res := w.call("7002", alice)
	if c == nil {
		t.Fatalf("INVITE over WSS: %d %s", res.StatusCode, res.Reason)
	}
	if got := recordRoutes(res); strings.Join(got, ",") != "udp,wss" {
		t.Errorf("200 Record-Route transports %v, want [udp wss] (RFC 5658)\n%s", got, res)
	}
	inv := b.waitRequest(sip.INVITE, 1, 2*time.Second)
	if v := inv.Via(); v.Transport != "UDP" {
		t.Errorf("callee's INVITE top Via %q, want SIP/2.0/UDP", v.Value())
	}
	if got := recordRoutes(inv); strings.Join(got, ",") != "udp,wss" {
		t.Errorf("callee's INVITE Record-Route transports %v, want [udp wss]", got)
	}
	b.waitRequest(sip.ACK, 1, 2*time.Second)
	e.srv.waitMetric(t, callsActive, 1, 2*time.Second)
	if res := w.bye(c); res.StatusCode != 200 {
		t.Fatalf("BYE from the WSS caller: %d %s", res.StatusCode, res.Reason)
	}
	b.waitRequest(sip.BYE, 1, 2*time.Second)
	e.srv.waitMetric(t, callsActive, 0, 2*time.Second)
	cdr := e.srv.waitCDR(t, c.ok.CallID().Value(), 2*time.Second)
	if cdr["result"] != "answered" || cdr["caller"] != "alice" {
		t.Errorf("CDR = %v, want result=answered caller=alice", cdr)
	}

	// UDP -> WSS: delivered to the flow the client registered on, whose
	// Contact host (.invalid) cannot be resolved.
	oc := b.call("7001", callOpts{As: &bob})
	in := w.answer(3 * time.Second)
	if in.Via().Transport != "WSS" {
		t.Errorf("INVITE to the WebSocket client has top Via %q, want SIP/2.0/WSS", in.Via().Value())
	}
	if !strings.HasSuffix(in.Recipient.Host, ".invalid") {
		t.Errorf("INVITE Request-URI %s, want the client's .invalid Contact", in.Recipient.String())
	}
	if got := recordRoutes(in); strings.Join(got, ",") != "wss,udp" {
		t.Errorf("INVITE to the WebSocket client: Record-Route transports %v, want [wss udp]", got)
	}
	oc.waitStatus(200, 3*time.Second)
	oc.ack()
	if r := w.next(2 * time.Second); r.Method != sip.ACK {
		t.Fatalf("WebSocket client got %s after its 200, want ACK", r.Method)
	}
	byes := w.answerInBackground(sip.BYE, 5*time.Second)
	if res := oc.bye(); res.StatusCode != 200 {
		t.Fatalf("BYE from the UDP caller: %d %s", res.StatusCode, res.Reason)
	}
	if <-byes == nil {
		t.Fatal("the BYE did not reach the WebSocket client")
	}

	// Plain ws:// (behind a TLS-terminating proxy) registers the same way.
	p := dialWS(t, "ws://"+e.plainWS+"/", nil)
	wantStatus(t, p.register("7003", carol), 200)
}

// TestWSSSlowClientDoesNotBlock: a client that opens a connection to the
// wss:// listener and sends nothing does not hold up the next client.
func TestWSSSlowClientDoesNotBlock(t *testing.T) {
	t.Parallel()
	e := newTLSEnv(t, true, options{})
	for i := 0; i < 3; i++ {
		idle := dialRaw(t, e.wsAddr)
		defer idle.Close()
	}
	w := dialWS(t, "wss://"+e.wsAddr+"/", e.ca.pool)
	wantStatus(t, w.register("7001", alice), 200)
}

// dialRaw opens a TCP connection and sends nothing.
func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestWSSScannerDropped: the guard's scanner check reads WebSocket frames
// as it reads TCP: the connection is closed with no answer.
func TestWSSScannerDropped(t *testing.T) {
	t.Parallel()
	e := newTLSEnv(t, true, options{})
	w := dialWS(t, "wss://"+e.wsAddr+"/", e.ca.pool)
	to := sip.Uri{Scheme: "sip", User: "7001", Host: domain}
	req := w.newRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: domain}, to, to, "scan-"+token()+"@e2e")
	req.ReplaceHeader(sip.NewHeader("User-Agent", "sipvicious"))
	w.send(req)
	select {
	case <-w.done:
	case res := <-w.resps:
		t.Fatalf("scanner got an answer over WSS: %d %s", res.StatusCode, res.Reason)
	case <-time.After(3 * time.Second):
		t.Fatal("scanner's WebSocket still open after 3s")
	}
	e.srv.waitMetric(t, `switchboard_security_dropped_total{reason="scanner"}`, 1, 2*time.Second)
}

// TestWSSClientOnACalledViaB: a browser client registered on instance A is
// reached by a call arriving at instance B: B relays to A (the flow lives
// on A), which delivers over the client's WebSocket.
func TestWSSClientOnACalledViaB(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	a := newTLSEnv(t, true, options{Directory: callDirectory, Redis: r.URL()})
	b := start(t, options{Directory: callDirectory, Redis: r.URL()})
	w := dialWS(t, "wss://"+a.wsAddr+"/", a.ca.pool)
	wantStatus(t, w.register("7001", alice), 200)
	caller := newPeer(t, b, "7002", "127.0.0.1", "UDP")
	caller.register("7002", bob)

	c := caller.call("7001", callOpts{As: &bob})
	in := w.answer(5 * time.Second)
	if in.Via().Transport != "WSS" {
		t.Errorf("INVITE to the WebSocket client has top Via %q, want SIP/2.0/WSS", in.Via().Value())
	}
	res := c.waitStatus(200, 5*time.Second)
	if rr := header(res, "Record-Route"); !strings.Contains(rr, a.srv.Addr) || !strings.Contains(rr, b.Addr) {
		t.Errorf("Record-Route %q, want A (%s) and B (%s)", rr, a.srv.Addr, b.Addr)
	}
	c.ack()
	if r := w.next(3 * time.Second); r.Method != sip.ACK {
		t.Fatalf("WebSocket client got %s after its 200, want ACK", r.Method)
	}
	byes := w.answerInBackground(sip.BYE, 5*time.Second)
	if res := c.bye(); res.StatusCode != 200 {
		t.Fatalf("BYE from the caller on B: %d %s", res.StatusCode, res.Reason)
	}
	if <-byes == nil {
		t.Fatal("the BYE did not reach the WebSocket client on A")
	}
}
