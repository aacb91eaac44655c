package sip

import (
	"net"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Copies of messages to forward. sipgo's Clone deep-copies every header
// (each Via, From, To, Record-Route with its parameters: 15–20 allocations
// per request or response), but a proxy changes only a few headers of what
// it forwards. These copies get their own header list and share the header
// values with the original, which is safe because nothing writes a shared
// value afterwards:
//
//   - the top Via of a forwarded request is cloned: sipgo's
//     ClientRequestAddVia writes received and rport into it (RFC 3581 §6)
//     while sipgo may be building a response (a 487 to a CANCEL) from the
//     original's;
//   - the CSeq of a forwarded request is cloned when asked, for the paths
//     that renumber it (a carrier that challenged: trunk_hunt.go,
//     trunk_dialog.go);
//   - headers the proxy changes (Max-Forwards, Route, From) are replaced or
//     removed in the copy's own list, never edited in place.
//
// Anything else that edits a header of a forwarded message must clone that
// header first.

// forwardRequest returns a copy of req for forwarding to recipient, without
// the headers named in drop (any case) and without a destination, which the
// caller sets. cloneCSeq gives the copy its own CSeq, for a caller that
// renumbers it.
func forwardRequest(req *sip.Request, recipient sip.Uri, cloneCSeq bool, drop ...string) *sip.Request {
	r := sip.NewRequest(req.Method, recipient)
	r.SipVersion = req.SipVersion
	topVia := true
	for _, h := range req.Headers() {
		if dropped(h.Name(), drop) {
			continue
		}
		switch v := h.(type) {
		case *sip.ViaHeader:
			if topVia {
				topVia = false
				h = v.Clone()
			}
		case *sip.CSeqHeader:
			if cloneCSeq {
				cs := *v
				h = &cs
			}
		}
		r.AppendHeader(h)
	}
	// The Content-Length header came along; SetBody with the same length
	// keeps it as it is.
	r.SetBody(req.Body())
	r.SetTransport(req.Transport())
	r.SetSource(req.Source())
	// No destination: every caller sets the next hop's, and sipgo's
	// Destination() of a received request works one out from its Via
	// (four allocations) only to be overwritten.
	r.Laddr = req.Laddr
	return r
}

func dropped(name string, drop []string) bool {
	for _, d := range drop {
		if nameIs(name, d) { // header names: ASCII case only (headers.go)
			return true
		}
	}
	return false
}

// relayResponse returns a copy of res without its top Via (ours), sharing
// the other header values with res.
func relayResponse(res *sip.Response) *sip.Response {
	out := sip.NewResponse(res.StatusCode, res.Reason)
	out.SipVersion = res.SipVersion
	topVia := true
	for _, h := range res.Headers() {
		if _, ok := h.(*sip.ViaHeader); ok && topVia {
			topVia = false
			continue
		}
		out.AppendHeader(h)
	}
	out.SetBody(res.Body())
	out.SetTransport(res.Transport())
	out.SetSource(res.Source())
	return out
}

// tryingResponse is the 100 (Trying) to req, as sip.NewResponseFromRequest
// builds it (Via, From, To, Call-ID, CSeq, Timestamp; RFC 3261 §8.2.6) but
// sharing req's header values instead of cloning five of them. The top Via
// is cloned when it gets the received and rport of RFC 3581 §4.
func tryingResponse(req *sip.Request) *sip.Response {
	res := sip.NewResponse(100, "Trying")
	res.SipVersion = req.SipVersion
	topVia := true
	for _, h := range req.Headers() {
		switch v := h.(type) {
		case *sip.ViaHeader:
			if topVia {
				topVia = false
				if val, ok := v.Params.Get("rport"); ok && val == "" {
					v = v.Clone()
					host, port, _ := net.SplitHostPort(req.Source())
					v.Params.Add("rport", port)
					v.Params.Add("received", host)
				}
			}
			res.AppendHeader(v)
		case *sip.FromHeader, *sip.ToHeader, *sip.CallIDHeader, *sip.CSeqHeader:
			res.AppendHeader(h)
		default:
			if strings.EqualFold(h.Name(), "Timestamp") {
				res.AppendHeader(h)
			}
		}
	}
	res.SetBody(nil)
	res.SetTransport(req.Transport())
	res.SetDestination(req.Source())
	return res
}
