package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFlowToken(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_700_000_000, 0)
	f := Flow{AOR: "bob@acme.example", Source: "192.0.2.7:40123", Transport: "tcp", CallID: "abc@host", Expires: now.Add(time.Minute)}
	tok := SignFlow(secret, f)
	if strings.ContainsAny(tok, "=+/;,> \"") {
		t.Fatalf("token %q is not safe in a URI parameter", tok)
	}
	got, err := VerifyFlow(secret, tok, now)
	if err != nil || got != f {
		t.Fatalf("VerifyFlow = %+v, %v; want %+v", got, err, f)
	}
	if _, err := VerifyFlow(secret, tok, now.Add(time.Minute)); !errors.Is(err, ErrFlowExpired) {
		t.Errorf("at expiry: %v, want ErrFlowExpired", err)
	}
	other := []byte("fedcba9876543210fedcba9876543210")
	forged := SignFlow(other, f)
	p, _, _ := strings.Cut(tok, ".")
	_, tag, _ := strings.Cut(forged, ".")
	longer := f
	longer.Expires = now.Add(time.Hour)
	lp, _, _ := strings.Cut(SignFlow(secret, longer), ".")
	_, realTag, _ := strings.Cut(tok, ".")
	for name, bad := range map[string]string{
		"other secret":   forged,
		"foreign tag":    p + "." + tag,
		"payload edited": lp + "." + realTag,
		"no tag":         p,
		"empty":          "",
		"not base64":     "!!." + realTag,
		"too long":       strings.Repeat("A", 3000) + "." + realTag,
		"tag cut":        tok[:len(tok)-4],
	} {
		if _, err := VerifyFlow(secret, bad, now); !errors.Is(err, ErrFlowToken) {
			t.Errorf("%s: %v, want ErrFlowToken", name, err)
		}
	}
	if _, err := VerifyFlow(nil, tok, now); !errors.Is(err, ErrFlowToken) {
		t.Errorf("nil secret: %v, want ErrFlowToken", err)
	}
}
