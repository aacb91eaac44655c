package auth

import "strings"

// credentials are the parameters of a Digest Authorization value that
// verification uses. Values are substrings of the header unless they were
// quoted with backslash escapes, so parsing does not allocate in practice.
type credentials struct {
	username, realm, nonce, uri, response string
	algorithm, cnonce, qop, nc, opaque    string
}

// maxHeaderLen bounds the header value we parse; real ones are a few hundred
// bytes and anything far larger is an attack or a bug.
const maxHeaderLen = 4 << 10

// parseCredentials parses `Digest k=v, k="v", …` (RFC 7616 §3.4, RFC 3261
// §25.1): the scheme and parameter names are case-insensitive, whitespace
// around '=' and ',' is optional, values may be quoted or not, in any order.
// It is strict where leniency would let two readings of one header disagree
// (a known parameter twice, text after a value) and lenient about unquoted
// values, which some phones send for uri and nonce. Unknown parameters are
// ignored. Any error is ErrMalformed.
func parseCredentials(h string) (credentials, error) {
	var c credentials
	if len(h) > maxHeaderLen {
		return c, ErrMalformed
	}
	s := trimLWS(h)
	if len(s) < len("Digest") || !strings.EqualFold(s[:len("Digest")], "Digest") {
		return c, ErrMalformed
	}
	rest := trimLWS(s[len("Digest"):])
	if len(rest) == len(s)-len("Digest") || rest == "" {
		return c, ErrMalformed // no space after the scheme, or no parameters
	}
	s = rest
	for {
		s = trimLWS(s)
		if s == "" {
			break
		}
		if s[0] == ',' { // empty list elements are allowed (RFC 9110 §5.6.1)
			s = s[1:]
			continue
		}
		i := 0
		for i < len(s) && isTokenChar(s[i]) {
			i++
		}
		if i == 0 {
			return c, ErrMalformed
		}
		key := s[:i]
		s = trimLWS(s[i:])
		if s == "" || s[0] != '=' {
			return c, ErrMalformed
		}
		s = trimLWS(s[1:])
		var val string
		var ok bool
		if val, s, ok = parseValue(s); !ok {
			return c, ErrMalformed
		}
		if dst := c.field(key); dst != nil {
			if *dst != "" {
				return c, ErrMalformed
			}
			*dst = val
		}
		s = trimLWS(s)
		if s != "" && s[0] != ',' {
			return c, ErrMalformed
		}
	}
	if c.username == "" || c.realm == "" || c.nonce == "" || c.uri == "" || c.response == "" {
		return c, ErrMalformed
	}
	return c, nil
}

// field returns where the value of parameter key goes, nil for parameters we
// do not use.
func (c *credentials) field(key string) *string {
	switch {
	case strings.EqualFold(key, "username"):
		return &c.username
	case strings.EqualFold(key, "realm"):
		return &c.realm
	case strings.EqualFold(key, "nonce"):
		return &c.nonce
	case strings.EqualFold(key, "uri"):
		return &c.uri
	case strings.EqualFold(key, "response"):
		return &c.response
	case strings.EqualFold(key, "algorithm"):
		return &c.algorithm
	case strings.EqualFold(key, "cnonce"):
		return &c.cnonce
	case strings.EqualFold(key, "qop"):
		return &c.qop
	case strings.EqualFold(key, "nc"):
		return &c.nc
	case strings.EqualFold(key, "opaque"):
		return &c.opaque
	}
	return nil
}

// parseValue reads a quoted-string or an unquoted value from the start of s
// and returns it with the rest of s. An unquoted value runs to the next
// comma or whitespace and may not be empty.
func parseValue(s string) (val, rest string, ok bool) {
	if s == "" {
		return "", "", false
	}
	if s[0] != '"' {
		i := 0
		for i < len(s) && s[i] != ',' && s[i] != ' ' && s[i] != '\t' {
			if s[i] < 0x21 || s[i] == 0x7f || s[i] == '"' {
				return "", "", false
			}
			i++
		}
		return s[:i], s[i:], i > 0
	}
	escaped := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			escaped = true
			i++ // the next byte is taken literally
			if i < len(s) && isCtl(s[i]) {
				return "", "", false
			}
		case c == '"':
			if !escaped {
				return s[1:i], s[i+1:], true
			}
			return unescape(s[1:i]), s[i+1:], true
		case isCtl(c):
			return "", "", false
		}
	}
	return "", "", false // no closing quote
}

// unescape removes quoted-pair backslashes from the inside of a quoted-string.
func unescape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isCtl reports control characters other than HTAB, which may not appear in
// a quoted-string.
func isCtl(c byte) bool { return (c < 0x20 && c != '\t') || c == 0x7f }

// isTokenChar reports RFC 3261 token characters.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-.!%*_+`'~", c) >= 0
}

// trimLWS trims leading spaces and tabs. Line folds were unfolded by the SIP
// parser, so CR and LF are not whitespace here but malformed input.
func trimLWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}
