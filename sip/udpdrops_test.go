package sip

import (
	"net"
	"runtime"
	"testing"
)

// TestUDPReceiveDrops: datagrams the kernel drops because nobody read the
// listener's full receive buffer show in
// switchboard_sip_udp_receive_drops_total for that listener.
func TestUDPReceiveDrops(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skipf("needs Linux's /proc/net/udp, where the drop counts come from; this is %s", runtime.GOOS)
	}
	s, reg, _ := newTestServer(t)
	s.cfg.Listen = []Listener{{Network: "udp", Addr: "127.0.0.1:0"}}
	s.cfg.UDPReadBuffer = 4096 // the kernel doubles it; a few datagrams fill it
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	defer s.closeSockets()
	addr := s.udp[0].LocalAddr()
	drops := func() (float64, bool) {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "switchboard_sip_udp_receive_drops_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() == addr.String() {
					return m.GetCounter().GetValue(), true
				}
			}
		}
		return 0, false
	}
	if n, ok := drops(); !ok || n != 0 {
		t.Fatalf("before any traffic: drops = %v (reported %v), want 0", n, ok)
	}
	sender, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	payload := make([]byte, 1000)
	for range 200 { // nothing reads the listener: Serve was not called
		if _, err := sender.WriteTo(payload, addr); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := drops(); n < 100 {
		t.Errorf("after 200 unread datagrams into a 8 KiB buffer: drops = %v, want most of them", n)
	}
}
