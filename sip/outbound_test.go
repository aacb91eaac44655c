package sip

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/location"
)

const testInstance = "<urn:uuid:00000000-0000-1000-8000-000a95a0e128>"

func outboundRegister(t *testing.T, supported, contactParams string) (regRequest, int) {
	t.Helper()
	raw := fmt.Sprintf("REGISTER sip:acme.example SIP/2.0\r\n"+
		"Via: SIP/2.0/TCP 192.0.2.10:5062;branch=z9hG4bK1\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:7001@acme.example>;tag=1\r\nTo: <sip:7001@acme.example>\r\n"+
		"Call-ID: ob1\r\nCSeq: 2 REGISTER\r\n%s"+
		"Contact: <sip:7001@192.0.2.10:5062;transport=tcp>%s\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n",
		supported, contactParams)
	s := &Server{cfg: Config{MinExpires: time.Minute, MaxExpires: time.Hour, DefaultExpires: time.Hour}, instance: "tcp:127.0.0.1:5060"}
	r, code, _ := s.parseRegister(parseRequest(t, []byte(raw)))
	return r, code
}

func TestParseOutboundContact(t *testing.T) {
	params := `;reg-id=2;+sip.instance="` + testInstance + `"`
	r, code := outboundRegister(t, "Supported: path, outbound\r\n", params)
	if code != 0 || len(r.Contacts) != 1 || r.Contacts[0].RegID != 2 || r.Contacts[0].SIPInstance != testInstance {
		t.Fatalf("outbound REGISTER parsed as %+v (code %d), want reg-id 2 of %s", r.Contacts, code, testInstance)
	}
	// Without the option tag the Contact is an ordinary binding (RFC 5626 §6).
	if r, code := outboundRegister(t, "", params); code != 0 || r.Contacts[0].RegID != 0 || r.outbound() {
		t.Errorf("REGISTER without Supported: outbound = %+v (code %d), want a plain binding", r.Contacts, code)
	}
	if r, _ := outboundRegister(t, "Supported: outbound\r\n", ";reg-id=1"); r.Contacts[0].RegID != 0 {
		t.Errorf("reg-id without +sip.instance = %+v, want a plain binding", r.Contacts)
	}
	if _, code := outboundRegister(t, "Supported: outbound\r\n", `;reg-id=x;+sip.instance="`+testInstance+`"`); code != 400 {
		t.Errorf("malformed reg-id: code %d, want 400", code)
	}
	two := params + ", <sip:7001@192.0.2.10:5070;transport=tcp>" + params
	if _, code := outboundRegister(t, "Supported: outbound\r\n", two); code != 400 {
		t.Errorf("two Contacts with reg-id: code %d, want 400", code)
	}
}

func TestApplyRegisterOutboundFlows(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	const uri = "sip:7001@192.0.2.10;transport=tcp"
	reg := func(cur []location.Binding, source string, cseq, regID uint32, expires time.Duration) []location.Binding {
		t.Helper()
		r := regRequest{AOR: "7001@acme", Tenant: "acme", CallID: "ob", CSeq: cseq, Source: source, Transport: "tcp",
			Contacts: []regContact{{URI: uri, Expires: expires, SIPInstance: testInstance, RegID: regID}}}
		out, err := applyRegister(now, cur, r, 10)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	bs := reg(nil, "192.0.2.10:4001", 1, 1, time.Hour)
	bs = reg(bs, "192.0.2.10:4002", 2, 2, time.Hour)
	// A plain binding with the same URI is a different binding.
	plain, err := applyRegister(now, bs, regRequest{CallID: "p", CSeq: 1, Contacts: []regContact{{URI: uri, Expires: time.Hour}}}, 10)
	if err != nil || len(plain) != 3 {
		t.Fatalf("plain binding beside two flows: %d bindings (%v), want 3", len(plain), err)
	}
	// The phone reconnects flow 1 from a new port: replaced, not added.
	bs = reg(bs, "192.0.2.10:4003", 3, 1, time.Hour)
	if len(bs) != 2 || bs[0].Source != "192.0.2.10:4003" || bs[0].RegID != 1 || bs[1].Source != "192.0.2.10:4002" {
		t.Fatalf("after re-REGISTER of reg-id 1 from a new flow: %+v", bs)
	}
	if bs = reg(bs, "192.0.2.10:4002", 4, 2, 0); len(bs) != 1 || bs[0].RegID != 1 {
		t.Errorf("after expires=0 on reg-id 2: %+v, want only reg-id 1", bs)
	}
}

func TestPickFlowsOnePerInstance(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	s := &Server{instance: "tcp:127.0.0.1:5060"}
	flow := func(inst string, regID uint32, age time.Duration) location.Binding {
		return location.Binding{Contact: "sip:p@192.0.2.10", SIPInstance: inst, RegID: regID,
			Transport: "tcp", Instance: "tcp:127.0.0.2:5060", Updated: now.Add(-age)}
	}
	bs := []location.Binding{
		flow(testInstance, 1, time.Minute),
		{Contact: "sip:plain@192.0.2.20", Updated: now},
		flow(testInstance, 2, time.Second), // the most recent flow of the phone
		flow("<urn:uuid:other>", 1, time.Hour),
	}
	got := s.pickFlows(bs)
	if len(got) != 3 || got[0].Contact != "sip:plain@192.0.2.20" || got[1].RegID != 2 || got[2].SIPInstance != "<urn:uuid:other>" {
		t.Errorf("pickFlows = %+v, want the plain binding, reg-id 2 of the first phone, the other phone", got)
	}
}
