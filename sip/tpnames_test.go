package sip

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

// The cached Record-Route sets say what a freshly built one would: one
// entry per transport, the outgoing one first (RFC 5658), sips: for a TLS
// hop of a SIPS request, and a changed address is not served a stale set.
func TestRecordRouteSets(t *testing.T) {
	s := &Server{bound: []boundAddr{{network: "udp", host: "10.0.0.1", port: 5060}, {network: "tls", host: "10.0.0.1", port: 5061}}}
	strs := func(hs []sip.Header) []string {
		var out []string
		for _, h := range hs {
			out = append(out, h.Value())
		}
		return out
	}
	for _, tc := range []struct {
		in, out string
		sips    bool
		want    []string
	}{
		{"UDP", "udp", false, []string{"<sip:10.0.0.1:5060;transport=udp;lr>"}},
		{"UDP", "TLS", false, []string{"<sip:10.0.0.1:5061;transport=tls;lr>", "<sip:10.0.0.1:5060;transport=udp;lr>"}},
		{"TLS", "udp", true, []string{"<sip:10.0.0.1:5060;transport=udp;lr>", "<sips:10.0.0.1:5061;transport=tls;lr>"}},
	} {
		for range 2 { // built, then from the cache
			if got := strs(s.recordRoute(tc.in, tc.out, tc.sips)); !equalStrings(got, tc.want) {
				t.Errorf("recordRoute(%s, %s, %v) = %q, want %q", tc.in, tc.out, tc.sips, got, tc.want)
			}
		}
	}
	s.cfg.Advertise = "pbx.example:5080"
	if got := strs(s.recordRoute("udp", "udp", false)); !equalStrings(got, []string{"<sip:pbx.example:5080;transport=udp;lr>"}) {
		t.Errorf("after advertise: %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { s.recordRoute("UDP", "udp", false) }); n != 0 {
		t.Errorf("a cached Record-Route set costs %v allocations", n)
	}
	for _, tc := range [][3]string{{"UDP", "udp", "UDP"}, {"tls", "tls", "TLS"}, {"Ws", "ws", "WS"}, {"sctp", "sctp", "SCTP"}} {
		if tpLower(tc[0]) != tc[1] || tpUpper(tc[0]) != tc[2] {
			t.Errorf("tpLower/tpUpper(%q) = %q/%q", tc[0], tpLower(tc[0]), tpUpper(tc[0]))
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
