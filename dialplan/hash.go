package dialplan

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"slices"
	"strings"
)

// Digest algorithms understood by HA1.
const (
	AlgorithmMD5    = "MD5"
	AlgorithmSHA256 = "SHA-256"
)

// HA1 returns the digest HA1 of RFC 7616 (and RFC 8760 for SHA-256):
// hex(H(username ":" realm ":" password)). algorithm is "MD5" or "SHA-256"
// (case-insensitive); any other algorithm returns "".
func HA1(algorithm, username, realm, password string) string {
	var h hash.Hash
	switch strings.ToUpper(algorithm) {
	case AlgorithmMD5:
		h = md5.New()
	case AlgorithmSHA256:
		h = sha256.New()
	default:
		return ""
	}
	h.Write([]byte(username + ":" + realm + ":" + password))
	return hex.EncodeToString(h.Sum(nil))
}

// HashPasswords computes every user's Credentials and forgets the plaintext.
// realmFor gives the digest realm of a tenant's domain; nil means the domain
// itself.
//
// A user with a Password gets one Credential per digest username — the id and
// each extension — with both HA1 values, then Password is cleared and
// HA1MD5/HA1SHA256 are set to the id's values (so that an export carries them).
//
// A user without a Password keeps the Credentials it already has for its
// current id and extensions (a directory exported and replaced in process
// keeps working). Failing that, ha1_md5/ha1_sha256 are taken as the HA1 for
// username = id in the tenant's realm: such a user authenticates with its id
// only, since an HA1 is bound to one username and extensions need their own.
func HashPasswords(d *Directory, realmFor func(domain string) string) {
	for _, t := range d.Tenants {
		if t == nil {
			continue
		}
		realm := t.Domain
		if realmFor != nil {
			realm = realmFor(t.Domain)
		}
		for _, u := range t.Users {
			if u != nil {
				hashUser(u, realm)
			}
		}
		hashPINs(t)
	}
}

func hashUser(u *User, realm string) {
	names := append([]string{u.ID}, u.Extensions...)
	switch {
	case u.Password != "":
		u.Credentials = u.Credentials[:0:0]
		for _, n := range names {
			u.Credentials = append(u.Credentials, Credential{
				Username:  n,
				Realm:     realm,
				HA1MD5:    HA1(AlgorithmMD5, n, realm, u.Password),
				HA1SHA256: HA1(AlgorithmSHA256, n, realm, u.Password),
			})
		}
		u.Password = ""
		u.HA1MD5, u.HA1SHA256 = u.Credentials[0].HA1MD5, u.Credentials[0].HA1SHA256
	case len(u.Credentials) > 0:
		u.Credentials = slices.DeleteFunc(slices.Clone(u.Credentials), func(c Credential) bool {
			return !slices.Contains(names, c.Username)
		})
	case u.HA1MD5 != "" || u.HA1SHA256 != "":
		u.Credentials = []Credential{{Username: u.ID, Realm: realm, HA1MD5: u.HA1MD5, HA1SHA256: u.HA1SHA256}}
	}
}
