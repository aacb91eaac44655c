package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard/switchboard/dialplan"
)

// RunAccounts runs the account-store cases, each on a new empty store from
// open: the memory and Redis account stores must behave the same.
func RunAccounts(t *testing.T, open func(t *testing.T) dialplan.Accounts) {
	for _, tc := range accountCases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, context.Background(), open(t))
		})
	}
}

var accountCases = []struct {
	name string
	run  func(t *testing.T, ctx context.Context, s dialplan.Accounts)
}{
	{"admins are created once, listed per tenant, deleted", func(t *testing.T, ctx context.Context, s dialplan.Accounts) {
		now := time.Unix(1700000000, 0).UTC()
		for _, a := range []dialplan.Admin{
			{Email: "Zed@acme.example", Tenant: "acme.example", PasswordHash: "h1", Created: now},
			{Email: "amy@acme.example", Tenant: "acme.example", PasswordHash: "h2", Created: now},
			{Email: "bo@beta.example", Tenant: "beta.example", PasswordHash: "h3", Created: now},
		} {
			if err := s.CreateAdmin(ctx, a); err != nil {
				t.Fatalf("CreateAdmin(%s): %v", a.Email, err)
			}
		}
		if err := s.CreateAdmin(ctx, dialplan.Admin{Email: "zed@ACME.example", Tenant: "beta.example"}); !errors.Is(err, dialplan.ErrExists) {
			t.Errorf("CreateAdmin(same email, other case): %v, want ErrExists", err)
		}
		got, err := s.Admin(ctx, "ZED@acme.example")
		if err != nil || got.PasswordHash != "h1" || got.Tenant != "acme.example" || !got.Created.Equal(now) {
			t.Errorf("Admin(ZED@…) = %+v, %v; want the first one", got, err)
		}
		list, err := s.Admins(ctx, "acme.example")
		if err != nil || len(list) != 2 || list[0].Email != "amy@acme.example" || list[1].Email != "Zed@acme.example" {
			t.Errorf("Admins(acme) = %+v, %v; want amy then Zed", list, err)
		}
		if list, _ := s.Admins(ctx, "nobody.example"); len(list) != 0 {
			t.Errorf("Admins(unknown tenant) = %+v, want none", list)
		}
		if err := s.DeleteAdmin(ctx, "zed@acme.example"); err != nil {
			t.Fatalf("DeleteAdmin: %v", err)
		}
		if _, err := s.Admin(ctx, "zed@acme.example"); !errors.Is(err, dialplan.ErrNotFound) {
			t.Errorf("Admin after delete: %v, want ErrNotFound", err)
		}
		if err := s.DeleteAdmin(ctx, "zed@acme.example"); !errors.Is(err, dialplan.ErrNotFound) {
			t.Errorf("DeleteAdmin twice: %v, want ErrNotFound", err)
		}
		if list, _ := s.Admins(ctx, "acme.example"); len(list) != 1 {
			t.Errorf("Admins(acme) after delete = %+v, want amy only", list)
		}
	}},
	{"tokens are found by hash, listed per tenant and revoked", func(t *testing.T, ctx context.Context, s dialplan.Accounts) {
		t0 := time.Unix(1700000000, 0).UTC()
		for i, tk := range []dialplan.Token{
			{ID: "t1", Name: "ci", Tenant: "acme.example", Hash: "aa", Created: t0},
			{ID: "t2", Name: "cli", Tenant: "acme.example", Hash: "bb", Created: t0.Add(time.Second)},
			{ID: "t3", Tenant: "beta.example", Hash: "cc", Created: t0},
		} {
			if err := s.CreateToken(ctx, tk); err != nil {
				t.Fatalf("CreateToken #%d: %v", i, err)
			}
		}
		if err := s.CreateToken(ctx, dialplan.Token{ID: "t9", Tenant: "x", Hash: "aa"}); !errors.Is(err, dialplan.ErrExists) {
			t.Errorf("CreateToken(same hash): %v, want ErrExists", err)
		}
		if got, err := s.TokenByHash(ctx, "bb"); err != nil || got.ID != "t2" || got.Tenant != "acme.example" {
			t.Errorf("TokenByHash(bb) = %+v, %v; want t2 of acme", got, err)
		}
		list, err := s.Tokens(ctx, "acme.example")
		if err != nil || len(list) != 2 || list[0].ID != "t1" || list[1].ID != "t2" {
			t.Errorf("Tokens(acme) = %+v, %v; want t1, t2", list, err)
		}
		if err := s.DeleteToken(ctx, "beta.example", "t1"); !errors.Is(err, dialplan.ErrNotFound) {
			t.Errorf("DeleteToken(another tenant's id): %v, want ErrNotFound", err)
		}
		if err := s.DeleteToken(ctx, "acme.example", "t1"); err != nil {
			t.Fatalf("DeleteToken: %v", err)
		}
		if _, err := s.TokenByHash(ctx, "aa"); !errors.Is(err, dialplan.ErrNotFound) {
			t.Errorf("TokenByHash after revoke: %v, want ErrNotFound", err)
		}
		if list, _ := s.Tokens(ctx, "acme.example"); len(list) != 1 || list[0].ID != "t2" {
			t.Errorf("Tokens(acme) after revoke = %+v, want t2", list)
		}
	}},
	{"sessions expire and end with their admin", func(t *testing.T, ctx context.Context, s dialplan.Accounts) {
		if err := s.CreateAdmin(ctx, dialplan.Admin{Email: "amy@acme.example", Tenant: "acme.example"}); err != nil {
			t.Fatal(err)
		}
		live := time.Now().Add(time.Hour)
		for _, ss := range []dialplan.Session{
			{Hash: "s1", Email: "amy@acme.example", Tenant: "acme.example", CSRF: "c1", Expires: live},
			{Hash: "s2", Email: "amy@acme.example", Tenant: "acme.example", CSRF: "c2", Expires: live},
			{Hash: "s3", Tenant: "", Who: "provider token", CSRF: "c3", Expires: live},
			{Hash: "short", Tenant: "acme.example", CSRF: "c4", Expires: time.Now().Add(1500 * time.Millisecond)},
		} {
			if err := s.CreateSession(ctx, ss); err != nil {
				t.Fatalf("CreateSession(%s): %v", ss.Hash, err)
			}
		}
		if got, err := s.Session(ctx, "s1"); err != nil || got.CSRF != "c1" || got.Email != "amy@acme.example" {
			t.Errorf("Session(s1) = %+v, %v", got, err)
		}
		if err := s.DeleteSession(ctx, "s1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, "s1"); !errors.Is(err, dialplan.ErrNotFound) {
			t.Errorf("Session after sign-out: %v, want ErrNotFound", err)
		}
		if err := s.DeleteAdmin(ctx, "amy@acme.example"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, "s2"); !errors.Is(err, dialplan.ErrNotFound) {
			t.Errorf("Session of a deleted admin: %v, want ErrNotFound", err)
		}
		if _, err := s.Session(ctx, "s3"); err != nil {
			t.Errorf("Session(s3) of no admin: %v, want it kept", err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := s.Session(ctx, "short")
			if errors.Is(err, dialplan.ErrNotFound) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Session(short) still there after its expiry: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}},
	{"the pool holds each number once", func(t *testing.T, ctx context.Context, s dialplan.Accounts) {
		for _, n := range []string{"+15550000002", "+15550000001"} {
			if err := s.PoolAdd(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.PoolAdd(ctx, "+15550000001"); !errors.Is(err, dialplan.ErrExists) {
			t.Errorf("PoolAdd twice: %v, want ErrExists", err)
		}
		if got, err := s.Pool(ctx); err != nil || len(got) != 2 || got[0] != "+15550000001" {
			t.Errorf("Pool() = %v, %v; want both, sorted", got, err)
		}
		if err := s.PoolRemove(ctx, "+15550000001"); err != nil {
			t.Fatal(err)
		}
		if err := s.PoolRemove(ctx, "+15550000001"); !errors.Is(err, dialplan.ErrNotFound) {
			t.Errorf("PoolRemove twice: %v, want ErrNotFound", err)
		}
		if got, _ := s.Pool(ctx); len(got) != 1 || got[0] != "+15550000002" {
			t.Errorf("Pool() after remove = %v", got)
		}
	}},
}
