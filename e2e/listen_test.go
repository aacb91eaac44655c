package e2e

import (
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo"
)

// sipListener is a test peer's bound SIP socket before it serves. Binding
// and serving are two steps so the peer can record its address before any
// handler goroutine can read it.
type sipListener struct {
	addr      string
	transport string
	ip        string
	pc        net.PacketConn
	ln        net.Listener
}

// listenSIP binds a fresh port on ip for transport ("UDP" or "TCP").
func listenSIP(t *testing.T, ip, transport string) *sipListener {
	t.Helper()
	l := &sipListener{transport: transport, ip: ip}
	var err error
	switch transport {
	case "UDP":
		if l.pc, err = net.ListenPacket("udp", net.JoinHostPort(ip, "0")); err == nil {
			l.addr = l.pc.LocalAddr().String()
		}
	case "TCP":
		if l.ln, err = net.Listen("tcp", net.JoinHostPort(ip, "0")); err == nil {
			l.addr = l.ln.Addr().String()
		}
	default:
		t.Fatalf("transport %q", transport)
	}
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// serve starts sv on the socket (sv's handlers must all be set: sipgo reads
// its handler map unlocked) and returns the client options that make the
// peer's requests use it: over UDP they leave from the listening socket, as
// the proxy reaches a phone at the flow it registered from; over TCP
// requests to the peer come back over its own connection.
func (l *sipListener) serve(t *testing.T, ua *sipgo.UserAgent, sv *sipgo.Server) []sipgo.ClientOption {
	t.Helper()
	if l.transport == "TCP" {
		go sv.ServeTCP(l.ln)
		return []sipgo.ClientOption{sipgo.WithClientHostname(l.ip)}
	}
	go sv.ServeUDP(l.pc)
	waitUntil(t, 2*time.Second, "UDP listener up", func() bool {
		c, err := ua.TransportLayer().GetConnection("udp", l.addr)
		return err == nil && c != nil
	})
	return []sipgo.ClientOption{sipgo.WithClientAddr(l.addr), sipgo.WithClientConnectionAddr(l.addr)}
}
