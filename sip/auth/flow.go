package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Flow names a registered flow one instance holds (a phone's TCP/TLS/WS
// connection), for a call another instance relays through it (RFC 3327-like).
// A flow token is base64url(payload) "." base64url(tag): payload is the
// fields joined by newlines (the expiry as Unix seconds) and tag is
// HMAC-SHA256 over it, keyed with a key derived from the shared secret so a
// flow token and a digest nonce can never be mistaken for each other.
type Flow struct {
	AOR       string    // "bob@acme.example"
	Source    string    // the binding's source address, "ip:port"
	Transport string    // tcp, tls, ws, wss (lower case)
	CallID    string    // the relayed INVITE's Call-ID: a token rings one call only
	Expires   time.Time // the token is refused from then on
}

var (
	// ErrFlowToken is a flow token that is malformed or not signed with the secret.
	ErrFlowToken = errors.New("auth: invalid flow token")
	// ErrFlowExpired is a correctly signed flow token past its expiry.
	ErrFlowExpired = errors.New("auth: flow token expired")
)

// maxFlowToken bounds the token length verified (an AOR, an address, a
// Call-ID and a tag fit well within it).
const maxFlowToken = 2048

func flowKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("switchboard flow token v1"))
	return m.Sum(nil)
}

func flowPayload(f Flow) string {
	return strings.Join([]string{f.AOR, f.Source, f.Transport, f.CallID, strconv.FormatInt(f.Expires.Unix(), 10)}, "\n")
}

// SignFlow returns the flow token for f signed with secret.
func SignFlow(secret []byte, f Flow) string {
	payload := flowPayload(f)
	m := hmac.New(sha256.New, flowKey(secret))
	m.Write([]byte(payload))
	return nonceEncoding.EncodeToString([]byte(payload)) + "." + nonceEncoding.EncodeToString(m.Sum(nil))
}

// VerifyFlow checks a flow token's signature and expiry at now and returns
// what it names. A secret shorter than MinSecretLen verifies nothing.
func VerifyFlow(secret []byte, token string, now time.Time) (Flow, error) {
	if len(secret) < MinSecretLen || len(token) > maxFlowToken {
		return Flow{}, ErrFlowToken
	}
	p64, t64, ok := strings.Cut(token, ".")
	if !ok {
		return Flow{}, ErrFlowToken
	}
	payload, err1 := nonceEncoding.DecodeString(p64)
	tag, err2 := nonceEncoding.DecodeString(t64)
	if err1 != nil || err2 != nil {
		return Flow{}, ErrFlowToken
	}
	m := hmac.New(sha256.New, flowKey(secret))
	m.Write(payload)
	if !hmac.Equal(tag, m.Sum(nil)) {
		return Flow{}, ErrFlowToken
	}
	parts := strings.Split(string(payload), "\n")
	if len(parts) != 5 {
		return Flow{}, ErrFlowToken
	}
	exp, err := strconv.ParseInt(parts[4], 10, 64)
	if err != nil {
		return Flow{}, ErrFlowToken
	}
	f := Flow{AOR: parts[0], Source: parts[1], Transport: parts[2], CallID: parts[3], Expires: time.Unix(exp, 0)}
	if !now.Before(f.Expires) {
		return f, ErrFlowExpired
	}
	return f, nil
}
