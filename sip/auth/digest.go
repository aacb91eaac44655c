package auth

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// computeResponse returns the lowercase hex request-digest (RFC 7616 §3.4.1):
//
//	HA2      = H(method ":" uri)
//	qop=auth:  H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)
//	no qop:    H(HA1 ":" nonce ":" HA2)
//
// The result aliases sc and is valid until sc is reused. HA1 is lowercased
// first because the hex text, not the bytes, is hashed and directories may
// hold uppercase hex.
func computeResponse(sc *scratch, alg Algorithm, ha1, method, uri, nonce, nc, cnonce, qop string) []byte {
	b := append(sc.buf[:0], method...)
	b = append(b, ':')
	b = append(b, uri...)
	ha2 := hashHex(sc.ha2[:0], alg, b)

	b = appendLower(b[:0], ha1)
	b = append(b, ':')
	b = append(b, nonce...)
	b = append(b, ':')
	if qop != "" {
		b = append(b, nc...)
		b = append(b, ':')
		b = append(b, cnonce...)
		b = append(b, ':')
		b = append(b, qop...)
		b = append(b, ':')
	}
	b = append(b, ha2...)
	out := hashHex(sc.want[:0], alg, b)
	if cap(b) <= maxScratch { // keep the grown buffer, unless a huge header grew it
		sc.buf = b[:0]
	}
	return out
}

// maxScratch bounds the buffer a pooled scratch keeps between calls.
const maxScratch = 4 << 10

// response is computeResponse for tests and callers outside the hot path.
func response(alg Algorithm, ha1, method, uri, nonce, nc, cnonce, qop string) string {
	return string(computeResponse(&scratch{}, alg, ha1, method, uri, nonce, nc, cnonce, qop))
}

// hashHex appends the lowercase hex digest of data under alg to dst.
func hashHex(dst []byte, alg Algorithm, data []byte) []byte {
	if alg == SHA256 {
		s := sha256.Sum256(data)
		return hex.AppendEncode(dst, s[:])
	}
	s := md5.Sum(data)
	return hex.AppendEncode(dst, s[:])
}

// hexLen is the length of a hex digest under alg.
func hexLen(alg Algorithm) int {
	if alg == SHA256 {
		return 2 * sha256.Size
	}
	return 2 * md5.Size
}

func hexString(b []byte) string { return hex.EncodeToString(b) }

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if _, ok := unhex(s[i]); !ok {
			return false
		}
	}
	return true
}

// appendLower appends s with ASCII letters lowercased.
func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// writeQuoted writes s as a quoted-string, escaping '"' and '\'.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}
