package main

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/location"
)

func TestLocationAdapters(t *testing.T) {
	ctx := context.Background()
	loc := location.NewMemory(nil)
	for _, b := range []location.Binding{
		{AOR: "alice@acme.example", Tenant: "acme.example", Contact: "sip:alice@192.0.2.1", UserAgent: "Yealink"},
		{AOR: "alice-support@acme.example", Tenant: "acme.example", Contact: "sip:alice-support@192.0.2.1"},
		{AOR: "x@globex.example", Tenant: "globex.example", Contact: "sip:x@192.0.2.9"},
	} {
		_, err := loc.Update(ctx, b.AOR, b.Tenant, func(now time.Time, _ []location.Binding) ([]location.Binding, error) {
			b.Expires = now.Add(time.Hour)
			return []location.Binding{b}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	regs, err := registrations{loc}.Registrations(ctx, "ACME.example")
	if err != nil || len(regs) != 2 || regs[0].AOR != "alice-support@acme.example" || regs[1].UserAgent != "Yealink" {
		t.Fatalf("Registrations(acme.example) = %+v, %v; want alice-support's and alice's", regs, err)
	}
	if err := (unbinder{loc}).Unbind(ctx, "alice@acme.example"); err != nil {
		t.Fatal(err)
	}
	if bs, _ := loc.Lookup(ctx, "alice@acme.example"); len(bs) != 0 {
		t.Errorf("Lookup after Unbind = %v, want none", bs)
	}
	if got := loc.Counts()["acme.example"]; got != 1 {
		t.Errorf("Counts[acme.example] after Unbind = %d, want 1", got)
	}
	if err := (unbinder{loc}).Unbind(ctx, "nobody@acme.example"); err != nil {
		t.Errorf("Unbind of an AOR with no bindings = %v, want nil", err)
	}
}
