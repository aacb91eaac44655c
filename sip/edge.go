package sip

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/security"
	"github.com/switchboard/switchboard/sip/auth"
)

// Guard is what the server asks the security engine (security.Guard): on
// every read before parsing, and around digest checks.
type Guard interface {
	Inbound(src netip.Addr, data []byte) security.Verdict
	UserBanned(src netip.Addr, user string) bool
	UserBans() bool // whether any (source, username) ban is in force
	AuthFailed(ctx context.Context, src netip.Addr, user string)
}

// errDropped closes a stream connection whose source is dropped: a TCP,
// TLS or WebSocket stream cannot lose a chunk and stay framed.
var errDropped = errors.New("source dropped by the security guard")

// readFilter runs on sipgo's transport read path before anything is parsed.
// The ban and flood check must stay its first step, so a banned source costs
// an address conversion and a map lookup. A dropped datagram is discarded
// silently; a dropped stream chunk closes the connection (an error from a
// UDP read filter would stop the listener, so UDP never returns one).
// Datagrams that pass and that switchboard answers without a transaction
// (REGISTER, OPTIONS) are taken by the stateless fast path (stateless.go).
func (s *Server) readFilter(info sip.TransportReadProps, data []byte) ([]byte, error) {
	if g := s.cfg.Guard; g != nil && g.Inbound(addrIP(info.RemoteAddr), data) != security.Pass {
		if info.Transport == "udp" || info.Transport == "UDP" {
			return nil, nil
		}
		return nil, errDropped
	}
	if (info.Transport == "udp" || info.Transport == "UDP") && s.overload.shed(data) {
		return nil, nil // overload.go
	}
	if s.stunKeepalive(info, data) {
		return nil, nil // RFC 5626 UDP keepalive (stun.go)
	}
	if s.stateless(info, data) {
		return nil, nil
	}
	return data, nil
}

// addrIP returns the IP of a socket address without allocating for the
// UDP and TCP cases.
func addrIP(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case nil:
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// sourceIP is the IP a request came from.
func sourceIP(req *sip.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// bannedUser returns the hook Verify asks, right after parsing the
// credentials, whether their username is banned from the request's source:
// such a request is refused 403 without its digest being checked, even when
// it is right. The username is taken as written, not resolved to a user:
// resolving would let a scanner learn from a shared ban that two names are
// one account. nil without a guard.
func (s *Server) bannedUser(req *sip.Request) func(string) bool {
	g := s.cfg.Guard
	if g == nil || !g.UserBans() {
		return nil // the common case costs no closure
	}
	return func(u string) bool { return g.UserBanned(sourceIP(req), u) }
}

// countAuthFailure reports a wrong digest to the guard. Only wrong passwords
// and unknown usernames count: a stale nonce or a replay is a phone's
// ordinary mistake, not a guess.
func (s *Server) countAuthFailure(req *sip.Request, header string, err error) {
	g := s.cfg.Guard
	if g == nil || !(errors.Is(err, auth.ErrWrongPassword) || errors.Is(err, auth.ErrUnknownUser)) {
		return
	}
	u := auth.Username(header)
	if u == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	g.AuthFailed(ctx, sourceIP(req), u)
}
