package auth

import "testing"

func TestURIMatch(t *testing.T) {
	tests := []struct {
		name                  string
		digestURI, requestURI string
		want                  bool
	}{
		{"identical", "sip:7002@acme.example", "sip:7002@acme.example", true},
		{"identical non-SIP", "/dir/index.html", "/dir/index.html", true},
		{"scheme case", "SIP:7002@acme.example", "sip:7002@acme.example", true},
		{"host case", "sip:7002@ACME.Example", "sip:7002@acme.example", true},
		{"params ignored", "sip:7002@acme.example;transport=udp", "sip:7002@acme.example", true},
		{"headers ignored", "sip:7002@acme.example?subject=hi", "sip:7002@acme.example", true},
		{"password ignored", "sip:7002:pw@acme.example", "sip:7002@acme.example", true},
		{"explicit equal port", "sip:acme.example:5080", "sip:acme.example:5080", true},
		{"SIPp ip:port", "sip:127.0.0.1:5060", "sip:127.0.0.1:5060;transport=UDP", true},
		{"IPv6", "sip:7002@[2001:DB8::1]:5060", "sip:7002@[2001:db8::1]:5060", true},
		{"sips", "sips:7002@acme.example", "SIPS:7002@acme.example", true},

		{"user differs", "sip:7003@acme.example", "sip:7002@acme.example", false},
		{"user case differs", "sip:John@acme.example", "sip:john@acme.example", false},
		{"host differs", "sip:7002@evil.example", "sip:7002@acme.example", false},
		{"port differs", "sip:acme.example:5061", "sip:acme.example:5060", false},
		{"port absent vs 5060", "sip:acme.example", "sip:acme.example:5060", false},
		{"user absent", "sip:acme.example", "sip:7002@acme.example", false},
		{"sip vs sips", "sips:7002@acme.example", "sip:7002@acme.example", false},
		{"tel", "tel:+15551234", "tel:+15551234;phone-context=x", false},
		{"empty", "", "sip:acme.example", false},
		{"empty host", "sip:7002@", "sip:7002@", true}, // identical strings pass as is
		{"empty host vs host", "sip:7002@", "sip:7002@acme.example", false},
		{"bad port", "sip:acme.example:50x0", "sip:acme.example:50x0;lr", false},
		{"port out of range", "sip:acme.example:99999", "sip:acme.example:99999;lr", false},
		{"unclosed IPv6", "sip:[::1", "sip:[::1;lr", false},
		{"empty user", "sip:@acme.example", "sip:@acme.example;lr", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := uriMatch(tt.digestURI, tt.requestURI); got != tt.want {
				t.Errorf("uriMatch(%q, %q) = %v, want %v", tt.digestURI, tt.requestURI, got, tt.want)
			}
			if got := uriMatch(tt.requestURI, tt.digestURI); got != tt.want {
				t.Errorf("uriMatch(%q, %q) = %v, want %v (reversed)", tt.requestURI, tt.digestURI, got, tt.want)
			}
		})
	}
}
