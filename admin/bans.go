package admin

import (
	"context"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Bans lists and lifts the SIP edge's bans (security.Guard).
type Bans interface {
	Bans() []Ban
	// Lift removes every ban of source and returns how many there were.
	Lift(ctx context.Context, source netip.Addr) (int, error)
}

// Ban is one live ban, as GET bans lists it; User is "" for a ban of the
// whole source IP.
type Ban struct {
	Source string    `json:"source"`
	User   string    `json:"user"`
	Reason string    `json:"reason"`
	Until  time.Time `json:"until"`
}

// listBans answers GET /bans: a JSON array, soonest to expire first.
func (a *API) listBans(w http.ResponseWriter, _ *http.Request) error {
	out := []Ban{}
	if a.bans != nil {
		out = append(out, a.bans.Bans()...)
	}
	slices.SortFunc(out, func(x, y Ban) int {
		if c := x.Until.Compare(y.Until); c != 0 {
			return c
		}
		return strings.Compare(x.Source+"|"+x.User, y.Source+"|"+y.User)
	})
	writeJSON(w, http.StatusOK, out)
	return nil
}

// liftBans answers DELETE /bans/{source}: 204 when bans were lifted, 404
// when the source had none.
func (a *API) liftBans(w http.ResponseWriter, r *http.Request) error {
	ip, err := netip.ParseAddr(r.PathValue("source"))
	if err != nil {
		return badRequest("source", "%q is not an IP address", r.PathValue("source"))
	}
	if a.bans == nil {
		return notFound("no ban for %s", ip)
	}
	n, err := a.bans.Lift(r.Context(), ip)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("no ban for %s", ip)
	}
	a.audit(r, "lift_bans", "", ip.String(), "bans", n)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
