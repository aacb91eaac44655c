package admin

import (
	"net/http"

	"github.com/switchboard/switchboard/trunk"
)

// Trunks reports the carrier trunks' live state.
type Trunks interface {
	Trunks() []trunk.Status
}

// listTrunks answers GET /trunks: {"trunks": [...]}, in config order.
func (a *API) listTrunks(w http.ResponseWriter, r *http.Request) error {
	out := []trunk.Status{}
	if a.trunks != nil {
		out = append(out, a.trunks.Trunks()...)
	}
	writeJSON(w, http.StatusOK, map[string]any{"trunks": out})
	return nil
}
