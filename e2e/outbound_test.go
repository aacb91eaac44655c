package e2e

import (
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/pion/stun/v3"
)

// phoneInstance is the +sip.instance of the one outbound phone of these tests.
const phoneInstance = `;+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"`

// outboundFlow is one RFC 5626 flow of bob's phone: its own TCP
// connection, registered with reg-id.
func outboundFlow(t *testing.T, srv *server, name string, regID int) *peer {
	t.Helper()
	p := newPeer(t, srv, name, "127.0.0.1", "TCP")
	p.outbound = fmt.Sprintf(";reg-id=%d", regID) + phoneInstance
	p.register("7002", bob)
	return p
}

// closeFlow closes the phone's TCP connection to srv, as a phone that
// lost its network or rebooted does.
func closeFlow(t *testing.T, p *peer) {
	t.Helper()
	c, err := p.ua.TransportLayer().GetConnection("tcp", p.srv.Addr)
	if err != nil || c == nil {
		t.Fatalf("%s: no connection to %s: %v", p.name, p.srv.Addr, err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("%s: close: %v", p.name, err)
	}
}

// TestOutboundFlows: bob's phone registers flow 1, flow 2, then flow 1
// again from a new connection. The registrar keeps one binding per reg-id,
// says Require: outbound and Flow-Timer; a call rings only the newest
// working flow, and once that connection closes the other flow, then 480.
func TestOutboundFlows(t *testing.T) {
	t.Parallel()
	srv := start(t, options{Keepalive: "30s"})
	caller := phoneOn(t, srv, "7001", "UDP", "7001", alice)
	stale := outboundFlow(t, srv, "flow1-old", 1)
	flow2 := outboundFlow(t, srv, "flow2", 2)
	flow1 := outboundFlow(t, srv, "flow1", 1) // reconnected: replaces flow1-old

	res := flow1.lastReg
	if got := header(res, "Require"); got != "outbound" {
		t.Errorf("200 to an outbound REGISTER: Require %q, want outbound\n%s", got, res)
	}
	if got := header(res, "Flow-Timer"); got != "30" {
		t.Errorf("Flow-Timer %q, want 30 (sip.keepalive)", got)
	}
	bs := bindings(t, res)
	if _, ok := bs[stale.contactURI("7002")]; ok || len(bs) != 2 {
		t.Errorf("bindings after reconnecting reg-id 1 = %v, want flow1 and flow2 only", bs)
	}

	// One flow per phone: the most recently registered.
	c := connect(t, caller, alice, "7002", flow1)
	hangUp(t, c, flow1)
	if n, m := invited(flow2), invited(stale); n != 0 || m != 0 {
		t.Errorf("INVITEs on flow2 %d, on the replaced flow %d, want none", n, m)
	}

	closeFlow(t, flow1)
	c = connect(t, caller, alice, "7002", flow2)
	hangUp(t, c, flow2)
	if n := invited(flow1); n != 1 {
		t.Errorf("closed flow1 got %d INVITEs, want only the first call's", n)
	}

	closeFlow(t, flow2)
	caller.call("7002", callOpts{As: &alice}).waitStatus(480, 10*time.Second)
	if n := invited(stale); n != 0 {
		t.Errorf("replaced flow got %d INVITEs, want none", n)
	}
}

// TestOutboundCRLFKeepalive: a double-CRLF ping on a TCP connection is
// answered with one CRLF (RFC 5626 §4.4.1), and the connection stays usable.
func TestOutboundCRLFKeepalive(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	conn, err := net.DialTimeout("tcp", srv.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := range 2 {
		if _, err := conn.Write([]byte("\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		pong := make([]byte, 2)
		if _, err := io.ReadFull(conn, pong); err != nil || string(pong) != "\r\n" {
			t.Fatalf("ping %d: pong %q, %v; want CRLF", i+1, pong, err)
		}
	}
}

// TestOutboundSTUNKeepalive: a STUN Binding request on the SIP UDP port
// (RFC 5626 §4.4.2) gets a Binding success with the address it came from,
// and SIP on the same socket still works.
func TestOutboundSTUNKeepalive(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	conn, err := net.Dial("udp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if _, err := conn.Write(req.Raw); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no answer to a STUN Binding request: %v", err)
	}
	res := &stun.Message{Raw: buf[:n]}
	if err := res.Decode(); err != nil {
		t.Fatalf("answer is not STUN: %v (%q)", err, buf[:n])
	}
	if res.Type != stun.BindingSuccess || res.TransactionID != req.TransactionID {
		t.Fatalf("answer %v tx %x, want Binding success for %x", res.Type, res.TransactionID, req.TransactionID)
	}
	var mapped stun.XORMappedAddress
	if err := mapped.GetFrom(res); err != nil {
		t.Fatalf("no XOR-MAPPED-ADDRESS: %v", err)
	}
	if local := conn.LocalAddr().(*net.UDPAddr); !mapped.IP.Equal(local.IP) || mapped.Port != local.Port {
		t.Errorf("mapped address %s, want %s", mapped, local)
	}
	phoneOn(t, srv, "7002", "UDP", "7002", bob) // SIP on the same port still works
}
