package sip

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/routing"
)

// invite handles an INVITE: re-INVITEs follow the dialog, initial INVITEs are
// classified (trunk, user, or refused), routed and executed. The handler runs
// until the caller's transaction has its final response, as sipgo requires.
func (s *Server) invite(req *sip.Request, tx sip.ServerTransaction) {
	if req.To().Params.Has("tag") {
		s.inDialog(req, tx)
		return
	}
	if mf := req.MaxForwards(); mf != nil && int(*mf) <= 0 {
		s.reply(tx, req, 483, "Too Many Hops")
		return
	}
	if s.isLoop(req) {
		s.reply(tx, req, 482, "Loop Detected")
		return
	}
	if token, ok := s.flowToken(req); ok {
		// Relayed by another instance to a flow this one holds (relay.go).
		s.relayInvite(req, tx, token)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	call, view, ok := s.classify(ctx, req, tx)
	if !ok {
		cancel()
		// The challenge or refusal was answered statelessly (as Kamailio's
		// sl does): holding the transaction for its ACK parked a goroutine
		// per 407 in sipgo until Timer H. A lost 407 is answered again when
		// the INVITE is retransmitted; the ACK finds no dialog and is dropped.
		tx.Terminate()
		return
	}
	// Answer 100 now, so the caller stops retransmitting while the location
	// is read and the forks are set up. Not before classify: its answer to
	// an INVITE it refuses or challenges is the final response, at once
	// (the directory is cached), and a 100 in front of every 407 was one
	// more message each way per call than Kamailio's sl sends (RFC 3261
	// §17.2.1 asks for a 100 only when the final response may take longer
	// than 200 ms).
	s.send(tx, req, tryingResponse(req))
	plan := routing.Decide(call, view, routing.Options{
		Trunks:   s.trunks.huntOrder(view.Tenant.Trunks),
		Contacts: func(aor string) []location.Binding { return s.contacts(ctx, aor) },
		Park:     s.cfg.Park.slots(),
	})
	cancel()
	if fl, ok := s.replacesTarget(req); ok {
		plan = pinReplaces(plan, fl) // attended transfer (transfer.go)
	}
	s.metrics.routing.WithLabelValues(plan.Kind).Inc()
	inboundSlot := call.Caller.Trunk != "" && dialplan.LimitsOf(view.Tenant).ConcurrentCalls > 0
	if inboundSlot && s.refuseInboundTrunkCall(req, tx, view) { // limits.go
		return
	}
	c := newCall(s, req, tx, view, call, plan)
	c.limitSlot = inboundSlot
	c.run()
}

// contacts reads an AOR's live bindings; a store failure routes as "nobody
// registered" and is logged, so one bad read cannot hang the caller.
func (s *Server) contacts(ctx context.Context, aor string) []location.Binding {
	bs, err := s.loc.Lookup(ctx, aor)
	if err != nil {
		s.log.Error("location lookup failed", "error", err)
		return nil
	}
	return s.pickFlows(bs) // one working flow per outbound phone (outbound.go)
}

// classify decides who is calling: a trunk (by source address), an
// authenticated user of the From domain's tenant, or nobody (403). It has
// answered the request when ok is false.
func (s *Server) classify(ctx context.Context, req *sip.Request, tx sip.ServerTransaction) (routing.Call, *dialplan.View, bool) {
	call := routing.Call{Dialled: req.Recipient.User, Diverted: diversions(req)}
	if trunk, ok := s.trunkFor(req.Source()); ok {
		call.Caller = routing.Caller{Trunk: trunk.Name, Number: req.From().Address.User, Name: req.From().DisplayName}
		call.Dialled = didOf(req, trunk.DIDFrom)
		view, err := s.tenantByDialled(ctx, call.Dialled)
		if errors.Is(err, dialplan.ErrNotFound) {
			s.reply(tx, req, 404, "Not Found")
			return call, nil, false
		}
		if err != nil {
			s.storeError(tx, req, "tenant_by_number", err)
			return call, nil, false
		}
		return call, view, true
	}

	from := req.From().Address
	view, err := s.tenant(ctx, from.Host)
	if errors.Is(err, dialplan.ErrNotFound) {
		s.log.Info("call from an unknown source refused", "source", req.Source(), "from_domain", from.Host)
		s.reply(tx, req, 403, "Forbidden")
		return call, nil, false
	}
	if err != nil {
		s.storeError(tx, req, "tenant", err)
		return call, nil, false
	}
	user, ok := s.authenticate(req, tx, view, authProxy)
	if !ok {
		return call, nil, false
	}
	call.Caller = routing.Caller{User: user, Number: firstOr(user.Extensions, user.ID), Name: user.Name}
	// The From user may be the user or one of its aliases (a second line);
	// anything else would let a phone present someone else's identity.
	if e, found := view.Lookup(from.User); found && e.Kind == dialplan.EntryAlias && e.User.ID == user.ID {
		call.Caller.Alias = e.Alias
	} else if !found || e.Kind != dialplan.EntryUser || e.User.ID != user.ID {
		s.log.Info("call with a From identity the user does not own", "tenant", view.Tenant.Domain,
			"user", user.ID, "from", from.User)
		s.reply(tx, req, 403, "Forbidden")
		return call, nil, false
	}
	return call, view, true
}

// tenantByDialled finds the tenant owning the number a carrier sent: as a
// NANP or E.164 number first, then as E.164 digits without their "+" (the
// tenant's own country code is applied by routing once the tenant is known).
func (s *Server) tenantByDialled(ctx context.Context, dialled string) (*dialplan.View, error) {
	if e164, emergency, ok := routing.Normalize(dialled, routing.DefaultCountryCode); ok && !emergency {
		v, err := s.dir.TenantByNumber(ctx, e164)
		if !errors.Is(err, dialplan.ErrNotFound) {
			return v, err
		}
	}
	if dialled != "" && dialled[0] != '+' {
		return s.dir.TenantByNumber(ctx, "+"+dialled)
	}
	return nil, dialplan.ErrNotFound
}

// diversions counts the Diversion and History-Info entries a call arrived
// with, so routing can stop forward loops through the carrier.
func diversions(req *sip.Request) int {
	n := 0
	for _, name := range []string{"Diversion", "History-Info"} {
		for _, h := range headerList(req, name) {
			n += strings.Count(h.Value(), ",") + 1
		}
	}
	return n
}

func firstOr(xs []string, def string) string {
	if len(xs) > 0 {
		return xs[0]
	}
	return def
}

// trunkFor returns the trunk a request comes from: the one whose
// inbound_from holds the source address, else the one whose live
// registration this carrier address accepted.
func (s *Server) trunkFor(source string) (Trunk, bool) {
	host, _, err := net.SplitHostPort(source)
	if err != nil {
		return Trunk{}, false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return Trunk{}, false
	}
	ip = ip.Unmap()
	for i := range s.cfg.Trunks {
		for _, p := range s.cfg.Trunks[i].InboundFrom {
			if p.Contains(ip) {
				return s.cfg.Trunks[i], true
			}
		}
	}
	return s.trunks.byFlow(source, time.Now())
}

// trunk returns a configured trunk by name.
func (s *Server) trunk(name string) (Trunk, bool) {
	return s.trunks.get(name)
}

// isLoop reports a request that already passed through this server: one of
// its Via sent-by values is one of our own listening addresses. switchboard
// never spirals a request back to itself, so any such Via is a loop.
func (s *Server) isLoop(req *sip.Request) bool {
	for _, h := range req.Headers() {
		if v, ok := h.(*sip.ViaHeader); ok && s.isOwnAddr(v.Host, v.Port) {
			return true
		}
	}
	return false
}

// localAddr is the address of this server for a transport, for Record-Route
// and the Via of requests we send: the advertised host with the listener's port.
func (s *Server) localAddr(transport string) (string, int) {
	transport = tpLower(transport)
	host, port := "", 0
	for _, a := range s.bound {
		if a.network == transport || (port == 0 && a.network == "udp") {
			host, port = a.host, a.port
			if a.network == transport {
				break
			}
		}
	}
	if s.cfg.Advertise != "" {
		h, p, err := net.SplitHostPort(s.cfg.Advertise)
		if err != nil {
			return s.cfg.Advertise, port
		}
		host = h
		if n, err := strconv.Atoi(p); err == nil {
			port = n
		}
	}
	return host, port
}

// recordRoute returns the Record-Route values for a request arriving on
// inTransport and leaving on outTransport: one entry, or two when the
// transports differ so each side sees the address it can reach (RFC 5658).
//
// sips says the request is for a SIPS URI (its Request-URI as received or
// as forwarded): an entry for a TLS hop is then a sips: URI, as RFC 3261
// §16.6 step 4 asks, so a phone that uses sips: keeps its route set secure.
func (s *Server) recordRoute(inTransport, outTransport string, sips bool) []sip.Header {
	entry := func(tp string) rrEntry {
		host, port := s.localAddr(tp)
		scheme := "sip"
		if sips && tp == "tls" {
			scheme = "sips"
		}
		return rrEntry{scheme: scheme, host: host, port: port, transport: tp}
	}
	in, out := tpLower(inTransport), tpLower(outTransport)
	k := rrKey{first: entry(out)}
	if in != out {
		k.second, k.two = entry(in), true
	}
	return cachedRecordRoute(k) // shared values, built once (tpnames.go)
}

// isOwnURI reports whether a Route URI points at this server.
func (s *Server) isOwnURI(u sip.Uri) bool {
	if s.isOwnAddr(u.Host, u.Port) {
		return true
	}
	port := u.Port
	if port == 0 {
		port = 5060
	}
	host, p := s.localAddr("udp")
	return strings.EqualFold(u.Host, host) && port == p
}

// removeHeaders removes every header of a name, case-insensitively.
func removeHeaders(m interface {
	Headers() []sip.Header
	RemoveHeader(string) bool
}, name string) {
	for _, h := range m.Headers() {
		if strings.EqualFold(h.Name(), name) {
			m.RemoveHeader(h.Name())
		}
	}
}

func setMaxForwards(req *sip.Request, v int) {
	mf := sip.MaxForwardsHeader(v)
	removeHeaders(req, "Max-Forwards")
	req.AppendHeader(&mf)
}

func maxForwards(req *sip.Request) int {
	if mf := req.MaxForwards(); mf != nil {
		return int(*mf)
	}
	return 70
}

// stepTimeout bounds a ring step with no configured timeout: a phone that
// never answers must not hold the transaction past Timer C (RFC 3261 §16.6
// suggests more than 3 minutes).
const stepTimeout = 3 * time.Minute
