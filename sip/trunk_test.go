package sip

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func parseTrunkRequest(t *testing.T, raw string) *sip.Request {
	t.Helper()
	msg, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return msg.(*sip.Request)
}

func TestDIDOf(t *testing.T) {
	req := parseTrunkRequest(t, "INVITE sip:acme-trunk@192.0.2.1:5060 SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK1\r\n"+
		"From: <sip:+14085550199@carrier.example>;tag=a\r\n"+
		"To: <sip:+14155550101@carrier.example>\r\n"+
		"P-Called-Party-ID: <sip:+14155550102@carrier.example>\r\n"+
		"Diversion: \"Main\" <sip:+14155550103@carrier.example>;reason=unconditional, <sip:+1999@x>\r\n"+
		"Call-ID: did@test\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
	tests := map[string]string{
		"":                  "acme-trunk",
		"ruri":              "acme-trunk",
		"to":                "+14155550101",
		"p-called-party-id": "+14155550102",
		"diversion":         "+14155550103",
	}
	for source, want := range tests {
		if got := didOf(req, source); got != want {
			t.Errorf("didOf(%q) = %q, want %q", source, got, want)
		}
	}
	bare := parseTrunkRequest(t, "INVITE sip:+14155550100@192.0.2.1 SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK2\r\n"+
		"From: <sip:+14085550199@carrier.example>;tag=a\r\nTo: <sip:+14155550100@192.0.2.1>\r\n"+
		"Call-ID: did2@test\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
	if got := didOf(bare, "p-called-party-id"); got != "+14155550100" {
		t.Errorf("didOf without the header = %q, want the Request-URI's +14155550100", got)
	}
}

func TestGrantedExpiry(t *testing.T) {
	ours := sip.Uri{Scheme: "sip", User: "acme-trunk", Host: "192.0.2.1", Port: 5060}
	mk := func(headers string) *sip.Response {
		msg, err := sip.ParseMessage([]byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n" +
			"From: <sip:acme-trunk@carrier.example>;tag=a\r\nTo: <sip:acme-trunk@carrier.example>;tag=b\r\n" +
			"Call-ID: reg@test\r\nCSeq: 1 REGISTER\r\n" + headers + "Content-Length: 0\r\n\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		return msg.(*sip.Response)
	}
	tests := []struct {
		name    string
		headers string
		want    time.Duration
	}{
		{"our contact's expires", "Contact: <sip:other@203.0.113.1>;expires=30\r\nContact: <sip:acme-trunk@192.0.2.1:5060>;expires=120\r\nExpires: 900\r\n", 120 * time.Second},
		{"Expires header", "Contact: <sip:other@203.0.113.1>;expires=30\r\nExpires: 900\r\n", 900 * time.Second},
		{"what we asked", "", 600 * time.Second},
	}
	for _, tt := range tests {
		if got := grantedExpiry(mk(tt.headers), ours, 600*time.Second); got != tt.want {
			t.Errorf("%s: grantedExpiry = %v, want %v", tt.name, got, tt.want)
		}
	}
}
