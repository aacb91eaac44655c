package config

import (
	"fmt"
	"strings"
	"time"
)

// SecurityConfig configures bans and drops at the SIP edge (package
// security). Bans are shared through Redis when store.redis is set.
type SecurityConfig struct {
	// Window is how long digest failures are counted.
	Window time.Duration `yaml:"window"`
	// Ban is how long a ban lasts.
	Ban time.Duration `yaml:"ban"`
	// AuthFailuresPerUser wrong digests for one username from one source IP
	// within window ban that pair (403 without a digest check); 0 = off.
	AuthFailuresPerUser int `yaml:"auth_failures_per_user"`
	// AuthFailureUsersPerIP distinct failing usernames from one source IP
	// within window ban the IP (dropped silently); 0 = off.
	AuthFailureUsersPerIP int `yaml:"auth_failure_users_per_ip"`
	// RequestsPerSecond is each source IP's budget, bursts up to twice it;
	// trunks' inbound_from are exempt; 0 = off.
	RequestsPerSecond int `yaml:"requests_per_second"`
	// Scanners are User-Agent substrings (case-insensitive) dropped
	// unanswered.
	Scanners []string `yaml:"scanners"`
}

func defaultSecurity() SecurityConfig {
	return SecurityConfig{
		Window:                60 * time.Second,
		Ban:                   15 * time.Minute,
		AuthFailuresPerUser:   5,
		AuthFailureUsersPerIP: 10,
		RequestsPerSecond:     200,
		Scanners:              []string{"friendly-scanner", "sipvicious", "sipcli", "VaxSIPUserAgent", "pplsip"},
	}
}

func (v *validator) security() {
	s := v.c.Security
	if s.Window < time.Second {
		v.add("security.window", "must be at least 1s, got %s", s.Window)
	}
	if s.Ban < time.Second {
		v.add("security.ban", "must be at least 1s, got %s", s.Ban)
	}
	if s.AuthFailuresPerUser < 0 {
		v.add("security.auth_failures_per_user", "must not be negative (0 = off), got %d", s.AuthFailuresPerUser)
	}
	if s.AuthFailureUsersPerIP < 0 {
		v.add("security.auth_failure_users_per_ip", "must not be negative (0 = off), got %d", s.AuthFailureUsersPerIP)
	}
	if s.RequestsPerSecond < 0 {
		v.add("security.requests_per_second", "must not be negative (0 = off), got %d", s.RequestsPerSecond)
	}
	for i, sc := range s.Scanners {
		if strings.TrimSpace(sc) == "" {
			v.add(fmt.Sprintf("security.scanners[%d]", i), "an empty substring would drop every request")
		}
	}
}
