package routing

import (
	"strings"

	"github.com/switchboard/switchboard/dialplan"
)

// Limit names, as the 403's Reason text ("limit: <name>") and the
// calls_refused_total label carry them.
const (
	LimitConcurrentCalls   = "concurrent_calls"
	LimitOutboundPerMinute = "outbound_per_minute"
	LimitInternational     = "international"
	LimitDeniedPrefix      = "denied_prefix"
)

// IsEmergency reports whether number is an emergency short code; such calls
// are never limited.
func IsEmergency(number string) bool {
	for _, c := range emergencyCodes {
		if number == c {
			return true
		}
	}
	return false
}

// CheckDestination returns the limit a call to number (E.164, or an
// emergency short code) breaks for a tenant whose country calling code is
// countryCode ("" = DefaultCountryCode), or "" when it may be placed.
// Denied prefixes win over everything but emergency numbers; a destination
// outside the tenant's country needs International or its country code in
// AllowCountries.
func CheckDestination(l dialplan.Limits, countryCode, number string) string {
	if IsEmergency(number) {
		return ""
	}
	for _, p := range l.DenyPrefixes {
		if strings.HasPrefix(number, p) {
			return LimitDeniedPrefix
		}
	}
	if l.International {
		return ""
	}
	if countryCode == "" {
		countryCode = DefaultCountryCode
	}
	if strings.HasPrefix(number, "+"+countryCode) {
		return ""
	}
	for _, cc := range l.AllowCountries {
		if strings.HasPrefix(number, "+"+cc) {
			return ""
		}
	}
	return LimitInternational
}
