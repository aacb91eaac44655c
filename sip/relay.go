package sip

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/routing"
	"github.com/switchboard/switchboard/sip/auth"
)

// Relaying through the instance that holds a flow (RFC 3327-like).
//
// Every binding records the instance that holds its flow (Binding.Instance):
// "transport:host:port", an address the other instances reach it at (see
// instanceID). A phone registered over a connection-oriented transport
// (tcp, tls, ws, wss) can only be reached over the connection it opened, so
// an instance B that routes a call to such a binding held by another
// instance A sends the INVITE to A with a top Route
//
//	<sip:A-host:A-port;transport=udp;lr;sb-flow=TOKEN>
//
// where TOKEN (auth.SignFlow) is signed with the secret the instances share
// (Config.NonceSecret) and names the AOR, the binding's source and
// transport, the Call-ID and an expiry. A verifies the token, checks that
// it still holds that flow (the binding exists with A as its instance and,
// best effort, the connection is open) and forks the call statefully to it,
// skipping classification and authentication (B did both). A record-routes
// and tracks the dialog like any call, so ACK, BYE and re-INVITEs flow
// caller → B → A → phone and back; in-dialog requests are never routed by
// a token, only by a dialog the instance set up. Without a shared secret
// (no Redis) nothing is relayed and no token is accepted.

// flowParam is the Route URI parameter carrying the flow token.
const flowParam = "sb-flow"

// flowTokenTTL is how long a flow token is accepted: it is minted for one
// INVITE sent at once, so it only has to outlive clock skew between
// instances and the INVITE's own retransmissions.
const flowTokenTTL = time.Minute

// relayKind labels the relayed leg in calls_total and the CDR of the
// instance that holds the flow.
const relayKind = "relay"

// instanceAddr is where another instance takes relayed calls.
type instanceAddr struct {
	transport string // udp or tcp
	host      string
	port      int
}

func (a instanceAddr) hostPort() string { return net.JoinHostPort(a.host, strconv.Itoa(a.port)) }

// parseInstance reads an instance id, "udp:10.0.0.5:5060" or
// "tcp:[2001:db8::5]:5060". Ids of older versions (a host name) and
// unspecified addresses are not routable and give false.
func parseInstance(id string) (instanceAddr, bool) {
	tp, hp, ok := strings.Cut(id, ":")
	if !ok || (tp != "udp" && tp != "tcp") {
		return instanceAddr{}, false
	}
	host, port, err := net.SplitHostPort(hp)
	if err != nil || host == "" {
		return instanceAddr{}, false
	}
	p, err := strconv.Atoi(port)
	if err != nil || p <= 0 || p > 65535 {
		return instanceAddr{}, false
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		return instanceAddr{}, false
	}
	return instanceAddr{transport: tp, host: host, port: p}, true
}

// instanceID is this instance's identity once the sockets are bound:
// Config.Instance when set, else the first UDP or TCP listener's transport and
// address when it is a specific IP (the address other instances reach it
// at), else the advertised address with the first listener's transport
// (and its port when the advertised one has none). "" when neither is
// routable (listening on 0.0.0.0 with no advertise): phones registered here
// over TCP are then not reachable through other instances.
func (s *Server) instanceID() string {
	if s.cfg.Instance != "" {
		return s.cfg.Instance
	}
	// Instances relay to each other over udp or tcp only: the first of
	// those listeners names this one (a tls:// or ws:// listener first in
	// the list is skipped).
	i := slices.IndexFunc(s.bound, func(b boundAddr) bool { return b.network == "udp" || b.network == "tcp" })
	if i < 0 {
		return ""
	}
	first := s.bound[i]
	id := first.network + ":" + net.JoinHostPort(first.host, strconv.Itoa(first.port))
	if _, ok := parseInstance(id); ok {
		return id
	}
	if s.cfg.Advertise == "" {
		return ""
	}
	host, port := s.cfg.Advertise, first.port
	if h, p, err := net.SplitHostPort(s.cfg.Advertise); err == nil {
		host = h
		if n, err := strconv.Atoi(p); err == nil {
			port = n
		}
	}
	id = first.network + ":" + net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port))
	if _, ok := parseInstance(id); !ok {
		return ""
	}
	return id
}

// Instance is the id stored with the bindings this instance holds.
func (s *Server) Instance() string { return s.instance }

// connectionOriented reports a transport whose flow only the instance
// holding the connection can use.
func connectionOriented(transport string) bool {
	switch strings.ToLower(transport) {
	case "tcp", "tls", "ws", "wss":
		return true
	}
	return false
}

// relayRoute returns where to send a call for a binding held by another
// instance over a connection-oriented transport, and the Route naming it
// with a flow token; false when the binding is reached directly.
func (s *Server) relayRoute(b location.Binding, callID string) (instanceAddr, *sip.RouteHeader, bool) {
	if len(s.cfg.NonceSecret) < auth.MinSecretLen || b.Instance == "" || b.Instance == s.instance ||
		!connectionOriented(b.Transport) {
		return instanceAddr{}, nil, false
	}
	in, ok := parseInstance(b.Instance)
	if !ok {
		return instanceAddr{}, nil, false
	}
	exp := time.Now().Add(flowTokenTTL)
	if b.Expires.Before(exp) {
		exp = b.Expires
	}
	tok := auth.SignFlow(s.cfg.NonceSecret, auth.Flow{AOR: b.AOR, Source: b.Source,
		Transport: strings.ToLower(b.Transport), CallID: callID, Expires: exp})
	route := &sip.RouteHeader{Address: sip.Uri{Scheme: "sip", Host: in.host, Port: in.port,
		UriParams: sip.HeaderParams{{K: "transport", V: in.transport}, {K: "lr", V: ""}, {K: flowParam, V: tok}}}}
	return in, route, true
}

// ring forks the call to one registered contact: directly, or through the
// instance holding its flow.
func (c *call) ring(ct routing.Contact) {
	n := len(c.branches)
	defer func() {
		if len(c.branches) > n {
			c.branches[n].aor = ct.AOR // whose lamp this branch lights (blf.go)
		}
	}()
	b := ct.Binding
	if in, route, ok := c.s.relayRoute(b, c.req.CallID().Value()); ok {
		c.fork(b.Contact, in.hostPort(), in.transport, ct.AOR+" via "+b.Instance, func(r *sip.Request) {
			r.PrependHeader(route)
		})
		if len(c.branches) > n {
			c.branches[n].relayed = &b
		}
		return
	}
	c.fork(b.Contact, b.Source, b.Transport, ct.AOR, nil)
}

// flowToken returns the flow token of an initial request's top Route when
// that Route names this instance.
func (s *Server) flowToken(req *sip.Request) (string, bool) {
	if header(req, "Route") == nil {
		// sipgo's Route() allocates a header each time there is none.
		return "", false
	}
	rh := req.Route()
	if rh == nil || !s.isOwnURI(rh.Address) {
		return "", false
	}
	return rh.Address.UriParams.Get(flowParam)
}

// relayed reports whether req is an INVITE another instance relays to a flow
// this one holds. A draining instance still takes them: the phone behind
// the flow can only be reached through it until it closes the flow (the
// token is verified in relayInvite).
func (s *Server) relayed(req *sip.Request) bool {
	if req.Method != sip.INVITE {
		return false
	}
	_, ok := s.flowToken(req)
	return ok
}

// relayInvite handles an INVITE another instance relays to a flow this one
// holds: 403 unless the token verifies for this Call-ID, 430 Flow Failed
// unless the flow is still held (and open) here, else the call is forked to
// that one binding.
func (s *Server) relayInvite(req *sip.Request, tx sip.ServerTransaction, token string) {
	f, err := auth.VerifyFlow(s.cfg.NonceSecret, token, time.Now())
	if err == nil && f.CallID != req.CallID().Value() {
		err = auth.ErrFlowToken
	}
	if err != nil {
		reason := "bad_flow_token"
		if errors.Is(err, auth.ErrFlowExpired) {
			reason = "expired_flow_token"
		}
		s.metrics.authFailures.WithLabelValues(reason).Inc()
		s.log.Info("relayed INVITE refused", "source", req.Source(), "call_id", req.CallID().Value(), "reason", reason)
		s.reply(tx, req, 403, "Forbidden")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	bs, err := s.loc.Lookup(ctx, f.AOR)
	cancel()
	if err != nil {
		s.storeError(tx, req, "location_lookup", err)
		return
	}
	i := slices.IndexFunc(bs, func(b location.Binding) bool {
		return b.Source == f.Source && strings.EqualFold(b.Transport, f.Transport) && b.Instance == s.instance
	})
	k := keyOf(f.Transport, f.Source)
	if i < 0 || !s.flowLive(bs[i]) || !s.flowUse.take(k) {
		// 430 (RFC 5626 §5.3): the relaying instance reroutes to where
		// the phone registers next (a drain closed the flow, drain.go).
		s.log.Info("relayed INVITE for a flow not held here", "source", req.Source(), "aor", f.AOR,
			"flow", f.Transport+":"+f.Source, "call_id", req.CallID().Value())
		s.reply(tx, req, 430, "Flow Failed")
		return
	}
	defer s.flowUse.release(k)
	b := bs[i]
	s.reply(tx, req, 100, "Trying")
	view := &dialplan.View{Tenant: &dialplan.Tenant{Domain: b.Tenant}}
	caller := routing.Call{Dialled: req.Recipient.User,
		Caller: routing.Caller{Number: req.From().Address.User, Name: req.From().DisplayName}}
	plan := routing.Plan{Kind: relayKind, Steps: []routing.Step{
		routing.Ring{Contacts: []routing.Contact{{AOR: f.AOR, Binding: b}}}}}
	newCall(s, req, tx, view, caller, plan).run()
}

// flowLive reports, best effort, whether the connection of a binding is
// still open here (for UDP there is nothing to check).
func (s *Server) flowLive(b location.Binding) bool {
	if !connectionOriented(b.Transport) {
		return true
	}
	pool := s.ua.TransportLayer().Pool(b.Transport)
	if pool == nil {
		return false
	}
	c := pool.Get(b.Source)
	if c == nil {
		return false
	}
	c.Ref(-1) // Get took a reference
	return true
}
