package security

import "bytes"

// userAgent returns the value of the first User-Agent header in the raw
// message, or nil. It looks for the name at a line start, spelt canonically
// or in lower case (what scanners and phones send), with vectorised searches
// keyed on the rare first letter rather than a walk over every line: this
// runs on every datagram. A body line that looks like a User-Agent header
// counts too; a message is only dropped for it. User-Agent has no compact
// form (RFC 3261 §20.41).
func userAgent(data []byte) []byte {
	v := headerAt(data, "User-Agent")
	if v == nil {
		v = headerAt(data, "user-agent")
	}
	return v
}

// headerAt returns the value of the first line starting with name and a
// colon (after optional blanks), or nil.
func headerAt(data []byte, name string) []byte {
	for off := 0; off < len(data); {
		i := bytes.Index(data[off:], []byte(name))
		if i < 0 {
			return nil
		}
		i += off
		off = i + len(name)
		if i == 0 || data[i-1] != '\n' {
			continue
		}
		rest := data[off:]
		if nl := bytes.IndexByte(rest, '\n'); nl >= 0 {
			rest = rest[:nl]
		}
		rest = bytes.TrimLeft(rest, " \t")
		if len(rest) > 0 && rest[0] == ':' {
			return bytes.TrimSpace(rest[1:])
		}
	}
	return nil
}

// matchScanner reports whether ua contains one of the lower-cased
// substrings, ignoring case.
func matchScanner(ua []byte, lower [][]byte) bool {
	if len(ua) == 0 {
		return false
	}
	var buf [256]byte
	n := copy(buf[:], ua)
	low := buf[:n]
	for i, c := range low {
		if 'A' <= c && c <= 'Z' {
			low[i] = c + 'a' - 'A'
		}
	}
	for _, s := range lower {
		if bytes.Contains(low, s) {
			return true
		}
	}
	return false
}
