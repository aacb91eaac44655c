package dialplan

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHA1(t *testing.T) {
	sum := sha256.Sum256([]byte("Mufasa:testrealm@host.com:Circle Of Life"))
	tests := []struct {
		name, algorithm, want string
	}{
		{"MD5 RFC 2617 vector", "MD5", "939e7578ed9e3c518a452acee763bce9"},
		{"md5 lowercase", "md5", "939e7578ed9e3c518a452acee763bce9"},
		{"SHA-256", "SHA-256", hex.EncodeToString(sum[:])},
		{"unknown algorithm", "SHA-512-256", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HA1(tt.algorithm, "Mufasa", "testrealm@host.com", "Circle Of Life"); got != tt.want {
				t.Errorf("HA1(%s) = %q, want %q", tt.algorithm, got, tt.want)
			}
		})
	}
}

func TestHashPasswords(t *testing.T) {
	d := &Directory{Tenants: []*Tenant{{
		Domain: "acme.example",
		Users: []*User{
			{ID: "alice", Extensions: []string{"7001", "7011"}, Password: "pw"},
			{ID: "jane", HA1MD5: "939e7578ed9e3c518a452acee763bce9", Extensions: []string{"7002"}},
		},
	}}}
	cred := func(user, realm, pw string) Credential {
		return Credential{user, realm, HA1("MD5", user, realm, pw), HA1("SHA-256", user, realm, pw)}
	}

	t.Run("domain realm", func(t *testing.T) {
		d := d.Clone()
		HashPasswords(d, nil)
		alice := d.Tenants[0].Users[0]
		want := []Credential{cred("alice", "acme.example", "pw"), cred("7001", "acme.example", "pw"), cred("7011", "acme.example", "pw")}
		if diff := cmp.Diff(want, alice.Credentials); diff != "" {
			t.Errorf("alice's credentials (-want +got):\n%s", diff)
		}
		if alice.Password != "" {
			t.Errorf("Password = %q after hashing, want it cleared", alice.Password)
		}
		if alice.HA1MD5 != want[0].HA1MD5 || alice.HA1SHA256 != want[0].HA1SHA256 {
			t.Errorf("ha1 fields = %q, %q, want the id's HA1s", alice.HA1MD5, alice.HA1SHA256)
		}
		jane := []Credential{{Username: "jane", Realm: "acme.example", HA1MD5: "939e7578ed9e3c518a452acee763bce9"}}
		if diff := cmp.Diff(jane, d.Tenants[0].Users[1].Credentials); diff != "" {
			t.Errorf("jane's credentials from ha1_md5 (-want +got):\n%s", diff)
		}
	})

	t.Run("fixed realm", func(t *testing.T) {
		d := d.Clone()
		HashPasswords(d, func(string) string { return "switchboard" })
		if got, want := d.Tenants[0].Users[0].Credentials[1], cred("7001", "switchboard", "pw"); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})

	t.Run("rehash keeps credentials of current names", func(t *testing.T) {
		d := d.Clone()
		HashPasswords(d, nil)
		alice := d.Tenants[0].Users[0]
		alice.Extensions = []string{"7001"} // 7011 removed
		HashPasswords(d, nil)
		want := []Credential{cred("alice", "acme.example", "pw"), cred("7001", "acme.example", "pw")}
		if diff := cmp.Diff(want, alice.Credentials); diff != "" {
			t.Errorf("credentials after rehash (-want +got):\n%s", diff)
		}
	})

	t.Run("load hashes unless asked not to", func(t *testing.T) {
		d, err := Load("testdata/valid.yaml", LoadOptions{Realm: "pbx"})
		if err != nil {
			t.Fatal(err)
		}
		john := d.Tenants[0].Users[0]
		if john.Password != "" || len(john.Credentials) != 3 || john.Credentials[1] != cred("7001", "pbx", "s3cret") {
			t.Errorf("john after Load = password %q, credentials %+v; want cleared and 3 in realm pbx", john.Password, john.Credentials)
		}
		d, err = Load("testdata/valid.yaml", LoadOptions{KeepPasswords: true})
		if err != nil {
			t.Fatal(err)
		}
		if john := d.Tenants[0].Users[0]; john.Password != "s3cret" || john.Credentials != nil {
			t.Errorf("john with KeepPasswords = %q, %v; want the plaintext and no credentials", john.Password, john.Credentials)
		}
	})
}
