package sip

import (
	"testing"
	"time"
)

func TestActiveCalls(t *testing.T) {
	s := &Server{}
	if got := s.ActiveCalls(); len(got) != 0 {
		t.Fatalf("ActiveCalls() on an idle server = %v, want none", got)
	}
	t0 := time.Unix(1000, 0)
	s.dialogs.m = map[string]*dialog{
		"b": {callID: "b", kind: "ring", answered: t0.Add(time.Second),
			cdr: []any{"call_id", "b", "tenant", "acme.example", "caller", "alice", "callee", "7002"}},
		"a": {callID: "a", kind: "outbound", answered: t0,
			cdr: []any{"call_id", "a", "tenant", "acme.example", "caller", "bob", "callee", "+14085551234"}},
	}
	got := s.ActiveCalls()
	want := []CallInfo{
		{CallID: "a", Tenant: "acme.example", Caller: "bob", Callee: "+14085551234", Kind: "outbound", Answered: t0},
		{CallID: "b", Tenant: "acme.example", Caller: "alice", Callee: "7002", Kind: "ring", Answered: t0.Add(time.Second)},
	}
	if len(got) != len(want) {
		t.Fatalf("ActiveCalls() = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ActiveCalls()[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}
