package sip

import (
	"testing"

	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/routing"
)

func TestParseReplaces(t *testing.T) {
	tests := []struct {
		in           string
		id, to, from string
		ok           bool
	}{
		{"abc@h;to-tag=t1;from-tag=f1", "abc@h", "t1", "f1", true},
		{" abc@h ; from-tag=f1 ; to-tag=t1;early-only", "abc@h", "t1", "f1", true},
		{"abc@h;to-tag=t1", "abc@h", "t1", "", false},
		{";to-tag=t1;from-tag=f1", "", "t1", "f1", false},
	}
	for _, tt := range tests {
		id, to, from, ok := parseReplaces(tt.in)
		if id != tt.id || to != tt.to || from != tt.from || ok != tt.ok {
			t.Errorf("parseReplaces(%q) = %q %q %q %v, want %q %q %q %v", tt.in, id, to, from, ok, tt.id, tt.to, tt.from, tt.ok)
		}
	}
}

func TestPinReplaces(t *testing.T) {
	desk := routing.Contact{AOR: "carol", Binding: location.Binding{Source: "10.0.0.1:5060", Transport: "udp"}}
	soft := routing.Contact{AOR: "carol", Binding: location.Binding{Source: "10.0.0.2:5060", Transport: "tcp"}}
	plan := routing.Plan{Kind: "user", Steps: []routing.Step{routing.Ring{Contacts: []routing.Contact{desk, soft}}, routing.Reject{Code: 480}}}

	got := pinReplaces(plan, flow{addr: "10.0.0.1:5060", transport: "udp"})
	if r := got.Steps[0].(routing.Ring); len(r.Contacts) != 1 || r.Contacts[0].Binding.Source != desk.Binding.Source {
		t.Errorf("pinned ring step = %+v, want the desk phone only", r.Contacts)
	}
	if len(got.Steps) != 2 {
		t.Errorf("pinned plan has %d steps, want 2", len(got.Steps))
	}
	if r := plan.Steps[0].(routing.Ring); len(r.Contacts) != 2 {
		t.Errorf("pinReplaces modified its input: %+v", r.Contacts)
	}
	// A flow the plan does not ring leaves the plan alone.
	got = pinReplaces(plan, flow{addr: "10.0.0.9:5060", transport: "udp"})
	if r := got.Steps[0].(routing.Ring); len(r.Contacts) != 2 {
		t.Errorf("unmatched flow: ring step = %+v, want both phones", r.Contacts)
	}
}
