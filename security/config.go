package security

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config configures a Guard. Start from DefaultConfig: its zero value turns
// the auth-failure bans off (thresholds 0) and requests-per-second too.
type Config struct {
	// Window is how long failures are counted before their count restarts.
	Window time.Duration
	// Ban is how long a ban lasts.
	Ban time.Duration
	// AuthFailuresPerUser wrong digests for one username from one source IP
	// within Window ban that pair; 0 = off.
	AuthFailuresPerUser int
	// AuthFailureUsersPerIP distinct failing usernames from one source IP
	// within Window ban the IP; 0 = off.
	AuthFailureUsersPerIP int
	// RequestsPerSecond is each source IP's budget (bursts up to twice it);
	// exceeding it bans the IP. 0 = off.
	RequestsPerSecond int
	// Scanners are User-Agent substrings (case-insensitive) whose requests
	// are dropped unanswered.
	Scanners []string
	// MaxEntries bounds each table (bans, flood budgets, failure counters);
	// 0 = 65536.
	MaxEntries int
}

// DefaultConfig returns the defaults the config file documents.
func DefaultConfig() Config {
	return Config{
		Window:                60 * time.Second,
		Ban:                   15 * time.Minute,
		AuthFailuresPerUser:   5,
		AuthFailureUsersPerIP: 10,
		RequestsPerSecond:     200,
		Scanners:              []string{"friendly-scanner", "sipvicious", "sipcli", "VaxSIPUserAgent", "pplsip"},
	}
}

// Validate returns one error per problem, each naming its field.
func (c Config) Validate() []error {
	var errs []error
	if c.Window <= 0 {
		errs = append(errs, fmt.Errorf("window: must be positive, got %s", c.Window))
	}
	if c.Ban <= 0 {
		errs = append(errs, fmt.Errorf("ban: must be positive, got %s", c.Ban))
	}
	if c.AuthFailuresPerUser < 0 {
		errs = append(errs, fmt.Errorf("auth_failures_per_user: must not be negative, got %d", c.AuthFailuresPerUser))
	}
	if c.AuthFailureUsersPerIP < 0 {
		errs = append(errs, fmt.Errorf("auth_failure_users_per_ip: must not be negative, got %d", c.AuthFailureUsersPerIP))
	}
	if c.RequestsPerSecond < 0 {
		errs = append(errs, fmt.Errorf("requests_per_second: must not be negative (0 = off), got %d", c.RequestsPerSecond))
	}
	for i, s := range c.Scanners {
		if strings.TrimSpace(s) == "" {
			errs = append(errs, fmt.Errorf("scanners[%d]: empty substring would drop every request", i))
		}
	}
	if c.MaxEntries < 0 {
		errs = append(errs, errors.New("max_entries: must not be negative"))
	}
	return errs
}

func (c *Config) setDefaults() {
	if c.MaxEntries == 0 {
		c.MaxEntries = 65536
	}
	if c.Window <= 0 {
		c.Window = time.Minute
	}
	if c.Ban <= 0 {
		c.Ban = 15 * time.Minute
	}
}
