package sip

import (
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/sip/auth"
)

var errStaleNonce = auth.ErrStale

func (s *Server) authRequest(req *sip.Request, realm, domain, header string) auth.Request {
	r := auth.Request{Method: string(req.Method), URI: uriString(&req.Recipient), Realm: realm, Header: header,
		AlsoAccept: func(uri string) bool { return s.isServerURI(uri, domain) }}
	if v := req.Via(); v != nil {
		r.Branch, _ = v.Params.Get("branch")
	}
	return r
}

// isServerURI reports whether a digest uri names this server or the tenant
// domain itself (no user part), as SIPp computes it by default.
func (s *Server) isServerURI(uri, domain string) bool {
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil || u.User != "" {
		return false
	}
	if !strings.EqualFold(u.Scheme, "sip") && !strings.EqualFold(u.Scheme, "sips") {
		return false
	}
	return strings.EqualFold(u.Host, domain) || s.isOwnURI(u)
}

func authReason(err error) string {
	if r := auth.Reason(err); r != "" {
		return r
	}
	return "other"
}
