package sip

import "testing"

func TestTrunkServerName(t *testing.T) {
	for _, tt := range []struct{ address, want string }{
		{"sbc.carrier.example:5061", "sbc.carrier.example"},
		{"SBC.Carrier.Example.", "sbc.carrier.example"},
		{"192.0.2.7:5061", "192.0.2.7"},
		{"[2001:db8::7]:5061", "2001:db8::7"},
		{"2001:db8::7", "2001:db8::7"},
	} {
		if got := trunkServerName(tt.address); got != tt.want {
			t.Errorf("trunkServerName(%q) = %q, want %q", tt.address, got, tt.want)
		}
	}
}
