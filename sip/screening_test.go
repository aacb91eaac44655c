package sip

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestCallerNumber(t *testing.T) {
	tests := []struct {
		from    string
		privacy string
		want    string
	}{
		{"<sip:+14085559999@trunk.example>", "", "14085559999"},
		{"\"Alice\" <sip:7001@acme.example>", "", "7001"},
		{"<sip:+14085559999;npdi@trunk.example;user=phone>", "", "14085559999"},
		{"<sip:anonymous@anonymous.invalid>", "", ""},
		{"<sip:alice@acme.example>", "", ""},
		{"<sip:+1408555x999@trunk.example>", "", ""},
		{"<sip:+@trunk.example>", "", ""},
		{"<sip:+1234567890123456@trunk.example>", "", ""}, // 16 digits: no E.164 number
		{"<sip:+123456789012345@trunk.example>", "", "123456789012345"},
		{"<sip:+14085559999@trunk.example>", "id", ""},
		{"<sip:+14085559999@trunk.example>", "user; critical", ""},
		{"<sip:+14085559999@trunk.example>", "none", "14085559999"},
	}
	for _, tt := range tests {
		req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "7010", Host: "acme.example"})
		var from sip.Uri
		if err := sip.ParseUri(strings.Trim(tt.from[strings.Index(tt.from, "<")+1:], ">"), &from); err != nil {
			t.Fatalf("%s: %v", tt.from, err)
		}
		req.AppendHeader(&sip.FromHeader{Address: from, Params: sip.NewParams()})
		if tt.privacy != "" {
			req.AppendHeader(sip.NewHeader("Privacy", tt.privacy))
		}
		if got := callerNumber(req); got != tt.want {
			t.Errorf("callerNumber(From %s, Privacy %q) = %q, want %q", tt.from, tt.privacy, got, tt.want)
		}
	}
}
