package auth

import "strings"

// uriMatch reports whether the digest-uri from the credentials names the
// Request-URI. Phones normally copy it verbatim; when they do not, both are
// compared as SIP URIs: scheme and host case-insensitively, user exactly (it
// is case-sensitive, RFC 3261 §19.1.4), port exactly (an absent port does not
// equal an explicit 5060, as in §19.1.4). Parameters and headers are ignored:
// what the check guards against is credentials lifted from a request for one
// target and replayed against another, and the target is user@host:port.
func uriMatch(digestURI, requestURI string) bool {
	if digestURI == requestURI {
		return true
	}
	a, ok := parseSIPURI(digestURI)
	if !ok {
		return false
	}
	b, ok := parseSIPURI(requestURI)
	if !ok {
		return false
	}
	return strings.EqualFold(a.scheme, b.scheme) && a.user == b.user &&
		strings.EqualFold(a.host, b.host) && a.port == b.port
}

type sipURI struct {
	scheme, user, host string
	port               int // 0 when absent
}

// parseSIPURI splits a sip: or sips: URI into the parts uriMatch compares.
func parseSIPURI(s string) (sipURI, bool) {
	var u sipURI
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || !(strings.EqualFold(scheme, "sip") || strings.EqualFold(scheme, "sips")) {
		return u, false
	}
	u.scheme = scheme
	rest, _, _ = strings.Cut(rest, "?") // headers
	// '@' cannot appear unescaped in the user, password, parameters or
	// headers, so the first one ends the userinfo.
	if userinfo, hostport, ok := strings.Cut(rest, "@"); ok {
		u.user, _, _ = strings.Cut(userinfo, ":") // drop a password
		if u.user == "" {
			return u, false
		}
		rest = hostport
	}
	hostport, _, _ := strings.Cut(rest, ";") // parameters
	var port string
	if strings.HasPrefix(hostport, "[") { // IPv6 reference
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return u, false
		}
		u.host, port = hostport[:end+1], hostport[end+1:]
		if port != "" {
			if port[0] != ':' {
				return u, false
			}
			port = port[1:]
			if port == "" {
				return u, false
			}
		}
	} else {
		var hasPort bool
		u.host, port, hasPort = strings.Cut(hostport, ":")
		if hasPort && port == "" {
			return u, false
		}
	}
	if u.host == "" || len(u.host) == 2 && u.host == "[]" {
		return u, false
	}
	if port != "" {
		if len(port) > 5 {
			return u, false
		}
		for i := 0; i < len(port); i++ {
			if port[i] < '0' || port[i] > '9' {
				return u, false
			}
			u.port = u.port*10 + int(port[i]-'0')
		}
		if u.port == 0 || u.port > 65535 {
			return u, false
		}
	}
	return u, true
}
