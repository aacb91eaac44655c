package trunk

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/rfc2782"
)

// Spec is what the policy needs to know about one configured trunk.
type Spec struct {
	Name     string
	Priority int
	Weight   int
	// Private trunks are used only by tenants that name them.
	Private bool
}

// Order returns the names of the trunks a tenant's call hunts through: the
// tenant's own trunks in the order it lists them (unknown names skipped),
// then the shared (non-private) trunks it did not list, by priority and,
// within a priority, by weighted random draw (rnd as for rfc2782.Order).
func Order(all []Spec, tenant []string, rnd func(int) int) []string {
	var out []string
	for _, name := range tenant {
		if slices.ContainsFunc(all, func(s Spec) bool { return s.Name == name }) && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	var shared []Spec
	for _, s := range all {
		if !s.Private && !slices.Contains(out, s.Name) {
			shared = append(shared, s)
		}
	}
	for _, s := range rfc2782.Order(shared, func(s Spec) int { return s.Priority }, func(s Spec) int { return s.Weight }, rnd) {
		out = append(out, s.Name)
	}
	return out
}

// ProbeFailuresDown is how many probes in a row must fail before a trunk is
// taken out of the hunt.
const ProbeFailuresDown = 3

// Health is one trunk's availability. The zero value is up. Not safe for
// concurrent use: the caller locks.
type Health struct {
	fails     int       // consecutive failed probes
	down      bool      // ProbeFailuresDown probes failed, none succeeded since
	busyUntil time.Time // a 503 with Retry-After: skipped until then
}

// Probe records one probe's result and reports whether the trunk changed
// between up and down.
func (h *Health) Probe(ok bool) (changed bool) {
	if ok {
		h.fails = 0
		changed, h.down = h.down, false
		return changed
	}
	h.fails++
	if h.fails >= ProbeFailuresDown && !h.down {
		h.down = true
		return true
	}
	return false
}

// Down reports whether probes took the trunk out of service.
func (h *Health) Down() bool { return h.down }

// RetryAfter records a 503 with Retry-After: the trunk gets no calls until
// now+d.
func (h *Health) RetryAfter(now time.Time, d time.Duration) {
	if until := now.Add(d); until.After(h.busyUntil) {
		h.busyUntil = until
	}
}

// Usable reports whether the trunk may be offered a call at now, and if not,
// why: "down" (probes) or "retry_after" (a 503's Retry-After is running).
func (h *Health) Usable(now time.Time) (bool, string) {
	switch {
	case h.down:
		return false, "down"
	case now.Before(h.busyUntil):
		return false, "retry_after"
	}
	return true, ""
}

// Action is what a hunt does after an attempt's outcome.
type Action int

// The hunt's actions.
const (
	Answered     Action = iota // relay the 2xx; the hunt is over
	Authenticate               // re-send to the same trunk with credentials
	Next                       // try the next target or trunk
	Stop                       // relay this final response; the hunt is over
)

func (a Action) String() string {
	return [...]string{"answered", "authenticate", "next", "stop"}[a]
}

// Outcome is how one attempt on one trunk ended.
type Outcome struct {
	// Code is the final status code; 0 when there was none (Timer B, a
	// transport error, or no provisional within fail_after).
	Code int
	// HasCredentials: the trunk has a username and password.
	HasCredentials bool
	// AuthSent: this attempt already carried our answer to a challenge.
	AuthSent bool
}

// Decide maps an attempt's outcome to the hunt's next action.
func Decide(o Outcome) Action {
	switch c := o.Code; {
	case c >= 200 && c < 300:
		return Answered
	case c == 401 || c == 407:
		if o.HasCredentials && !o.AuthSent {
			return Authenticate
		}
		// No credentials, or the carrier refused ours: this trunk cannot
		// take the call, another might.
		return Next
	case c == 0, c == 408, c >= 500 && c < 600:
		return Next
	default:
		return Stop
	}
}

// Result is the attempts_total label for an outcome.
func Result(o Outcome) string {
	switch c := o.Code; {
	case c >= 200 && c < 300:
		return "answered"
	case c == 401 || c == 407:
		if o.AuthSent {
			return "auth_failed"
		}
		return "challenged"
	case c == 0:
		return "timeout"
	case c == 408:
		return "timeout"
	case c == 503:
		return "unavailable"
	case c >= 500 && c < 600:
		return "server_error"
	case c == 486 || c == 600:
		return "busy"
	default:
		return "rejected"
	}
}

// ParseRetryAfter reads a Retry-After header value ("120", "120;duration=60",
// "120 (comment)"): its delta-seconds, 0 when absent or malformed. Values are
// capped at a day so a broken carrier cannot take itself out for years.
func ParseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	end := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	if end >= 0 {
		v = v[:end]
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0
	}
	return min(time.Duration(n)*time.Second, 24*time.Hour)
}

// Number formats a carrier may want.
const (
	E164       = "e164"         // +14155550100
	E164NoPlus = "e164_no_plus" // 14155550100
	National   = "national"     // 4155550100 (NANP), 0201234567 (+44 20 1234 567)
)

// FormatNumber writes an E.164 number ("+14155550100") the way a trunk wants
// it. countryCode is the tenant's (digits, "" = "1"). In national format a
// number of another country gets the international prefix (011 in NANP, 00
// elsewhere). Anything not E.164 (an emergency number, a short code) passes
// unchanged.
func FormatNumber(number, format, countryCode string) string {
	if !strings.HasPrefix(number, "+") || len(number) < 2 {
		return number
	}
	digits := number[1:]
	switch format {
	case E164NoPlus:
		return digits
	case National:
		if countryCode == "" {
			countryCode = "1"
		}
		if rest, ok := strings.CutPrefix(digits, countryCode); ok {
			if countryCode == "1" {
				return rest
			}
			return "0" + rest
		}
		if countryCode == "1" {
			return "011" + digits
		}
		return "00" + digits
	default:
		return number
	}
}
