package sip

import (
	"net"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// uriString is sip.Uri.String, written in one allocation. sipgo's builds
// the string in a growing builder and, to decide whether the host needs
// brackets, runs net.ParseIP over every host, which allocates an error
// for a domain name: five or six allocations per URI, and REGISTER turns
// two URIs (the Request-URI for the digest check and the Contact for the
// binding) into strings. The output is sipgo's, byte for byte
// (TestURIStringMatchesSipgo).
func uriString(u *sip.Uri) string {
	scheme := u.Scheme
	if scheme == "" {
		scheme = "sip" // as sipgo: no scheme prints as sip
	}
	var b strings.Builder
	if raw := u.Raw(); raw != "" {
		b.Grow(len(scheme) + 1 + len(raw))
		b.WriteString(scheme)
		b.WriteByte(':')
		b.WriteString(raw)
		return b.String()
	}
	host := u.Host
	bracket := ipv6Host(host)
	b.Grow(len(scheme) + len(u.User) + len(u.Password) + len(host) + 16 + paramsLen(u.UriParams) + paramsLen(u.Headers))
	b.WriteString(scheme)
	b.WriteByte(':')
	if u.HierarhicalSlashes {
		b.WriteString("//")
	}
	if u.User != "" {
		b.WriteString(u.User)
		if u.Password != "" {
			b.WriteByte(':')
			b.WriteString(u.Password)
		}
		b.WriteByte('@')
	}
	if bracket {
		b.WriteByte('[')
	}
	b.WriteString(host)
	if bracket {
		b.WriteByte(']')
	}
	if u.Port > 0 {
		b.WriteByte(':')
		var num [20]byte
		b.Write(strconv.AppendInt(num[:0], int64(u.Port), 10))
	}
	if u.UriParams.Length() > 0 {
		b.WriteByte(';')
		u.UriParams.ToStringWrite(';', &b)
	}
	if u.Headers.Length() > 0 {
		b.WriteByte('?')
		u.Headers.ToStringWrite('&', &b)
	}
	return b.String()
}

// ipv6Host is sipgo's test for a host printed in brackets: it parses as an
// IP that is not IPv4. Only a host with a colon can be one, so names and
// IPv4 addresses skip the parse.
func ipv6Host(host string) bool {
	if !strings.Contains(host, ":") {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.To4() == nil
}

// paramsLen is about what ToStringWrite writes for p.
func paramsLen(p sip.HeaderParams) int {
	n := 0
	for _, kv := range p {
		n += len(kv.K) + len(kv.V) + 4
	}
	return n
}
