package admin

import (
	"cmp"
	"net/http"
	"strings"

	"github.com/switchboard/switchboard/dialplan"
)

// userSorts are the orders GET users?sort= offers; each falls back to the
// id so pages are stable.
var userSorts = map[string]func(a, b *dialplan.User) int{
	"id": func(a, b *dialplan.User) int { return cmp.Compare(a.ID, b.ID) },
	"last_name": func(a, b *dialplan.User) int {
		return cmp.Or(cmp.Compare(lastName(a), lastName(b)), cmp.Compare(firstName(a), firstName(b)), cmp.Compare(a.ID, b.ID))
	},
	"extension": func(a, b *dialplan.User) int {
		return cmp.Or(cmp.Compare(firstOf(a.Extensions), firstOf(b.Extensions)), cmp.Compare(a.ID, b.ID))
	},
}

// lastName is the user's last name (lower-cased), or the first name when
// there is no last name, or the id after every named user.
func lastName(u *dialplan.User) string {
	first, last := u.Names()
	switch {
	case last != "":
		return strings.ToLower(last)
	case first != "":
		return strings.ToLower(first)
	}
	return "\uffff" + u.ID // the unnamed last
}

func firstName(u *dialplan.User) string {
	first, _ := u.Names()
	return strings.ToLower(first)
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// nextExtension answers the extension a new user would get now under the
// tenant's policy (e.g. 7006 under 7XXX), for the console to suggest.
func (a *API) nextExtension(w http.ResponseWriter, r *http.Request) error {
	view, err := a.dir.Tenant(r.Context(), r.PathValue("domain"))
	if err != nil {
		return err
	}
	e, err := dialplan.NextExtension(view.Tenant)
	if err != nil {
		return conflict("extension_policy", "%v", err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"extension": e, "policy": view.Tenant.ExtensionPolicy})
	return nil
}
