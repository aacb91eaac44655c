package trunk

import "time"

// Status is one trunk's live state as the provider sees it (GET
// /api/v1/trunks): addresses and health, never credentials. sip fills it;
// the admin API serves it.
type Status struct {
	Name              string    `json:"name"`
	Address           string    `json:"address"`
	Transport         string    `json:"transport,omitempty"`
	Priority          int       `json:"priority"`
	Weight            int       `json:"weight"`
	Private           bool      `json:"private,omitempty"`
	Up                bool      `json:"up"`
	Reason            string    `json:"reason,omitempty"` // why it is not taking calls: down (probes), retry_after (a 503)
	CallsActive       int       `json:"calls_active"`
	MaxCalls          int       `json:"max_calls,omitempty"`
	Probe             string    `json:"probe,omitempty"`
	LastProbe         time.Time `json:"last_probe,omitzero"`
	ProbeError        string    `json:"probe_error,omitempty"`
	Register          bool      `json:"register,omitempty"`
	Registered        bool      `json:"registered"`
	RegisteredWith    string    `json:"registered_with,omitempty"`
	RegistrationUntil time.Time `json:"registration_until,omitzero"`
	RegisterError     string    `json:"register_error,omitempty"`
}
