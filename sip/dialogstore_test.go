package sip

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestStoredDialogRoundTrip(t *testing.T) {
	dl := &dialog{callID: "c1", callerTag: "a", calleeTag: "b",
		caller: flow{addr: "10.0.0.1:5060", transport: "udp"}, callee: flow{addr: "10.0.0.2:5070", transport: "tcp"},
		answered: time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC), kind: "user",
		cdr: []any{"call_id", "c1", "caller", "alice"},
		blf: []dialogEvent{{Key: "acme.example/bob", ID: "x", State: "confirmed", Direction: "recipient"}}}
	b, err := json.Marshal(recordOf(dl))
	if err != nil {
		t.Fatal(err)
	}
	var rec storedDialog
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	got := rec.dialog()
	if !got.adopted {
		t.Error("a dialog loaded from the store is not marked adopted")
	}
	got.adopted = false
	if !reflect.DeepEqual(got, dl) {
		t.Errorf("round trip = %+v, want %+v", got, dl)
	}
}
