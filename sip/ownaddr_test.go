package sip

import (
	"net"
	"strconv"
	"testing"
)

// isOwnAddr must agree with the net.JoinHostPort spelling the listener
// addresses are stored in, IPv6 brackets and the default port included.
func TestIsOwnAddr(t *testing.T) {
	s := &Server{ownAddrs: map[string]bool{}}
	for _, a := range []string{"127.0.0.1:5060", "[::1]:5070", "[2001:db8::5]:5080", "sip.example:5090"} {
		s.ownAddrs[a] = true
	}
	for _, tc := range []struct {
		host string
		port int
		want bool
	}{
		{"127.0.0.1", 5060, true},
		{"127.0.0.1", 0, true},
		{"127.0.0.1", 5061, false},
		{"::1", 5070, true},
		{"2001:db8::5", 5080, true},
		{"2001:db8::6", 5080, false},
		{"sip.example", 5090, true},
		{"sip.example", 0, false},
	} {
		if got := s.isOwnAddr(tc.host, tc.port); got != tc.want {
			t.Errorf("isOwnAddr(%q, %d) = %v, want %v", tc.host, tc.port, got, tc.want)
		}
		port := tc.port
		if port == 0 {
			port = 5060
		}
		if want := s.ownAddrs[net.JoinHostPort(tc.host, strconv.Itoa(port))]; want != tc.want {
			t.Errorf("table entry %q %d disagrees with net.JoinHostPort", tc.host, tc.port)
		}
	}
	if n := testing.AllocsPerRun(100, func() { s.isOwnAddr("2001:db8::5", 5080) }); n != 0 {
		t.Errorf("isOwnAddr allocates %v times", n)
	}
}
