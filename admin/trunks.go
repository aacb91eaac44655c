package admin

import (
	"net/http"
	"time"
)

// Trunks reports the carrier trunks' live state.
type Trunks interface {
	Trunks() []Trunk
}

// Trunk is one carrier trunk, as GET /api/v1/trunks lists it. It is the
// provider's view: addresses and health, never credentials.
type Trunk struct {
	Name              string    `json:"name"`
	Address           string    `json:"address"`
	Transport         string    `json:"transport,omitempty"`
	Priority          int       `json:"priority"`
	Weight            int       `json:"weight"`
	Private           bool      `json:"private,omitempty"`
	Up                bool      `json:"up"`
	Reason            string    `json:"reason,omitempty"` // down (probes) or retry_after (a 503)
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

// listTrunks answers GET /trunks: {"trunks": [...]}, in config order.
func (a *API) listTrunks(w http.ResponseWriter, r *http.Request) error {
	out := []Trunk{}
	if a.trunks != nil {
		out = append(out, a.trunks.Trunks()...)
	}
	writeJSON(w, http.StatusOK, map[string]any{"trunks": out})
	return nil
}
