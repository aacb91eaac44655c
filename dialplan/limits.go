package dialplan

import (
	"fmt"
	"regexp"
)

// Limits are a tenant's toll-fraud limits (directory key tenants[].limits).
// The zero value — also what a tenant without the key gets — limits no
// count but refuses international destinations.
type Limits struct {
	// ConcurrentCalls bounds the tenant's calls through a trunk at once,
	// inbound and outbound; 0 = no limit.
	ConcurrentCalls int `yaml:"concurrent_calls,omitempty" json:"concurrent_calls,omitempty"`
	// OutboundPerMinute bounds each user's new outbound calls per minute,
	// forwards included; 0 = no limit.
	OutboundPerMinute int `yaml:"outbound_per_minute,omitempty" json:"outbound_per_minute,omitempty"`
	// International allows destinations outside the tenant's country code.
	International bool `yaml:"international,omitempty" json:"international,omitempty"`
	// AllowCountries are country calling codes (digits) allowed even when
	// International is false.
	AllowCountries []string `yaml:"allow_countries,omitempty" json:"allow_countries,omitempty"`
	// DenyPrefixes are E.164 prefixes ("+1900") never called.
	DenyPrefixes []string `yaml:"deny_prefixes,omitempty" json:"deny_prefixes,omitempty"`
}

// LimitsOf returns t's limits, the defaults when it sets none.
func LimitsOf(t *Tenant) Limits {
	if t == nil || t.Limits == nil {
		return Limits{}
	}
	return *t.Limits
}

var (
	countryCodePattern = regexp.MustCompile(`^[1-9][0-9]{0,2}$`)
	prefixPattern      = regexp.MustCompile(`^\+[0-9]{1,15}$`)
)

func (c *checker) limits(t *Tenant, tp string) {
	l := t.Limits
	if l == nil {
		return
	}
	at := pos{t, "limits", ""}
	if l.ConcurrentCalls < 0 {
		c.add(at, tp+".limits.concurrent_calls", "must not be negative (0 = no limit), got %d", l.ConcurrentCalls)
	}
	if l.OutboundPerMinute < 0 {
		c.add(at, tp+".limits.outbound_per_minute", "must not be negative (0 = no limit), got %d", l.OutboundPerMinute)
	}
	for i, cc := range l.AllowCountries {
		if !countryCodePattern.MatchString(cc) {
			c.add(at, fmt.Sprintf("%s.limits.allow_countries[%d]", tp, i), "%q: want a country calling code, 1-3 digits without + (e.g. 44)", cc)
		}
	}
	for i, p := range l.DenyPrefixes {
		if !prefixPattern.MatchString(p) {
			c.add(at, fmt.Sprintf("%s.limits.deny_prefixes[%d]", tp, i), "%q: want + and digits (e.g. +1900)", p)
		}
	}
}
