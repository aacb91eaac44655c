package location

import (
	"strconv"
	"strings"
)

// RFC 5626 outbound: a phone that sends +sip.instance and reg-id on its
// Contact registers one binding per flow, and the binding's identity is
// (AOR, instance, reg-id) rather than the Contact URI (§6). Two flows of one
// phone usually carry the same Contact URI, so a store that keys bindings by
// contact alone would merge them: every store keys them by Key instead.

// keySep cannot occur in a Contact URI (RFC 3261 grammar has no control
// characters), so a key splits back into its contact unambiguously.
const keySep = "\x00"

// Outbound reports whether the binding is an RFC 5626 flow binding.
func (b *Binding) Outbound() bool { return b.RegID != 0 && b.SIPInstance != "" }

// Key is the binding's identity within its AOR: the Contact URI, or for an
// outbound binding the Contact URI with its instance and reg-id.
func (b *Binding) Key() string {
	if !b.Outbound() {
		return b.Contact
	}
	return b.Contact + keySep + b.SIPInstance + keySep + strconv.FormatUint(uint64(b.RegID), 10)
}

// contactOfKey returns the Contact URI a Key was made from.
func contactOfKey(key string) string {
	c, _, _ := strings.Cut(key, keySep)
	return c
}
