package sip

import (
	"errors"
	"fmt"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// trunkCredentials answers a carrier's 401/407 to req with the trunk's
// credentials (never a subscriber's): Authorization for a 401,
// Proxy-Authorization for a 407 (RFC 3261 §22.2, §22.3).
func trunkCredentials(req *sip.Request, res *sip.Response, t Trunk) (sip.Header, error) {
	if t.Username == "" {
		return nil, errors.New("trunk has no credentials")
	}
	challenge, answer := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		challenge, answer = "Proxy-Authenticate", "Proxy-Authorization"
	}
	h := res.GetHeader(challenge)
	if h == nil {
		return nil, fmt.Errorf("%d without %s", res.StatusCode, challenge)
	}
	chal, err := digest.ParseChallenge(h.Value())
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", challenge, err)
	}
	cred, err := digest.Digest(chal, digest.Options{
		Method:   string(req.Method),
		URI:      uriString(&req.Recipient),
		Username: t.Username,
		Password: t.Password,
		Count:    1,
	})
	if err != nil {
		return nil, fmt.Errorf("digest for %s: %w", t.Name, err)
	}
	return sip.NewHeader(answer, cred.String()), nil
}
