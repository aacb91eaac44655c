package admin

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/switchboard/switchboard/dialplan"
)

// Self-service: a user of a tenant signs in to the console with their email
// and a portal password (set by an admin, or through an invitation) and may
// change their own forwarding, caller-ID choice, voicemail PIN and greeting
// through /me. Nothing else is reachable with such a session (authorize).

func (a *API) selfServiceRoutes() {
	a.handleScoped("GET", "/me", ScopeUser, a.getMe)
	a.handleScoped("PATCH", "/me", ScopeUser, a.patchMe)
	a.handle("POST", "/tenants/{domain}/users/{id}/portal-password", a.setPortalPassword)
}

// meFields are the fields PATCH /me may change; in voicemail, only these.
var (
	meFields        = []string{"caller_id", "forward", "voicemail"}
	meVoicemailKeys = []string{"pin", "greeting"}
)

// meView is what a user sees of themselves: never a credential or hash.
type meView struct {
	Tenant       string            `json:"tenant"`
	ID           string            `json:"id"`
	Name         string            `json:"name,omitempty"`
	FirstName    string            `json:"first_name,omitempty"`
	LastName     string            `json:"last_name,omitempty"`
	Extensions   []string          `json:"extensions,omitempty"`
	Email        string            `json:"email,omitempty"`
	DirectNumber string            `json:"direct_number,omitempty"`
	MainNumber   string            `json:"main_number,omitempty"`
	CallerID     dialplan.CallerID `json:"caller_id,omitempty"`
	Forward      *dialplan.Forward `json:"forward,omitempty"`
	Voicemail    *meVoicemailView  `json:"voicemail,omitempty"`
}

type meVoicemailView struct {
	Enabled  bool              `json:"enabled"`
	PINSet   bool              `json:"pin_set"`
	After    dialplan.Duration `json:"after,omitempty"`
	Greeting string            `json:"greeting,omitempty"`
}

func showMe(t *dialplan.Tenant, u *dialplan.User) meView {
	c := *u
	c.SyncName()
	v := meView{Tenant: t.Domain, ID: c.ID, Name: c.Name, FirstName: c.FirstName, LastName: c.LastName,
		Extensions: c.Extensions, Email: c.Email, DirectNumber: c.DirectNumber, MainNumber: t.MainNumber,
		CallerID: c.CallerID, Forward: c.Forward}
	if vm := c.Voicemail; vm != nil {
		v.Voicemail = &meVoicemailView{Enabled: vm.Enabled, PINSet: vm.PINHash != "" || vm.PIN != "", After: vm.After, Greeting: vm.Greeting}
	}
	return v
}

func findUser(t *dialplan.Tenant, id string) int {
	return slices.IndexFunc(t.Users, func(u *dialplan.User) bool { return u != nil && strings.EqualFold(u.ID, id) })
}

func (a *API) getMe(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	view, err := a.dir.Tenant(r.Context(), p.Tenant)
	if err != nil {
		return errUnauthenticated // the tenant went away: the session is void
	}
	i := findUser(view.Tenant, p.User)
	if i < 0 {
		return errUnauthenticated
	}
	writeJSON(w, http.StatusOK, showMe(view.Tenant, view.Tenant.Users[i]))
	return nil
}

// patchMe applies a JSON merge patch limited to meFields to the signed-in
// user; any other field is a 400 naming it, so a user cannot rename
// themselves, take a number or touch another user.
func (a *API) patchMe(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	body, err := readBody(w, r, maxJSONBody)
	if err != nil {
		return err
	}
	var probe map[string]json.RawMessage
	if err := strictUnmarshal(body, &probe); err != nil {
		return err
	}
	for k, v := range probe {
		if !slices.Contains(meFields, k) {
			return badRequest(k, "%s: a user may change only %s", k, strings.Join(meFields, ", "))
		}
		if k == "voicemail" && string(v) != "null" {
			var vm map[string]json.RawMessage
			if err := strictUnmarshal(v, &vm); err != nil {
				return badRequest("voicemail", "voicemail: want an object")
			}
			for vk := range vm {
				if !slices.Contains(meVoicemailKeys, vk) {
					return badRequest("voicemail."+vk, "voicemail.%s: a user may change only the pin and greeting", vk)
				}
			}
		} else if k == "voicemail" {
			return badRequest("voicemail", "voicemail: only an admin turns voicemail off")
		}
	}
	var saved meView
	err = a.dir.UpdateTenant(r.Context(), p.Tenant, func(t *dialplan.Tenant) error {
		i := findUser(t, p.User)
		if i < 0 {
			return errUnauthenticated
		}
		old := t.Users[i]
		if _, ok := probe["voicemail"]; ok && old.Voicemail == nil {
			return badRequest("voicemail", "voicemail: not enabled for you; ask your admin")
		}
		u := new(dialplan.User)
		if err := mergePatch(old, body, u); err != nil {
			return err
		}
		if vm := u.Voicemail; vm != nil && vm.PIN != "" && !dialplan.ValidPIN(vm.PIN) {
			return badRequest("voicemail.pin", "voicemail.pin: want 4-10 digits")
		}
		if _, err := prepareUser(t, old, u); err != nil {
			return err
		}
		t.Users[i] = u
		saved = showMe(t, u)
		return nil
	})
	if err != nil {
		return err
	}
	a.audit(r, "user.self_update", p.Tenant, p.User, "fields", strings.Join(slices.Sorted(maps.Keys(probe)), ","))
	writeJSON(w, http.StatusOK, saved)
	return nil
}

// setPortalPassword sets the password a user signs in to the console with;
// without one in the body a password is generated and shown once.
func (a *API) setPortalPassword(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Password string `json:"password,omitempty"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &body); err != nil {
			return err
		}
	}
	domain, id := r.PathValue("domain"), r.PathValue("id")
	pw, shown, err := portalPassword(body.Password)
	if err != nil {
		return err
	}
	if err := a.storePortalHash(r, domain, &id, hashPassword(pw)); err != nil {
		return err
	}
	a.audit(r, "user.portal_password", domain, id)
	out := map[string]string{"id": id, "status": "active"}
	if shown != "" {
		out["password"] = shown
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// portalPassword checks a chosen password, or generates one (returned as
// shown too).
func portalPassword(pw string) (use, shown string, err error) {
	switch n := len(pw); {
	case n == 0:
		pw = newPassword()
		return pw, pw, nil
	case n < minAdminPassword:
		return "", "", badRequest("password", "password: at least %d characters", minAdminPassword)
	case n > 200:
		return "", "", badRequest("password", "password: at most 200 characters")
	}
	return pw, "", nil
}

// storePortalHash sets the portal password hash of user *id (corrected to
// its stored spelling). The user needs an email: it is the sign-in name.
func (a *API) storePortalHash(r *http.Request, domain string, id *string, hash string) error {
	return a.dir.UpdateTenant(r.Context(), domain, func(t *dialplan.Tenant) error {
		i := findUser(t, *id)
		if i < 0 {
			return notFound("user %s in tenant %s", *id, domain)
		}
		u := t.Users[i]
		if u.Email == "" {
			return conflict("email", "user %s has no email to sign in with; set one first", u.ID)
		}
		// A password the admin sets supersedes a pending invitation.
		*id, u.PortalHash, u.Invitation = u.ID, hash, nil
		return nil
	})
}

// checkUserLogin signs a user in by email and portal password. Emails of
// users are unique per tenant only; every user with that email and a
// portal password is tried, so the right password finds its own account.
func (a *API) checkUserLogin(r *http.Request, body loginBody) (dialplan.Session, error) {
	d, err := a.dir.Export(r.Context())
	if err != nil {
		return dialplan.Session{}, err
	}
	tried := false
	for _, t := range d.Tenants {
		for _, u := range t.Users {
			if u == nil || u.PortalHash == "" || !strings.EqualFold(u.Email, strings.TrimSpace(body.Email)) {
				continue
			}
			tried = true
			ok, err := checkPassword(u.PortalHash, body.Password)
			if err != nil {
				a.log.Warn("admin: portal password hash", "tenant", t.Domain, "user", u.ID, "error", err)
				continue
			}
			if ok {
				return dialplan.Session{Email: u.Email, Tenant: t.Domain, User: u.ID, Who: "user:" + u.ID}, nil
			}
		}
	}
	if !tried {
		checkPassword(dummyHash, body.Password) // as slow as a wrong password
	}
	return dialplan.Session{}, errBadLogin
}
