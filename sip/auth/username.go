package auth

// Username returns the username of a Digest Authorization or
// Proxy-Authorization value, or "" when the value does not parse. Ban
// checks use it to refuse a banned (source, username) pair before any
// digest is computed.
func Username(header string) string {
	c, err := parseCredentials(header)
	if err != nil {
		return ""
	}
	return c.username
}
