package sip

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/sip/auth"
)

// register handles REGISTER per RFC 3261 §10.3.
//
// Order matters for privacy: the tenant comes from the To domain, then the
// request is authenticated before the To user is even looked up, so an unknown
// extension gets exactly the challenge a known one gets.
func (s *Server) register(ctx context.Context, req *sip.Request, tx sip.ServerTransaction) {
	to := req.To().Address
	if sc := strings.ToLower(to.Scheme); sc != "sip" && sc != "sips" {
		s.reply(tx, req, 400, "To Must Be a SIP URI")
		return
	}
	view, err := s.tenant(ctx, to.Host)
	if err != nil {
		if errors.Is(err, dialplan.ErrNotFound) {
			// 403 rather than 404: the domain is not served here at all, and a
			// registrar must not act as a proxy for it (RFC 3261 §10.3 step 1).
			s.log.Info("register for a domain no tenant owns", "domain", to.Host, "source", req.Source())
			s.reply(tx, req, 403, "Forbidden")
			return
		}
		s.storeError(tx, req, "tenant", err)
		return
	}

	user, ok := s.authenticate(req, tx, view, authWWW)
	if !ok {
		return
	}

	target, found := view.Lookup(to.User)
	if !found {
		s.reply(tx, req, 404, "Not Found")
		return
	}
	if target.Kind == dialplan.EntryGroup || target.User.ID != user.ID {
		s.log.Info("register for an AOR the user does not own", "tenant", view.Tenant.Domain,
			"user", user.ID, "aor", to.User, "source", req.Source())
		s.reply(tx, req, 403, "Forbidden")
		return
	}
	aor := target.AOR(view.Tenant.Domain)

	r, code, hdr := s.parseRegister(req)
	if code != 0 {
		if hdr != nil {
			s.reply(tx, req, code, statusText(code), hdr)
		} else {
			s.reply(tx, req, code, statusText(code))
		}
		return
	}
	r.AOR, r.Tenant = aor, view.Tenant.Domain

	var bindings []location.Binding
	if len(r.Contacts) == 0 && !r.Star {
		bindings, err = s.loc.Lookup(ctx, aor)
	} else {
		bindings, err = s.loc.Update(ctx, aor, r.Tenant, func(now time.Time, cur []location.Binding) ([]location.Binding, error) {
			return applyRegister(now, cur, r, s.cfg.MaxContacts)
		})
	}
	if errors.Is(err, location.ErrStale) {
		// RFC 3261 §10.3 step 7: an older request of the same registration
		// arrived late; it must not undo the newer one.
		s.reply(tx, req, 500, "Request Out of Order")
		return
	}
	if err != nil {
		s.storeError(tx, req, "location_update", err)
		return
	}

	if len(r.Contacts) > 0 {
		s.trackKeepalive(req, bindings)
	}
	// An outbound REGISTER's 200 carries outboundReply's headers, added to a
	// *sip.Response (outbound.go); the usual one is written directly on the
	// fast path (directresponse.go).
	var res response
	if r.outbound() {
		res = genericResponse(req, 200, "OK")
	} else {
		res = newResponse(tx, req, 200, "OK")
	}
	now := time.Now()
	for i := range bindings {
		secs := int(bindings[i].Expires.Sub(now).Round(time.Second) / time.Second)
		if secs < 1 {
			secs = 1
		}
		res.addContact(&bindings[i], secs)
	}
	if res.res != nil {
		s.outboundReply(res.res, r) // outbound.go
	}
	res.addShared(s.date.get(now))
	s.sendResponse(tx, req, &res, 200)
}

// storeError answers a request whose directory or location lookup failed.
func (s *Server) storeError(tx sip.ServerTransaction, req *sip.Request, op string, err error) {
	s.log.Error("store error", "op", op, "method", req.Method, "error", err)
	s.reply(tx, req, 503, "Service Unavailable", sip.NewHeader("Retry-After", "5"))
}

// regContact is one Contact of a REGISTER with its expiry already resolved.
type regContact struct {
	URI     string
	Expires time.Duration // 0 removes the binding
	Q       float32
	// RFC 5626 flow identity (outbound.go); RegID 0 = not outbound.
	SIPInstance string
	RegID       uint32
}

// regRequest is everything applyRegister needs from a REGISTER.
type regRequest struct {
	AOR, Tenant string
	CallID      string
	CSeq        uint32
	Star        bool
	Contacts    []regContact
	Source      string
	Transport   string
	LocalAddr   string
	UserAgent   string
	Instance    string
}

// parseRegister reads the Contact and Expires headers of a REGISTER. A
// non-zero code means the request must be rejected with it.
func (s *Server) parseRegister(req *sip.Request) (regRequest, int, sip.Header) {
	r := regRequest{
		CallID:    req.CallID().Value(),
		CSeq:      req.CSeq().SeqNo,
		Source:    req.Source(),
		Transport: lowerTransport(req.Transport()),
		LocalAddr: req.Destination(),
		Instance:  s.instance,
	}
	if ua := header(req, "User-Agent"); ua != nil {
		r.UserAgent = ua.Value()
	}
	defExpires := s.cfg.DefaultExpires
	hasExpires := false
	if h := header(req, "Expires"); h != nil {
		d, ok := parseSeconds(h.Value())
		if !ok {
			return r, 400, nil
		}
		defExpires, hasExpires = d, true
	}
	var contactBuf [4]sip.Header
	contacts := appendHeaders(contactBuf[:0], req, "Contact")
	for _, h := range contacts {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			return r, 400, nil
		}
		// sipgo's parser marks "*" as Wildcard; the serialised value is
		// only looked at when it did not (no scheme), as it costs a string.
		if c.Address.Wildcard || (c.Address.Scheme == "" && strings.TrimSpace(h.Value()) == "*") {
			// "Contact: *" removes every binding; RFC 3261 §10.2.2 allows it
			// only alone and with Expires: 0.
			if len(contacts) != 1 || !hasExpires || defExpires != 0 {
				return r, 400, nil
			}
			r.Star = true
			return r, 0, nil
		}
		if sc := strings.ToLower(c.Address.Scheme); sc != "sip" && sc != "sips" {
			return r, 400, nil
		}
		rc := regContact{URI: uriString(&c.Address), Expires: defExpires}
		if v, ok := c.Params.Get("expires"); ok {
			d, ok := parseSeconds(v)
			if !ok {
				return r, 400, nil
			}
			rc.Expires = d
		}
		if v, ok := c.Params.Get("q"); ok {
			q, err := strconv.ParseFloat(v, 32)
			if err != nil || q < 0 || q > 1 {
				return r, 400, nil
			}
			rc.Q = float32(q)
		}
		if rc.Expires > 0 && rc.Expires < s.cfg.MinExpires {
			return r, 423, sip.NewHeader("Min-Expires", strconv.Itoa(int(s.cfg.MinExpires/time.Second)))
		}
		rc.Expires = min(rc.Expires, s.cfg.MaxExpires)
		if !outboundContact(req, c, &rc) {
			return r, 400, nil
		}
		r.Contacts = append(r.Contacts, rc)
	}
	if r.outbound() && len(r.Contacts) > 1 {
		// RFC 5626 §6: a REGISTER with a reg-id registers exactly one flow.
		return r, 400, nil
	}
	return r, 0, nil
}

// lowerTransport is strings.ToLower(t) without allocating for the
// transports sipgo names in upper case.
func lowerTransport(t string) string {
	switch t {
	case "UDP":
		return "udp"
	case "TCP":
		return "tcp"
	case "TLS":
		return "tls"
	case "WS":
		return "ws"
	case "WSS":
		return "wss"
	}
	return strings.ToLower(t)
}

// parseSeconds parses a delta-seconds value; values past 2^32-1 are capped
// (RFC 3261 §20.19) by the caller's max expiry.
func parseSeconds(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 10 {
		if len(v) > 10 && strings.Trim(v, "0123456789") == "" {
			return time.Duration(1<<32-1) * time.Second, true
		}
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// applyRegister computes an AOR's bindings after a REGISTER (RFC 3261 §10.3
// steps 6–8). It is pure: the location store runs it atomically.
//
// REGISTER is answered without keeping a server transaction (see handle), so
// a retransmission arrives as a new request with the same Call-ID and CSeq:
// it is applied again (the result is the same) rather than refused. Only a
// lower CSeq is out of order.
func applyRegister(now time.Time, cur []location.Binding, r regRequest, maxContacts int) ([]location.Binding, error) {
	if r.Star {
		for i := range cur {
			if cur[i].CallID == r.CallID && r.CSeq < cur[i].CSeq {
				return nil, location.ErrStale
			}
		}
		return nil, nil
	}
	out := slices.Clone(cur)
	for _, c := range r.Contacts {
		i := slices.IndexFunc(out, func(b location.Binding) bool { return sameBinding(b, c) })
		if i >= 0 && out[i].CallID == r.CallID && r.CSeq < out[i].CSeq {
			return nil, location.ErrStale
		}
		if c.Expires == 0 {
			if i >= 0 {
				out = slices.Delete(out, i, i+1)
			}
			continue
		}
		b := location.Binding{
			AOR: r.AOR, Tenant: r.Tenant, Contact: c.URI, Expires: now.Add(c.Expires), Q: c.Q,
			CallID: r.CallID, CSeq: r.CSeq, Source: r.Source, Transport: r.Transport,
			LocalAddr: r.LocalAddr, UserAgent: r.UserAgent, Instance: r.Instance, Updated: now,
			SIPInstance: c.SIPInstance, RegID: c.RegID,
		}
		if i >= 0 {
			out[i] = b
		} else {
			out = append(out, b)
		}
	}
	if maxContacts > 0 && len(out) > maxContacts {
		// Keep the most recently refreshed: a phone behind NAT that reboots
		// registers a new contact and its old one would otherwise linger.
		slices.SortStableFunc(out, func(a, b location.Binding) int { return b.Updated.Compare(a.Updated) })
		out = out[:maxContacts]
	}
	return out, nil
}

// authHeaders names the request and challenge headers of one auth flavour.
type authHeaders struct {
	request, challenge string
	code               int
}

var (
	authWWW   = authHeaders{"Authorization", "WWW-Authenticate", 401}
	authProxy = authHeaders{"Proxy-Authorization", "Proxy-Authenticate", 407}
)

// realm is the digest realm for a tenant.
func (s *Server) realm(v *dialplan.View) string {
	if s.cfg.Realm != "" {
		return s.cfg.Realm
	}
	return v.Tenant.Domain
}

// authenticate verifies the request's digest credentials against the tenant's
// users. On failure it has already answered (401/407, stale or not) and
// returns false.
func (s *Server) authenticate(req *sip.Request, tx sip.ServerTransaction, view *dialplan.View, ah authHeaders) (*dialplan.User, bool) {
	realm := s.realm(view)
	var hdrBuf [2]sip.Header
	hdrs := appendHeaders(hdrBuf[:0], req, ah.request)
	stale := false
	for _, h := range hdrs {
		ar := s.authRequest(req, realm, view.Tenant.Domain, h.Value())
		ar.Banned = s.bannedUser(req) // edge.go
		username, err := s.auth.Verify(ar, view.Credential)
		if errors.Is(err, auth.ErrBanned) {
			s.metrics.authFailures.WithLabelValues(authReason(err)).Inc()
			s.log.Debug("request from a banned (source, username) refused", "method", req.Method, "source", req.Source())
			s.reply(tx, req, 403, "Forbidden")
			return nil, false
		}
		if err == nil {
			e, ok := view.Lookup(username)
			if ok && e.Kind == dialplan.EntryUser {
				return e.User, true
			}
			err = fmt.Errorf("credential %q has no user", username)
		}
		if errors.Is(err, errStaleNonce) {
			stale = true
		}
		s.metrics.authFailures.WithLabelValues(authReason(err)).Inc()
		s.countAuthFailure(req, h.Value(), err)
		s.log.Debug("digest authentication failed", "method", req.Method, "tenant", view.Tenant.Domain,
			"source", req.Source(), "reason", authReason(err))
	}
	if len(hdrs) > 0 && !stale && ah.code == 407 {
		// A call with wrong credentials is refused outright rather than
		// re-challenged: an INVITE is where toll fraud is attempted.
		s.reply(tx, req, 403, "Forbidden")
		return nil, false
	}
	res := newResponse(tx, req, ah.code, statusText(ah.code))
	for _, c := range s.auth.Challenges(realm, stale) {
		res.add(ah.challenge, c)
	}
	s.sendResponse(tx, req, &res, ah.code)
	return nil, false
}
