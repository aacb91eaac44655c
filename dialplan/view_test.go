package dialplan

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// loadStore returns a MemoryStore holding testdata/valid.yaml.
func loadStore(t testing.TB) *MemoryStore {
	t.Helper()
	d, err := Load("testdata/valid.yaml", LoadOptions{KeepPasswords: true})
	if err != nil {
		t.Fatal(err)
	}
	s := NewMemoryStore()
	if err := s.Replace(context.Background(), d); err != nil {
		t.Fatalf("Replace = %v", err)
	}
	return s
}

func TestViewLookup(t *testing.T) {
	ctx := context.Background()
	v, err := loadStore(t).Tenant(ctx, "acme.example")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		lookup   string
		wantKind EntryKind
		wantID   string // user id, or group id
		wantAOR  string
	}{
		{"user id", "john", EntryUser, "john", "john@acme.example"},
		{"user id any case", "JoHn", EntryUser, "john", "john@acme.example"},
		{"first extension", "7001", EntryUser, "john", "john@acme.example"},
		{"second extension", "7011", EntryUser, "john", "john@acme.example"},
		{"alias", "john-sales", EntryAlias, "john", "john-sales@acme.example"},
		{"alias any case", "John-Support", EntryAlias, "john", "john-support@acme.example"},
		{"group extension", "7100", EntryGroup, "sales", "7100@acme.example"},
		{"group id is not a SIP name", "sales", 0, "", ""},
		{"unknown", "7999", 0, "", ""},
		{"empty", "", 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := v.Lookup(tt.lookup)
			if ok != (tt.wantKind != 0) || e.Kind != tt.wantKind {
				t.Fatalf("Lookup(%q) = %v, %v; want kind %v", tt.lookup, e.Kind, ok, tt.wantKind)
			}
			if !ok {
				return
			}
			id := ""
			switch e.Kind {
			case EntryUser, EntryAlias:
				id = e.User.ID
			case EntryGroup:
				id = e.Group.ID
			}
			if id != tt.wantID {
				t.Errorf("Lookup(%q) names %q, want %q", tt.lookup, id, tt.wantID)
			}
			if got := e.AOR("ACME.example"); got != tt.wantAOR {
				t.Errorf("AOR = %q, want %q", got, tt.wantAOR)
			}
		})
	}
}

func TestViewAccessors(t *testing.T) {
	ctx := context.Background()
	v, err := loadStore(t).Tenant(ctx, "ACME.EXAMPLE")
	if err != nil {
		t.Fatalf("Tenant(ACME.EXAMPLE) = %v, want case-insensitive match", err)
	}
	t.Run("credential by id and extension", func(t *testing.T) {
		for _, name := range []string{"john", "7001", "7011"} {
			c, ok := v.Credential(name)
			if want := HA1("MD5", name, "acme.example", "s3cret"); !ok || c.HA1MD5 != want || c.Username != name {
				t.Errorf("Credential(%q) = %+v, %v; want HA1 %s", name, c, ok, want)
			}
		}
		if _, ok := v.Credential("john-sales"); ok {
			t.Errorf("Credential(alias) found, want aliases to authenticate as their owner")
		}
		if c, ok := v.Credential("jane"); !ok || c.HA1MD5 != "939e7578ed9e3c518a452acee763bce9" {
			t.Errorf("Credential(jane) = %+v, %v; want the ha1_md5 from the file", c, ok)
		}
	})
	t.Run("user group attendant", func(t *testing.T) {
		if u, ok := v.User("jane"); !ok || u.Name != "Jane Doe" {
			t.Errorf("User(jane) = %v, %v", u, ok)
		}
		if g, ok := v.Group("Sales"); !ok || g.Extension != "7100" {
			t.Errorf("Group(Sales) = %v, %v", g, ok)
		}
		if a, ok := v.Attendant("night"); !ok || a.Retries != 0 {
			t.Errorf("Attendant(night) = %v, %v", a, ok)
		}
		if _, ok := v.User("nobody"); ok {
			t.Errorf("User(nobody) found")
		}
	})
	t.Run("numbers", func(t *testing.T) {
		tests := []struct {
			number string
			want   Target
			ok     bool
		}{
			{"+14155550100", Target{TargetAttendant, "main"}, true},
			{"+14155550101", Target{TargetUser, "john"}, true},
			{"+14155550102", Target{TargetUser, "jim"}, true}, // direct number, not listed
			{"+442071234567", Target{}, false},                // beta's
		}
		for _, tt := range tests {
			got, ok := v.Number(tt.number)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Number(%s) = %v, %v; want %v, %v", tt.number, got, ok, tt.want, tt.ok)
			}
		}
	})
}

func TestStoreTenantByNumber(t *testing.T) {
	ctx := context.Background()
	s := loadStore(t)
	tests := []struct {
		number, wantDomain string
	}{
		{"+14155550100", "acme.example"},
		{"+14155550102", "acme.example"},
		{"+442071234567", "beta.example"},
		{"+19999999999", ""},
	}
	for _, tt := range tests {
		t.Run(tt.number, func(t *testing.T) {
			v, err := s.TenantByNumber(ctx, tt.number)
			if tt.wantDomain == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Errorf("TenantByNumber(%s) error = %v, want ErrNotFound", tt.number, err)
				}
				return
			}
			if err != nil || v.Tenant.Domain != tt.wantDomain {
				t.Errorf("TenantByNumber(%s) = %v, %v; want %s", tt.number, v, err, tt.wantDomain)
			}
		})
	}
	if _, err := s.Tenant(ctx, "nowhere.example"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Tenant(nowhere) error = %v, want ErrNotFound", err)
	}
	if _, err := NewMemoryStore().Tenant(ctx, "acme.example"); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty store Tenant error = %v, want ErrNotFound", err)
	}
}

func TestStoreReplaceRejectsInvalid(t *testing.T) {
	ctx := context.Background()
	s := loadStore(t)
	bad := &Directory{Tenants: []*Tenant{{Domain: "acme.example", Users: []*User{{ID: "x"}}}}}
	err := s.Replace(ctx, bad)
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 1 {
		t.Fatalf("Replace(invalid) error = %v, want one problem", err)
	}
	if _, err := s.Tenant(ctx, "beta.example"); err != nil {
		t.Errorf("after a rejected Replace, Tenant(beta) = %v; want the old directory kept", err)
	}
}

func TestStoreReplaceDoesNotModifyInput(t *testing.T) {
	d, err := Load("testdata/valid.yaml", LoadOptions{KeepPasswords: true})
	if err != nil {
		t.Fatal(err)
	}
	before := d.Clone()
	if err := NewMemoryStore().Replace(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, d); diff != "" {
		t.Errorf("Replace modified its argument (-before +after):\n%s", diff)
	}
}

func TestStoreExport(t *testing.T) {
	ctx := context.Background()
	s := loadStore(t)
	got, err := s.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	john := got.Tenants[0].Users[0]
	if john.Password != "" || john.HA1MD5 != HA1("MD5", "john", "acme.example", "s3cret") || john.HA1SHA256 != HA1("SHA-256", "john", "acme.example", "s3cret") {
		t.Errorf("exported john = password %q, ha1 %q / %q; want no plaintext and the id's HA1s", john.Password, john.HA1MD5, john.HA1SHA256)
	}
	john.Name = "changed"
	if v, _ := s.Tenant(ctx, "acme.example"); v.Tenant.Users[0].Name != "John Smith" {
		t.Errorf("changing the export changed the store")
	}
	// The export replaces cleanly and keeps extension credentials in process.
	if err := s.Replace(ctx, got); err != nil {
		t.Fatalf("Replace(export) = %v", err)
	}
	v, _ := s.Tenant(ctx, "acme.example")
	if _, ok := v.Credential("7011"); !ok {
		t.Errorf("Credential(7011) lost after Replace(Export())")
	}
}

// TestStoreReplaceConcurrent swaps between two directories while readers
// check that every view they get is internally consistent. Run with -race.
func TestStoreReplaceConcurrent(t *testing.T) {
	ctx := context.Background()
	dir := func(gen int) *Directory {
		id := fmt.Sprintf("user%d", gen)
		return &Directory{Tenants: []*Tenant{{
			Domain:  "acme.example",
			Users:   []*User{{ID: id, Extensions: []string{"7001"}, Password: id}},
			Numbers: map[string]string{"+14155550100": "user:" + id},
		}}}
	}
	s := NewMemoryStore()
	if err := s.Replace(ctx, dir(0)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				v, err := s.TenantByNumber(ctx, "+14155550100")
				if err != nil {
					t.Errorf("TenantByNumber = %v", err)
					return
				}
				e, ok := v.Lookup("7001")
				tg, _ := v.Number("+14155550100")
				c, _ := v.Credential("7001")
				if !ok || tg.ID != e.User.ID || c.HA1MD5 != HA1("MD5", "7001", "acme.example", e.User.ID) {
					t.Errorf("inconsistent view: 7001 is %v, number routes to %v", e.User.ID, tg)
					return
				}
			}
		})
	}
	for gen := 1; gen <= 200; gen++ {
		if err := s.Replace(ctx, dir(gen%2)); err != nil {
			t.Errorf("Replace(%d) = %v", gen, err)
		}
	}
	close(stop)
	wg.Wait()
}

func BenchmarkViewLookup(b *testing.B) {
	v, err := loadStore(b).Tenant(context.Background(), "acme.example")
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"7001", "john", "John-Sales"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := v.Lookup(name); !ok {
					b.Fatal("not found")
				}
			}
		})
	}
}

func BenchmarkTenant(b *testing.B) {
	s := loadStore(b)
	ctx := context.Background()
	for _, domain := range []string{"acme.example", "ACME.example"} {
		b.Run(domain, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Tenant(ctx, domain); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("by number", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.TenantByNumber(ctx, "+14155550101"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
