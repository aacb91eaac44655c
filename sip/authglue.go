package sip

import (
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/sip/auth"
)

var errStaleNonce = auth.ErrStale

func authRequest(req *sip.Request, realm, header string) auth.Request {
	return auth.Request{Method: string(req.Method), URI: req.Recipient.String(), Realm: realm, Header: header}
}

func authReason(err error) string {
	if r := auth.Reason(err); r != "" {
		return r
	}
	return "other"
}
