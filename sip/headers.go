package sip

import (
	"github.com/emiago/sipgo/sip"
)

// headerer is a SIP message's header list.
type headerer interface{ Headers() []sip.Header }

// nameIs reports whether header name a is b, ignoring ASCII case. Header
// names are tokens (RFC 3261 §25.1), ASCII only, as sipgo's own lookups
// treat them; unlike strings.EqualFold this rejects a name of another
// length at once, which is most of the names a lookup walks past (check
// alone makes a dozen lookups over every header of every request).
func nameIs(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// header returns the first header called name (any case), or nil.
//
// sipgo's GetHeader lowers the name of every header it walks past unless it
// is one of a dozen it knows, which allocates one string per header per
// lookup (≈30 allocations per REGISTER); nameIs allocates nothing.
func header(m headerer, name string) sip.Header {
	for _, h := range m.Headers() {
		if nameIs(h.Name(), name) {
			return h
		}
	}
	return nil
}

// headerList returns every header called name (any case), in order; nil
// when there is none.
func headerList(m headerer, name string) []sip.Header {
	var out []sip.Header
	for _, h := range m.Headers() {
		if nameIs(h.Name(), name) {
			out = append(out, h)
		}
	}
	return out
}

// appendHeaders appends every header called name (any case) to out, in
// order. Given a small array's slice, as the REGISTER path does, the usual
// one or two headers cost no allocation, where headerList makes a slice.
func appendHeaders(out []sip.Header, m headerer, name string) []sip.Header {
	for _, h := range m.Headers() {
		if nameIs(h.Name(), name) {
			out = append(out, h)
		}
	}
	return out
}

// headerCount returns how many headers are called name (any case).
func headerCount(m headerer, name string) int {
	n := 0
	for _, h := range m.Headers() {
		if nameIs(h.Name(), name) {
			n++
		}
	}
	return n
}
