package sip

import (
	"strconv"
	"strings"
)

// isOwnAddr reports whether host and port (0 = 5060) are one of our
// listening addresses, as net.JoinHostPort would spell them. The key is
// built in a stack buffer: the Via and Route checks run several times for
// every request and net.JoinHostPort+strconv.Itoa cost two allocations
// each time.
func (s *Server) isOwnAddr(host string, port int) bool {
	if port == 0 {
		port = 5060
	}
	var buf [64]byte
	b := buf[:0]
	if strings.IndexByte(host, ':') >= 0 {
		b = append(b, '[')
		b = append(b, host...)
		b = append(b, ']')
	} else {
		b = append(b, host...)
	}
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(port), 10)
	return s.ownAddrs[string(b)] // no allocation: a map index by a []byte conversion
}
