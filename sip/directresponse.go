package sip

import (
	"bytes"
	crand "crypto/rand"
	"encoding/hex"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/location"
)

// The fast path's common answers (REGISTER's 401 and 200, OPTIONS' 200)
// are written straight into the outgoing buffer from the request's parsed
// headers. Building them as a *sip.Response cloned every Via, From, To and
// CSeq, made a header object per Contact and challenge, a UUID string for
// the To tag, and then serialised it all again: ~6% of a REGISTER's CPU
// and a third of its allocations after parsing. The bytes written are the
// ones sip.NewResponseFromRequest plus StringWrite produce, header for
// header and in the same order (TestDirectResponseMatchesSipgo compares
// them); only the To tag is a different random string. Every other
// response, and every response on a transaction that is not the fast
// path's, is still built as a *sip.Response.

// response is a response being built: written into buf when the request
// came by the fast path, else collected in res for tx.Respond.
type response struct {
	res *sip.Response
	st  *statelessTx // non-nil: direct
	buf *bytes.Buffer
}

// newResponse starts the response code to req. On the fast path the
// status line and the headers taken from the request are written at once.
func newResponse(tx sip.ServerTransaction, req *sip.Request, code int, reason string) response {
	if st, ok := tx.(*statelessTx); ok {
		buf := responseBuffers.Get().(*bytes.Buffer)
		buf.Reset()
		writeResponseHead(buf, req, code, reason)
		return response{st: st, buf: buf}
	}
	return genericResponse(req, code, reason)
}

// genericResponse starts the response code to req as a *sip.Response,
// whatever the transaction.
func genericResponse(req *sip.Request, code int, reason string) response {
	return response{res: sip.NewResponseFromRequest(req, code, reason, nil)}
}

// add appends a header.
func (r *response) add(name, value string) {
	if r.buf == nil {
		r.res.AppendHeader(sip.NewHeader(name, value))
		return
	}
	writeHeader(r.buf, name, value)
}

// addShared appends a header shared between responses (hotheaders.go),
// as it is: no copy on either path.
func (r *response) addShared(h sip.Header) {
	if r.buf == nil {
		r.res.AppendHeader(h)
		return
	}
	writeHeader(r.buf, h.Name(), h.Value())
}

// addContact appends a Contact header for a binding, as contactValue
// renders it, without building the string on the fast path.
func (r *response) addContact(b *location.Binding, secs int) {
	if r.buf == nil {
		r.res.AppendHeader(sip.NewHeader("Contact", contactValue(b, secs)))
		return
	}
	r.buf.WriteString("\r\nContact: ")
	r.buf.Write(appendContactValue(r.buf.AvailableBuffer(), b, secs))
}

// sendResponse finishes r with the Server header, counts it and sends it,
// as send does for a *sip.Response.
func (s *Server) sendResponse(tx sip.ServerTransaction, req *sip.Request, r *response, code int) {
	if r.buf == nil {
		s.send(tx, req, r.res)
		return
	}
	b := r.finish(s.serverHeader.get("Server", s.cfg.UserAgent).Value())
	s.metrics.countResponse(string(req.Method), code)
	err := r.st.write(b, req.Via())
	if r.buf.Cap() <= 64<<10 {
		responseBuffers.Put(r.buf)
	}
	r.buf = nil
	if err != nil {
		s.log.Warn("sip respond failed", "method", req.Method, "code", code, "dest", req.Source(), "error", err)
	}
}

// finish ends a direct response with the Server header and the empty
// line, and returns its bytes (valid until buf is reused).
func (r *response) finish(server string) []byte {
	writeHeader(r.buf, "Server", server)
	r.buf.WriteString("\r\n\r\n")
	return r.buf.Bytes()
}

// writeResponseHead writes what sip.NewResponseFromRequest(req, code,
// reason, nil) serialises to, without the final CRLF: the status line,
// the Record-Routes (2xx to other than REGISTER), the Vias (the top one
// with received and rport filled in when it asked for rport, RFC 3581
// §4), From, To with a tag of ours when it had none, Call-ID, CSeq and
// Content-Length: 0. Every header line but the first starts with CRLF,
// as in sipgo's header list, so more can be appended the same way.
func writeResponseHead(buf *bytes.Buffer, req *sip.Request, code int, reason string) {
	buf.WriteString(req.SipVersion)
	buf.WriteByte(' ')
	buf.Write(strconv.AppendInt(buf.AvailableBuffer(), int64(code), 10))
	buf.WriteByte(' ')
	buf.WriteString(reason)

	// RFC 3261 §12.1.1 and Table 3, as NewResponseFromRequest applies them
	// (no INVITE reaches the fast path, so no early-dialog case). The
	// parser types every Record-Route and Via header, so a type switch
	// finds exactly what sipgo's GetHeaders does, without lowering names.
	if req.Method != sip.REGISTER && !req.IsAck() && code >= 200 && code < 300 {
		for _, h := range req.Headers() {
			if rr, ok := h.(*sip.RecordRouteHeader); ok {
				buf.WriteString("\r\nRecord-Route: <")
				writeURI(buf, &rr.Address)
				buf.WriteByte('>')
			}
		}
	}
	first := true
	for _, h := range req.Headers() {
		if v, ok := h.(*sip.ViaHeader); ok {
			buf.WriteString("\r\n")
			writeVia(buf, v, first, req.Source())
			first = false
		}
	}
	if h := req.From(); h != nil {
		buf.WriteString("\r\nFrom: ")
		writeNameAddr(buf, h.DisplayName, &h.Address, h.Params)
	}
	if h := req.To(); h != nil {
		buf.WriteString("\r\nTo: ")
		writeNameAddr(buf, h.DisplayName, &h.Address, h.Params)
		// §8.2.6.2: a response carries the UAS's To tag. sipgo appends it
		// as the last parameter, which is where it lands here too.
		if code != 100 && !h.Params.Has("tag") {
			buf.WriteString(";tag=")
			writeTag(buf)
		}
	}
	if h := req.CallID(); h != nil {
		buf.WriteString("\r\n")
		h.StringWrite(buf)
	}
	if h := req.CSeq(); h != nil {
		buf.WriteString("\r\nCSeq: ")
		buf.Write(strconv.AppendUint(buf.AvailableBuffer(), uint64(h.SeqNo), 10))
		buf.WriteByte(' ')
		buf.WriteString(string(h.MethodName))
	}
	if code == 100 {
		for _, h := range req.Headers() {
			if strings.EqualFold(h.Name(), "timestamp") {
				buf.WriteString("\r\n")
				h.StringWrite(buf)
			}
		}
	}
	buf.WriteString("\r\nContent-Length: 0")
}

// writeVia writes a Via header as sipgo serialises it; on the top Via of
// a request that asked for rport with no value, rport gets the source
// port and received the source address (replacing a received already
// there), as NewResponseFromRequest does.
func writeVia(buf *bytes.Buffer, v *sip.ViaHeader, top bool, source string) {
	buf.WriteString("Via: ")
	buf.WriteString(v.ProtocolName)
	buf.WriteByte('/')
	buf.WriteString(v.ProtocolVersion)
	buf.WriteByte('/')
	buf.WriteString(v.Transport)
	buf.WriteByte(' ')
	writeHostPort(buf, v.Host, v.Port)
	fill := false
	var host, port string
	if top {
		if val, ok := v.Params.Get("rport"); ok && val == "" {
			fill = true
			host, port, _ = net.SplitHostPort(source)
		}
	}
	// The parameters as HeaderParams.ToStringWrite prints them, with
	// Params.Add's replace-the-first-or-append for rport and received.
	rportDone, receivedDone := false, false
	for _, kv := range v.Params {
		val := kv.V
		if fill {
			switch {
			case kv.K == "rport" && !rportDone:
				val, rportDone = port, true
			case kv.K == "received" && !receivedDone:
				val, receivedDone = host, true
			}
		}
		buf.WriteByte(';')
		writeParam(buf, kv.K, val)
	}
	if fill && !receivedDone {
		buf.WriteByte(';')
		writeParam(buf, "received", host)
	}
}

// writeNameAddr writes a From or To value as sipgo serialises it.
func writeNameAddr(buf *bytes.Buffer, display string, u *sip.Uri, params sip.HeaderParams) {
	if display != "" {
		buf.WriteByte('"')
		buf.WriteString(display)
		buf.WriteString(`" `)
	}
	buf.WriteByte('<')
	writeURI(buf, u)
	buf.WriteByte('>')
	if len(params) > 0 {
		buf.WriteByte(';')
		writeParams(buf, ';', params)
	}
}

// writeURI writes u as sip.Uri.StringWrite does, which also formats its
// parameters into a string and tries every host as an IP address (an
// allocation each for a From and a To of a domain).
func writeURI(buf *bytes.Buffer, u *sip.Uri) {
	if u.Scheme == "" {
		buf.WriteString("sip")
	} else {
		buf.WriteString(u.Scheme)
	}
	buf.WriteByte(':')
	if raw := u.Raw(); raw != "" {
		buf.WriteString(raw)
		return
	}
	if u.HierarhicalSlashes {
		buf.WriteString("//")
	}
	if u.User != "" {
		buf.WriteString(u.User)
		if u.Password != "" {
			buf.WriteByte(':')
			buf.WriteString(u.Password)
		}
		buf.WriteByte('@')
	}
	writeHostPort(buf, u.Host, u.Port)
	if len(u.UriParams) > 0 {
		buf.WriteByte(';')
		writeParams(buf, ';', u.UriParams)
	}
	if len(u.Headers) > 0 {
		buf.WriteByte('?')
		writeParams(buf, '&', u.Headers)
	}
}

// writeParams writes parameters separated by sep.
func writeParams(buf *bytes.Buffer, sep byte, hp sip.HeaderParams) {
	for i, kv := range hp {
		if i > 0 {
			buf.WriteByte(sep)
		}
		writeParam(buf, kv.K, kv.V)
	}
}

// writeParam writes one header parameter as sipgo's HeaderParams does:
// the bare key when the value is empty, the value quoted when it holds
// blanks.
func writeParam(buf *bytes.Buffer, k, v string) {
	buf.WriteString(k)
	if v == "" {
		return
	}
	if strings.ContainsAny(v, " \t") {
		buf.WriteString(`="`)
		buf.WriteString(v)
		buf.WriteByte('"')
		return
	}
	buf.WriteByte('=')
	buf.WriteString(v)
}

// writeHost writes a Via or URI host, bracketing an IPv6 literal as sipgo does
// (not a v4-mapped one, which it prints as IPv4, nor one with a zone,
// which net.ParseIP refuses).
func writeHost(buf *bytes.Buffer, host string) {
	if strings.IndexByte(host, ':') >= 0 && len(host) < 47 {
		if a, err := netip.ParseAddr(host); err == nil && a.Is6() && !a.Is4In6() && a.Zone() == "" {
			buf.WriteByte('[')
			buf.WriteString(host)
			buf.WriteByte(']')
			return
		}
	}
	buf.WriteString(host)
}

// writeHostPort writes host, then ":port" when a port is set.
func writeHostPort(buf *bytes.Buffer, host string, port int) {
	writeHost(buf, host)
	if port > 0 {
		buf.WriteByte(':')
		buf.Write(strconv.AppendInt(buf.AvailableBuffer(), int64(port), 10))
	}
}

// writeHeader writes "\r\nName: value".
func writeHeader(buf *bytes.Buffer, name, value string) {
	buf.WriteString("\r\n")
	buf.WriteString(name)
	buf.WriteString(": ")
	buf.WriteString(value)
}

// writeTag writes a fresh To tag: 64 random bits in hex, well past the 32
// bits RFC 3261 §19.3 asks for. crypto/rand reads them without a system
// call where the kernel offers getrandom in the vDSO.
func writeTag(buf *bytes.Buffer) {
	var raw [8]byte
	_, _ = crand.Read(raw[:]) // never fails (crypto/rand documents it)
	var out [16]byte
	hex.Encode(out[:], raw[:])
	buf.Write(out[:])
}

// appendContactValue appends what contactValue returns.
func appendContactValue(dst []byte, b *location.Binding, secs int) []byte {
	dst = append(dst, '<')
	dst = append(dst, b.Contact...)
	dst = append(dst, '>')
	if b.Outbound() {
		dst = append(dst, ";reg-id="...)
		dst = strconv.AppendUint(dst, uint64(b.RegID), 10)
		dst = append(dst, `;+sip.instance="`...)
		dst = append(dst, b.SIPInstance...)
		dst = append(dst, '"')
	}
	dst = append(dst, ";expires="...)
	return strconv.AppendInt(dst, int64(secs), 10)
}
