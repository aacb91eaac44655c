package security

import "bytes"

// userAgent returns the value of the first User-Agent header in the raw
// message head, or nil. It looks only at line starts up to the blank line
// that ends the headers, so a body mentioning a scanner changes nothing.
// User-Agent has no compact form (RFC 3261 §20.41).
func userAgent(data []byte) []byte {
	const name = "user-agent"
	for len(data) > 0 {
		nl := bytes.IndexByte(data, '\n')
		line := data
		if nl >= 0 {
			line, data = data[:nl], data[nl+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			return nil // end of headers
		}
		if len(line) > len(name) && (line[0] == 'U' || line[0] == 'u') && bytes.EqualFold(line[:len(name)], []byte(name)) {
			rest := bytes.TrimLeft(line[len(name):], " \t")
			if len(rest) > 0 && rest[0] == ':' {
				return bytes.TrimSpace(rest[1:])
			}
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
