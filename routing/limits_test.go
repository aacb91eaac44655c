package routing

import (
	"testing"

	"github.com/switchboard/switchboard/dialplan"
)

func TestCheckDestination(t *testing.T) {
	premium := dialplan.Limits{DenyPrefixes: []string{"+1900", "+1976"}}
	uk := dialplan.Limits{AllowCountries: []string{"44"}}
	tests := []struct {
		name    string
		limits  dialplan.Limits
		country string
		number  string
		want    string
	}{
		{"domestic NANP", dialplan.Limits{}, "", "+14085551234", ""},
		{"international by default", dialplan.Limits{}, "", "+442079460000", LimitInternational},
		{"international allowed", dialplan.Limits{International: true}, "", "+442079460000", ""},
		{"allowed country", uk, "", "+442079460000", ""},
		{"another country", uk, "", "+33142685300", LimitInternational},
		{"premium prefix", premium, "", "+19005551234", LimitDeniedPrefix},
		{"premium even with international", dialplan.Limits{International: true, DenyPrefixes: []string{"+1900"}}, "", "+19005550000", LimitDeniedPrefix},
		{"emergency is never limited", dialplan.Limits{DenyPrefixes: []string{"+9", "9"}}, "", "911", ""},
		{"emergency 112 abroad", dialplan.Limits{}, "44", "112", ""},
		{"tenant country 44", dialplan.Limits{}, "44", "+442079460000", ""},
		{"tenant country 44 calling NANP", dialplan.Limits{}, "44", "+14085551234", LimitInternational},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CheckDestination(tc.limits, tc.country, tc.number); got != tc.want {
				t.Errorf("CheckDestination(%+v, %q, %q) = %q, want %q", tc.limits, tc.country, tc.number, got, tc.want)
			}
		})
	}
}
