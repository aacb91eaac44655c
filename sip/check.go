package sip

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// supportedExtensions are the option tags a Require header may name.
var supportedExtensions = map[string]bool{}

// check applies the request sanity checks of RFC 3261 §8.2 and §16.3 that the
// sipgo parser leaves to the application. It returns 0 when the request may be
// processed, else the status, reason and headers of the rejection.
func check(req *sip.Request) (int, string, []sip.Header) {
	if req.SipVersion != "SIP/2.0" {
		return 505, "Version Not Supported", nil
	}
	for _, name := range []string{"Via", "From", "To", "Call-ID", "CSeq"} {
		if header(req, name) == nil {
			return 400, "Missing " + name, nil
		}
	}
	for _, name := range []string{"From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length", "Expires"} {
		if headerCount(req, name) > 1 {
			return 400, "Duplicate " + name, nil
		}
	}
	// sipgo upper-cases the request line's method but not the CSeq's, so
	// the comparison ignores case (RFC 4475 intmeth.dat vs mismatch01.dat).
	cseq := req.CSeq()
	if cseq == nil || !strings.EqualFold(string(cseq.MethodName), string(req.Method)) {
		return 400, "CSeq Method Mismatch", nil
	}
	if req.Via() == nil || req.CallID() == nil || req.From() == nil || req.To() == nil {
		return 400, "Bad Request", nil
	}
	if req.CallID().Value() == "" {
		return 400, "Missing Call-ID", nil
	}
	// sipgo's parser accepts a Via such as "v://" or "v: SIP/2.0/UDP" with
	// no sent-by, and prints it back in every response as it came, in a
	// form no parser (its own included) reads: each response to it would
	// be lost. RFC 3261 §20.42 requires protocol, transport and host.
	for _, h := range req.Headers() {
		if v, ok := h.(*sip.ViaHeader); ok && (v.ProtocolName == "" || v.ProtocolVersion == "" || v.Transport == "" || v.Host == "") {
			return 400, "Bad Via", nil
		}
	}
	switch strings.ToLower(req.Recipient.Scheme) {
	case "sip", "sips":
	case "tel":
		if req.Method == sip.REGISTER {
			return 416, "Unsupported URI Scheme", nil
		}
	default:
		return 416, "Unsupported URI Scheme", nil
	}
	// Headers are not allowed in a Request-URI (RFC 3261 §19.1.1); escaped
	// ones must never turn into real headers (RFC 4475 escruri.dat).
	if req.Recipient.Headers.Length() > 0 {
		return 400, "Headers Not Allowed in Request-URI", nil
	}
	var unsupported []string
	for _, h := range headerList(req, "Require") {
		for _, tag := range strings.Split(h.Value(), ",") {
			tag = strings.TrimSpace(tag)
			if tag != "" && !supportedExtensions[strings.ToLower(tag)] {
				unsupported = append(unsupported, tag)
			}
		}
	}
	if len(unsupported) > 0 && !req.IsAck() && !req.IsCancel() {
		return 420, "Bad Extension", []sip.Header{sip.NewHeader("Unsupported", strings.Join(unsupported, ", "))}
	}
	return 0, "", nil
}
