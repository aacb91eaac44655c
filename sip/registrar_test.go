package sip

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard/switchboard/location"
)

func TestApplyRegister(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	bind := func(contact, callID string, cseq uint32, ttl time.Duration) location.Binding {
		return location.Binding{Contact: contact, CallID: callID, CSeq: cseq, Expires: now.Add(ttl), Updated: now.Add(ttl - time.Hour)}
	}
	type row struct {
		contact string
		expires time.Duration
	}
	tests := []struct {
		name    string
		cur     []location.Binding
		callID  string
		cseq    uint32
		star    bool
		add     []row
		max     int
		want    []string // contacts after, in order
		wantErr error
	}{
		{name: "first binding", callID: "c1", cseq: 1, add: []row{{"sip:a@1", time.Hour}}, want: []string{"sip:a@1"}},
		{name: "second device keeps first", cur: []location.Binding{bind("sip:a@1", "c1", 1, time.Hour)},
			callID: "c2", cseq: 1, add: []row{{"sip:b@2", time.Hour}}, want: []string{"sip:a@1", "sip:b@2"}},
		{name: "refresh same contact", cur: []location.Binding{bind("sip:a@1", "c1", 1, time.Minute)},
			callID: "c1", cseq: 2, add: []row{{"sip:a@1", time.Hour}}, want: []string{"sip:a@1"}},
		{name: "expires 0 removes one", cur: []location.Binding{bind("sip:a@1", "c1", 1, time.Hour), bind("sip:b@2", "c2", 1, time.Hour)},
			callID: "c1", cseq: 2, add: []row{{"sip:a@1", 0}}, want: []string{"sip:b@2"}},
		{name: "expires 0 for unknown contact is a no-op", cur: []location.Binding{bind("sip:a@1", "c1", 1, time.Hour)},
			callID: "c9", cseq: 1, add: []row{{"sip:zz@9", 0}}, want: []string{"sip:a@1"}},
		{name: "star removes all", cur: []location.Binding{bind("sip:a@1", "c1", 1, time.Hour), bind("sip:b@2", "c2", 1, time.Hour)},
			callID: "c3", cseq: 1, star: true, want: nil},
		{name: "out of order cseq refused", cur: []location.Binding{bind("sip:a@1", "c1", 5, time.Hour)},
			callID: "c1", cseq: 4, add: []row{{"sip:a@1", time.Hour}}, wantErr: location.ErrStale},
		{name: "retransmission with the same cseq is applied again", cur: []location.Binding{bind("sip:a@1", "c1", 5, time.Minute)},
			callID: "c1", cseq: 5, add: []row{{"sip:a@1", time.Hour}}, want: []string{"sip:a@1"}},
		{name: "star out of order refused", cur: []location.Binding{bind("sip:a@1", "c1", 5, time.Hour)},
			callID: "c1", cseq: 4, star: true, wantErr: location.ErrStale},
		{name: "other call-id may use a lower cseq", cur: []location.Binding{bind("sip:a@1", "c1", 5, time.Hour)},
			callID: "c2", cseq: 1, add: []row{{"sip:a@1", time.Hour}}, want: []string{"sip:a@1"}},
		{name: "max contacts keeps the newest", max: 2,
			cur:    []location.Binding{bind("sip:old@1", "c1", 1, time.Minute), bind("sip:mid@2", "c2", 1, 30*time.Minute)},
			callID: "c3", cseq: 1, add: []row{{"sip:new@3", time.Hour}}, want: []string{"sip:new@3", "sip:mid@2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := regRequest{AOR: "john@acme", Tenant: "acme", CallID: tt.callID, CSeq: tt.cseq, Star: tt.star}
			for _, a := range tt.add {
				r.Contacts = append(r.Contacts, regContact{URI: a.contact, Expires: a.expires})
			}
			got, err := applyRegister(now, tt.cur, r, tt.max)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("applyRegister error = %v, want %v", err, tt.wantErr)
			}
			var contacts []string
			for _, b := range got {
				contacts = append(contacts, b.Contact)
			}
			if diff := cmp.Diff(tt.want, contacts); diff != "" {
				t.Errorf("applyRegister contacts (-want +got):\n%s", diff)
			}
			for _, b := range got {
				if b.CallID == tt.callID && b.CSeq != tt.cseq {
					t.Errorf("binding %s CSeq = %d, want %d", b.Contact, b.CSeq, tt.cseq)
				}
			}
		})
	}
}

func TestApplyRegisterDoesNotModifyCurrent(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	cur := []location.Binding{{Contact: "sip:a@1", CallID: "c1", CSeq: 1, Expires: now.Add(time.Hour)}}
	r := regRequest{CallID: "c1", CSeq: 2, Contacts: []regContact{{URI: "sip:a@1", Expires: 0}}}
	if _, err := applyRegister(now, cur, r, 10); err != nil {
		t.Fatal(err)
	}
	if cur[0].Contact != "sip:a@1" || cur[0].CSeq != 1 {
		t.Fatalf("current bindings modified: %+v", cur[0])
	}
}

func TestParseSeconds(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"3600", time.Hour, true},
		{" 60 ", time.Minute, true},
		{"0", 0, true},
		{"", 0, false},
		{"abc", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"99999999999999999999", time.Duration(1<<32-1) * time.Second, true},
	}
	for _, tt := range tests {
		got, ok := parseSeconds(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseSeconds(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
