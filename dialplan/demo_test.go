package dialplan

import (
	"context"
	"testing"
)

func TestDemo(t *testing.T) {
	d, err := Demo()
	if err != nil {
		t.Fatalf("Demo() = %v", err)
	}
	if ps := Validate(d); len(ps) > 0 {
		t.Fatalf("Validate(Demo()) = %v", ps)
	}
	if got := d.Tenants[0].Users[0].Password; got != "alice7001" {
		t.Errorf("alice's demo password = %q, want alice7001 kept for printing", got)
	}
	s := NewMemoryStore()
	ctx := context.Background()
	if err := s.Replace(ctx, d); err != nil {
		t.Fatalf("Replace(Demo()) = %v", err)
	}
	v, err := s.TenantByNumber(ctx, "+14155550100")
	if err != nil || v.Tenant.Name != "Acme Inc" {
		t.Fatalf("TenantByNumber(main) = %v, %v", v, err)
	}
	tests := []struct {
		name    string
		wantAOR string
	}{
		{"7001", "alice@acme.example"},
		{"alice-support", "alice-support@acme.example"},
		{"7002", "bob@acme.example"},
		{"7003", "carol@acme.example"},
		{"7100", "7100@acme.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := v.Lookup(tt.name)
			if got := e.AOR(v.Tenant.Domain); !ok || got != tt.wantAOR {
				t.Errorf("Lookup(%s).AOR = %q, %v; want %q", tt.name, got, ok, tt.wantAOR)
			}
		})
	}
	if tg, _ := v.Number("+14155550101"); tg != (Target{TargetUser, "alice"}) {
		t.Errorf("Number(+14155550101) = %v, want user:alice", tg)
	}
	if a, _ := v.Attendant("main"); a.Options["1"] != "group:sales" || a.Fallback != "user:carol" {
		t.Errorf("attendant main = %+v", a)
	}
}
