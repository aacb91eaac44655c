package sip

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

// TestCheckVia: a Via without protocol, transport or sent-by host is
// refused 400, and every well-formed one passes.
func TestCheckVia(t *testing.T) {
	const rest = "From: <sip:7001@acme.example>;tag=1\r\nTo: <sip:acme.example>\r\n" +
		"Call-ID: cv@phone\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	for _, c := range []struct {
		via  string
		want int
	}{
		{"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa\r\n", 0},
		{"v: SIP/2.0/TCP [2001:db8::1];branch=z9hG4bKa\r\n", 0},
		{"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKa, SIP/2.0/UDP proxy.example;branch=z9hG4bKb\r\n", 0},
		{"v:// 0:A\r\n", 400},
		{"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKa\r\nVia: //\r\n", 400},
	} {
		msg, err := sip.NewParser().ParseSIP([]byte("OPTIONS sip:acme.example SIP/2.0\r\n" + c.via + rest))
		if err != nil {
			if c.want == 0 {
				t.Errorf("%q: does not parse: %v", c.via, err)
			}
			continue // the parser refusing it is as good
		}
		req := msg.(*sip.Request)
		if code, reason, _ := check(req); code != c.want {
			t.Errorf("%q: check = %d %s, want %d", c.via, code, reason, c.want)
		}
	}
}
