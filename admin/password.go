package admin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Admin passwords are hashed with argon2id (RFC 9106), memory-hard, at the
// OWASP minimum (19 MiB, 2 passes, 1 lane): a sign-in costs ~30 ms of one
// core, which the login rate limit bounds. Stored in the PHC string form
// "$argon2id$v=19$m=19456,t=2,p=1$SALT$HASH" so parameters can be raised
// later without breaking existing hashes.
const (
	kdfMemory  = 19 * 1024 // KiB
	kdfTime    = 2
	kdfThreads = 1
	kdfKeyLen  = 32
	kdfSaltLen = 16
)

var b64 = base64.RawStdEncoding

// hashPassword returns the PHC string of pw under a fresh salt.
func hashPassword(pw string) string {
	salt := make([]byte, kdfSaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, kdfTime, kdfMemory, kdfThreads, kdfKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, kdfMemory, kdfTime, kdfThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// dummyHash is checked against when the account does not exist, so that a
// sign-in for an unknown email costs as much as one for a known email.
var dummyHash = hashPassword("switchboard-no-such-account")

// checkPassword reports whether pw matches the PHC string, in constant time
// over the derived key.
func checkPassword(phc, pw string) (bool, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("password hash: not an argon2id PHC string")
	}
	var v int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, fmt.Errorf("password hash: version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 {
		return false, fmt.Errorf("password hash: parameters %q", parts[3])
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("password hash: salt: %w", err)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, fmt.Errorf("password hash: key: %v", err)
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
