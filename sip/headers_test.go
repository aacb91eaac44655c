package sip

import "testing"

// TestNameIs: header names match ignoring ASCII case only.
func TestNameIs(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"Via", "via", true}, {"CALL-ID", "Call-ID", true}, {"cseq", "CSeq", true},
		{"Via", "Vias", false}, {"From", "To", false}, {"Max-Forwardſ", "Max-Forwards", false},
		{"Call-ID", "Call_ID", false}, {"", "", true}, {"[", "{", false}, {"@", "`", false},
	} {
		if got := nameIs(tt.a, tt.b); got != tt.want {
			t.Errorf("nameIs(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
