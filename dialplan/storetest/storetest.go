// Package storetest is the conformance suite every directory store runs:
// the same table of Store and Writer behaviours against the memory store and
// the Redis store, so that switching store.redis on changes where the
// directory lives and nothing else.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard/switchboard/dialplan"
)

// Store is what the suite exercises.
type Store interface {
	dialplan.Store
	dialplan.Writer
}

// Fixture is the directory the suite starts from: two tenants, numbers of
// every kind (main, listed, direct), extensions, aliases, a group and an
// attendant.
const Fixture = `tenants:
  - domain: Acme.Example
    name: Acme Inc
    main_number: "+14155550100"
    users:
      - id: john
        extensions: ["7001", "7011"]
        password: s3cret
        direct_number: "+14155550101"
        aliases: ["john-support"]
      - id: jane
        extensions: ["7002"]
        password: janepw
    groups:
      - id: sales
        extension: "7100"
        members: ["john", "jane"]
    attendants:
      - id: main
        options: {"1": "group:sales"}
    numbers:
      "+14155550100": "attendant:main"
  - domain: beta.example
    name: Beta LLC
    users:
      - id: bob
        extensions: ["7001"]
        password: bobpw
    numbers:
      "+442071234567": "user:bob"
`

// FixtureDirectory parses Fixture with its plaintext passwords.
func FixtureDirectory(t testing.TB) *dialplan.Directory {
	t.Helper()
	d, err := dialplan.Parse([]byte(Fixture), "fixture.yaml", dialplan.LoadOptions{KeepPasswords: true})
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return d
}

// Run runs every case, each on a new empty store from open.
func Run(t *testing.T, open func(t *testing.T) Store) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			tc.run(t, context.Background(), s)
		})
	}
}

var cases = []struct {
	name string
	run  func(t *testing.T, ctx context.Context, s Store)
}{
	{"inventory statuses survive writes", func(t *testing.T, ctx context.Context, s Store) {
		replace(t, ctx, s, FixtureDirectory(t))
		err := s.UpdateTenant(ctx, "acme.example", func(tn *dialplan.Tenant) error {
			tn.SetNumber("+14155550107", dialplan.NumberAvailable, "", "")
			tn.SetNumber("+14155550108", dialplan.NumberReserved, "", "new hire")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.Export(ctx)
		if err != nil {
			t.Fatal(err)
		}
		acme := d.Tenants[0]
		if acme.Numbers["+14155550107"] != "" || acme.Reserved["+14155550108"] != "new hire" {
			t.Errorf("after write: numbers %v, reserved %v", acme.Numbers, acme.Reserved)
		}
		for _, n := range []string{"+14155550107", "+14155550108"} {
			if got := byNumber(t, ctx, s, n); got != "acme.example" {
				t.Errorf("TenantByNumber(%s) = %s, want acme (owned, routed nowhere)", n, got)
			}
		}
		if err := s.UpdateTenant(ctx, "beta.example", func(tn *dialplan.Tenant) error {
			tn.SetNumber("+14155550107", dialplan.NumberAvailable, "", "")
			return nil
		}); err == nil {
			t.Error("another tenant took acme's available number")
		}
	}},
	{"empty store finds nothing", func(t *testing.T, ctx context.Context, s Store) {
		if _, err := s.Tenant(ctx, "acme.example"); !errors.Is(err, dialplan.ErrNotFound) {
			t.Errorf("Tenant on empty store: error %v, want ErrNotFound", err)
		}
		if _, err := s.TenantByNumber(ctx, "+14155550100"); !errors.Is(err, dialplan.ErrNotFound) {
			t.Errorf("TenantByNumber on empty store: error %v, want ErrNotFound", err)
		}
		d, err := s.Export(ctx)
		if err != nil || len(d.Tenants) != 0 {
			t.Errorf("Export on empty store = %v, %v; want no tenants", d, err)
		}
	}},
	{"replace then look up", func(t *testing.T, ctx context.Context, s Store) {
		replace(t, ctx, s, FixtureDirectory(t))
		for _, domain := range []string{"acme.example", "ACME.example"} {
			v := tenant(t, ctx, s, domain)
			if v.Tenant.Domain != "acme.example" {
				t.Errorf("Tenant(%q).Domain = %q, want acme.example", domain, v.Tenant.Domain)
			}
		}
		v := tenant(t, ctx, s, "acme.example")
		if e, ok := v.Lookup("7011"); !ok || e.User.ID != "john" {
			t.Errorf("Lookup(7011) = %v, %v; want john", e, ok)
		}
		if e, ok := v.Lookup("john-support"); !ok || e.Kind != dialplan.EntryAlias {
			t.Errorf("Lookup(john-support) = %v, %v; want the alias", e, ok)
		}
		if c, ok := v.Credential("7001"); !ok || c.HA1MD5 != dialplan.HA1("MD5", "7001", "acme.example", "s3cret") {
			t.Errorf("Credential(7001) = %+v, %v; want the HA1 of s3cret", c, ok)
		}
		for number, want := range map[string]string{
			"+14155550100":  "acme.example", // main
			"+14155550101":  "acme.example", // direct
			"+442071234567": "beta.example", // listed
		} {
			if got := byNumber(t, ctx, s, number); got != want {
				t.Errorf("TenantByNumber(%s) = %s, want %s", number, got, want)
			}
		}
		if _, err := s.TenantByNumber(ctx, "+19999999999"); !errors.Is(err, dialplan.ErrNotFound) {
			t.Errorf("TenantByNumber(unknown): error %v, want ErrNotFound", err)
		}
		if _, err := s.Tenant(ctx, "nope.example"); !errors.Is(err, dialplan.ErrNotFound) {
			t.Errorf("Tenant(unknown): error %v, want ErrNotFound", err)
		}
	}},
	{"replace does not modify its argument", func(t *testing.T, ctx context.Context, s Store) {
		d := FixtureDirectory(t)
		replace(t, ctx, s, d)
		if d.Tenants[0].Users[0].Password != "s3cret" || len(d.Tenants[0].Users[0].Credentials) != 0 {
			t.Errorf("Replace modified its argument: %+v", d.Tenants[0])
		}
	}},
	{"invalid replace changes nothing", func(t *testing.T, ctx context.Context, s Store) {
		replace(t, ctx, s, FixtureDirectory(t))
		bad := FixtureDirectory(t)
		bad.Tenants[1].Numbers["+14155550100"] = "user:bob" // acme's main number
		err := s.Replace(ctx, bad)
		var ps dialplan.Problems
		if !errors.As(err, &ps) {
			t.Fatalf("Replace(number owned twice) = %v, want Problems", err)
		}
		if got := byNumber(t, ctx, s, "+14155550100"); got != "acme.example" {
			t.Errorf("after a refused Replace, +14155550100 is %s's, want acme.example's", got)
		}
	}},
	{"replace drops tenants and numbers", func(t *testing.T, ctx context.Context, s Store) {
		replace(t, ctx, s, FixtureDirectory(t))
		d := FixtureDirectory(t)
		d.Tenants = d.Tenants[1:]
		replace(t, ctx, s, d)
		if _, err := s.Tenant(ctx, "acme.example"); !errors.Is(err, dialplan.ErrNotFound) {
			t.Errorf("Tenant(dropped): error %v, want ErrNotFound", err)
		}
		if _, err := s.TenantByNumber(ctx, "+14155550101"); !errors.Is(err, dialplan.ErrNotFound) {
			t.Errorf("TenantByNumber(dropped tenant's number): error %v, want ErrNotFound", err)
		}
	}},
	{"export has hashes, no passwords, and round-trips", func(t *testing.T, ctx context.Context, s Store) {
		replace(t, ctx, s, FixtureDirectory(t))
		d, err := s.Export(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := domains(d); fmt.Sprint(got) != "[acme.example beta.example]" {
			t.Fatalf("Export tenants = %v", got)
		}
		for _, tn := range d.Tenants {
			for _, u := range tn.Users {
				if u.Password != "" || u.HA1MD5 == "" || len(u.Credentials) == 0 {
					t.Errorf("exported user %s: password %q, ha1_md5 %q, %d credentials; want no password and hashes",
						u.ID, u.Password, u.HA1MD5, len(u.Credentials))
				}
			}
		}
		replace(t, ctx, s, d)
		v := tenant(t, ctx, s, "acme.example")
		if c, ok := v.Credential("7011"); !ok || c.HA1MD5 != dialplan.HA1("MD5", "7011", "acme.example", "s3cret") {
			t.Errorf("after Export and Replace, Credential(7011) = %+v, %v; want it kept", c, ok)
		}
	}},
	{"create tenant", func(t *testing.T, ctx context.Context, s Store) {
		replace(t, ctx, s, FixtureDirectory(t))
		nt := &dialplan.Tenant{Domain: "Gamma.Example", Name: "Gamma", MainNumber: "+13125550100",
			Users:   []*dialplan.User{{ID: "gus", Extensions: []string{"7001"}, Password: "guspw"}},
			Numbers: map[string]string{"+13125550100": "user:gus"}}
		if err := s.CreateTenant(ctx, nt); err != nil {
			t.Fatalf("CreateTenant: %v", err)
		}
		if nt.Users[0].Password != "guspw" {
			t.Error("CreateTenant modified its argument")
		}
		v := tenant(t, ctx, s, "gamma.example")
		if c, ok := v.Credential("7001"); !ok || c.HA1MD5 != dialplan.HA1("MD5", "7001", "gamma.example", "guspw") {
			t.Errorf("new tenant's Credential(7001) = %+v, %v", c, ok)
		}
		if got := byNumber(t, ctx, s, "+13125550100"); got != "gamma.example" {
			t.Errorf("TenantByNumber(new main) = %s", got)
		}
		if err := s.CreateTenant(ctx, &dialplan.Tenant{Domain: "acme.example", Name: "again"}); !errors.Is(err, dialplan.ErrExists) {
			t.Errorf("CreateTenant(existing) = %v, want ErrExists", err)
		}
		err := s.CreateTenant(ctx, &dialplan.Tenant{Domain: "delta.example", Name: "Delta", MainNumber: "+14155550101"})
		if p := conflict(err); p == nil || !strings.Contains(p.Reason, "acme.example") {
			t.Errorf("CreateTenant(another tenant's number) = %v, want a conflict naming acme.example", err)
		}
		if err := s.CreateTenant(ctx, &dialplan.Tenant{Domain: "bad domain"}); !isProblems(err) {
			t.Errorf("CreateTenant(invalid) = %v, want Problems", err)
		}
		if _, err := s.Tenant(ctx, "delta.example"); !errors.Is(err, dialplan.ErrNotFound) {
			t.Errorf("refused tenant exists: %v", err)
		}
	}},
	{"update tenant", func(t *testing.T, ctx context.Context, s Store) {
		replace(t, ctx, s, FixtureDirectory(t))
		tenant(t, ctx, s, "acme.example") // warm any cache
		err := s.UpdateTenant(ctx, "ACME.example", func(tn *dialplan.Tenant) error {
			tn.Users = append(tn.Users, &dialplan.User{ID: "jim", Extensions: []string{"7003"}, Password: "jimpw"})
			return nil
		})
		if err != nil {
			t.Fatalf("UpdateTenant: %v", err)
		}
		v := tenant(t, ctx, s, "acme.example")
		if _, ok := v.Lookup("7003"); !ok {
			t.Error("the added user is not seen by the next lookup")
		}
		if c, ok := v.Credential("7011"); !ok || c.HA1MD5 != dialplan.HA1("MD5", "7011", "acme.example", "s3cret") {
			t.Errorf("an update lost john's Credential(7011): %+v, %v", c, ok)
		}
		boom := errors.New("boom")
		if err := s.UpdateTenant(ctx, "acme.example", func(tn *dialplan.Tenant) error {
			tn.Users = nil
			return boom
		}); !errors.Is(err, boom) {
			t.Errorf("UpdateTenant(fn fails) = %v, want fn's error", err)
		}
		if _, ok := tenant(t, ctx, s, "acme.example").Lookup("7003"); !ok {
			t.Error("a failed update changed the tenant")
		}
		if err := s.UpdateTenant(ctx, "nope.example", func(*dialplan.Tenant) error { return nil }); !errors.Is(err, dialplan.ErrNotFound) {
			t.Errorf("UpdateTenant(unknown) = %v, want ErrNotFound", err)
		}
		if err := s.UpdateTenant(ctx, "acme.example", func(tn *dialplan.Tenant) error {
			tn.Domain = "other.example"
			return nil
		}); !isProblems(err) {
			t.Errorf("UpdateTenant(change domain) = %v, want Problems", err)
		}
		if err := s.UpdateTenant(ctx, "acme.example", func(tn *dialplan.Tenant) error {
			tn.Users[0].Extensions = append(tn.Users[0].Extensions, "7002") // jane's
			return nil
		}); conflict(err) == nil {
			t.Errorf("UpdateTenant(duplicate extension) = %v, want a conflict", err)
		}
	}},
	{"numbers move between tenants", func(t *testing.T, ctx context.Context, s Store) {
		replace(t, ctx, s, FixtureDirectory(t))
		const n = "+14155550101" // john's direct number
		if got := byNumber(t, ctx, s, n); got != "acme.example" {
			t.Fatalf("TenantByNumber = %s", got)
		}
		err := s.UpdateTenant(ctx, "beta.example", func(tn *dialplan.Tenant) error {
			tn.Numbers[n] = "user:bob"
			return nil
		})
		if p := conflict(err); p == nil {
			t.Fatalf("taking another tenant's number = %v, want a conflict", err)
		}
		if err := s.UpdateTenant(ctx, "acme.example", func(tn *dialplan.Tenant) error {
			tn.Users[0].DirectNumber = ""
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TenantByNumber(ctx, n); !errors.Is(err, dialplan.ErrNotFound) {
			t.Errorf("TenantByNumber(released) error %v, want ErrNotFound", err)
		}
		if err := s.UpdateTenant(ctx, "beta.example", func(tn *dialplan.Tenant) error {
			tn.Numbers[n] = "user:bob"
			return nil
		}); err != nil {
			t.Fatalf("taking a released number: %v", err)
		}
		if got := byNumber(t, ctx, s, n); got != "beta.example" {
			t.Errorf("TenantByNumber(moved) = %s, want beta.example", got)
		}
	}},
	{"delete tenant", func(t *testing.T, ctx context.Context, s Store) {
		replace(t, ctx, s, FixtureDirectory(t))
		if _, err := s.DeleteTenant(ctx, "acme.example", false); !errors.Is(err, dialplan.ErrNotEmpty) {
			t.Errorf("DeleteTenant(not empty) = %v, want ErrNotEmpty", err)
		}
		gone, err := s.DeleteTenant(ctx, "acme.example", true)
		if err != nil || gone == nil || gone.Domain != "acme.example" || len(gone.Users) != 2 {
			t.Fatalf("DeleteTenant(force) = %+v, %v; want the tenant", gone, err)
		}
		if _, err := s.Tenant(ctx, "acme.example"); !errors.Is(err, dialplan.ErrNotFound) {
			t.Errorf("Tenant(deleted) error %v, want ErrNotFound", err)
		}
		if _, err := s.TenantByNumber(ctx, "+14155550100"); !errors.Is(err, dialplan.ErrNotFound) {
			t.Errorf("TenantByNumber(deleted tenant's) error %v, want ErrNotFound", err)
		}
		if _, err := s.DeleteTenant(ctx, "acme.example", true); !errors.Is(err, dialplan.ErrNotFound) {
			t.Errorf("DeleteTenant(again) = %v, want ErrNotFound", err)
		}
		if err := s.CreateTenant(ctx, &dialplan.Tenant{Domain: "new.example", Name: "New", MainNumber: "+14155550100"}); err != nil {
			t.Errorf("a deleted tenant's number is not free: %v", err)
		}
		if err := s.CreateTenant(ctx, &dialplan.Tenant{Domain: "empty.example", Name: "Empty"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteTenant(ctx, "empty.example", false); err != nil {
			t.Errorf("DeleteTenant(empty) = %v", err)
		}
	}},
	{"concurrent updates all land", func(t *testing.T, ctx context.Context, s Store) {
		replace(t, ctx, s, FixtureDirectory(t))
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.UpdateTenant(ctx, "beta.example", func(tn *dialplan.Tenant) error {
					tn.Users = append(tn.Users, &dialplan.User{ID: fmt.Sprintf("u%d", i), Extensions: []string{fmt.Sprintf("72%02d", i)}, Password: "pw"})
					return nil
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("UpdateTenant: %v", err)
			}
		}
		v := tenant(t, ctx, s, "beta.example")
		if got := len(v.Tenant.Users); got != 9 {
			t.Errorf("after 8 concurrent updates beta has %d users, want 9", got)
		}
	}},
}

func replace(t *testing.T, ctx context.Context, s Store, d *dialplan.Directory) {
	t.Helper()
	if err := s.Replace(ctx, d); err != nil {
		t.Fatalf("Replace: %v", err)
	}
}

func tenant(t *testing.T, ctx context.Context, s Store, domain string) *dialplan.View {
	t.Helper()
	v, err := s.Tenant(ctx, domain)
	if err != nil {
		t.Fatalf("Tenant(%q): %v", domain, err)
	}
	return v
}

func byNumber(t *testing.T, ctx context.Context, s Store, n string) string {
	t.Helper()
	v, err := s.TenantByNumber(ctx, n)
	if err != nil {
		t.Fatalf("TenantByNumber(%s): %v", n, err)
	}
	return v.Tenant.Domain
}

func domains(d *dialplan.Directory) []string {
	var out []string
	for _, t := range d.Tenants {
		out = append(out, t.Domain)
	}
	slices.Sort(out)
	return out
}

func isProblems(err error) bool {
	var ps dialplan.Problems
	return errors.As(err, &ps)
}

// conflict returns the first Problem of err marked Conflict, or nil.
func conflict(err error) *dialplan.Problem {
	var ps dialplan.Problems
	if !errors.As(err, &ps) {
		return nil
	}
	for i := range ps {
		if ps[i].Conflict {
			return &ps[i]
		}
	}
	return nil
}
