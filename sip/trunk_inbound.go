package sip

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/resolve"
)

// didOf is the number an inbound carrier call was dialled to, read where the
// trunk puts it (config did_from): the Request-URI user (default; a carrier
// we register to sends to our Contact, so its number is elsewhere), the To
// user, P-Called-Party-ID (RFC 3455), or the first Diversion entry (the
// number that forwarded to us). Falls back to the Request-URI when the
// header is missing.
func didOf(req *sip.Request, source string) string {
	switch source {
	case "to":
		if to := req.To(); to != nil && to.Address.User != "" {
			return to.Address.User
		}
	case "p-called-party-id", "diversion":
		name := "P-Called-Party-ID"
		if source == "diversion" {
			name = "Diversion"
		}
		if h := req.GetHeader(name); h != nil {
			var u sip.Uri
			if v := firstNameAddr(h.Value()); v != "" && sip.ParseUri(v, &u) == nil && u.User != "" {
				return u.User
			}
		}
	}
	return req.Recipient.User
}

// firstNameAddr extracts the URI of the first name-addr in a header value
// (`"Name" <sip:+1415@host>;reason=x, <…>` → `sip:+1415@host`).
func firstNameAddr(v string) string {
	start := -1
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '<':
			start = i + 1
		case '>':
			if start >= 0 {
				return v[start:i]
			}
		}
	}
	return ""
}

// defaultResolver is used when the server was given none: /etc/resolv.conf,
// or, where that cannot be read, addresses that are IP literals only.
func defaultResolver(log *slog.Logger) Resolver {
	r, err := resolve.New(resolve.Config{})
	if err != nil {
		log.Warn("no DNS resolver: trunk addresses must be IP addresses", "error", err)
		return literalResolver{}
	}
	return r
}

// literalResolver resolves IP literals only.
type literalResolver struct{}

func (literalResolver) Resolve(_ context.Context, address, transport string) ([]resolve.Target, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		host, port = address, "5060"
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return nil, fmt.Errorf("resolve %s: no DNS resolver", address)
	}
	if transport == "" {
		transport = "udp"
	}
	return []resolve.Target{{Addr: net.JoinHostPort(host, port), Transport: transport}}, nil
}
