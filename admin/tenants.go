package admin

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboard/switchboard/dialplan"
)

// tenantHeader is a tenant without its contents: what listings show and
// what PATCH may change.
type tenantHeader struct {
	Domain          string `json:"domain"`
	Name            string `json:"name"`
	MainNumber      string `json:"main_number,omitempty"`
	CountryCode     string `json:"country_code,omitempty"`
	ExtensionPolicy string `json:"extension_policy,omitempty"`
	// Limits are the toll-fraud limits; null or absent = the defaults.
	Limits *dialplan.Limits `json:"limits,omitempty"`
	// MOH is the music on hold; null or absent = the built-in loop.
	MOH *dialplan.MOH `json:"moh,omitempty"`
}

// tenantSummary is a tenant in GET /tenants.
type tenantSummary struct {
	tenantHeader
	Users      int `json:"user_count"`
	Groups     int `json:"group_count"`
	Attendants int `json:"attendant_count"`
	Numbers    int `json:"number_count"`
}

func headerOf(t *dialplan.Tenant) tenantHeader {
	return tenantHeader{Domain: t.Domain, Name: t.Name, MainNumber: t.MainNumber,
		CountryCode: t.CountryCode, ExtensionPolicy: t.ExtensionPolicy, Limits: t.Limits, MOH: t.MOH}
}

func summaryOf(t *dialplan.Tenant) tenantSummary {
	return tenantSummary{tenantHeader: headerOf(t), Users: len(t.Users), Groups: len(t.Groups),
		Attendants: len(t.Attendants), Numbers: len(t.Numbers)}
}

// showTenant is a whole tenant with its users' secrets and its mailboxes'
// PINs left out.
func showTenant(t *dialplan.Tenant) *dialplan.Tenant {
	c := *t
	c.Users = make([]*dialplan.User, len(t.Users))
	for i, u := range t.Users {
		c.Users[i] = showUser(u, "").(*dialplan.User)
	}
	c.Mailboxes = nil
	for _, m := range t.Mailboxes {
		if m != nil {
			mc := *m
			mc.PIN, mc.PINHash = "", ""
			m = &mc
		}
		c.Mailboxes = append(c.Mailboxes, m)
	}
	return &c
}

func (a *API) listTenants(w http.ResponseWriter, r *http.Request) error {
	d, err := a.dir.Export(r.Context())
	if err != nil {
		return err
	}
	out := []tenantSummary{}
	p := PrincipalFrom(r.Context())
	for _, t := range d.Tenants {
		if p.Sees(t.Domain) {
			out = append(out, summaryOf(t))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tenants": out})
	return nil
}

// createTenant adds a tenant: at least domain and name; it may come whole,
// with users, groups, attendants and numbers, in the directory's shape.
func (a *API) createTenant(w http.ResponseWriter, r *http.Request) error {
	var t dialplan.Tenant
	if err := decodeJSON(w, r, &t); err != nil {
		return err
	}
	t.Domain = strings.ToLower(strings.TrimSpace(t.Domain))
	if t.Domain == "" {
		return badRequest("domain", "domain: required (the tenant's SIP domain, e.g. acme.example)")
	}
	if err := a.foreignNumber(r.Context(), t.Domain, "main_number", t.MainNumber); err != nil {
		return err
	}
	if err := a.dir.CreateTenant(r.Context(), &t); err != nil {
		if errors.Is(err, dialplan.ErrExists) {
			return conflict("domain", "tenant %s already exists", t.Domain)
		}
		return err
	}
	a.audit(r, "tenant.create", t.Domain, t.Domain)
	shown := &t
	if view, err := a.dir.Tenant(r.Context(), t.Domain); err == nil {
		shown = view.Tenant // with defaults applied
	}
	writeJSON(w, http.StatusCreated, showTenant(shown))
	return nil
}

func (a *API) getTenant(w http.ResponseWriter, r *http.Request) error {
	view, err := a.dir.Tenant(r.Context(), r.PathValue("domain"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, showTenant(view.Tenant))
	return nil
}

// patchTenant changes the tenant's own fields (name, main_number,
// country_code, extension_policy, limits, moh) by JSON merge patch; its contents have
// their own endpoints.
func (a *API) patchTenant(w http.ResponseWriter, r *http.Request) error {
	domain := r.PathValue("domain")
	body, err := readBody(w, r, maxJSONBody)
	if err != nil {
		return err
	}
	var probe map[string]any
	if err := strictUnmarshal(body, &probe); err != nil {
		return err
	}
	var h tenantHeader
	if mn, ok := probe["main_number"].(string); ok {
		if err := a.foreignNumber(r.Context(), domain, "main_number", mn); err != nil {
			return err
		}
	}
	err = a.dir.UpdateTenant(r.Context(), domain, func(t *dialplan.Tenant) error {
		h = tenantHeader{}
		if err := mergePatch(headerOf(t), body, &h); err != nil {
			return err
		}
		if !strings.EqualFold(h.Domain, t.Domain) {
			return badRequest("domain", "domain: a tenant's domain cannot be changed")
		}
		t.Name, t.MainNumber, t.CountryCode, t.ExtensionPolicy = h.Name, h.MainNumber, h.CountryCode, h.ExtensionPolicy
		t.Limits, t.MOH = h.Limits, h.MOH
		if t.ExtensionPolicy == "" {
			t.ExtensionPolicy = dialplan.DefaultExtensionPolicy
			h.ExtensionPolicy = t.ExtensionPolicy
		}
		return nil
	})
	if err != nil {
		return err
	}
	a.audit(r, "tenant.update", h.Domain, h.Domain)
	writeJSON(w, http.StatusOK, h)
	return nil
}

// deleteTenant removes an empty tenant, or with ?force=true one with
// contents, whose users' bindings are then dropped. It answers the deleted
// tenant (secrets left out).
func (a *API) deleteTenant(w http.ResponseWriter, r *http.Request) error {
	domain := r.PathValue("domain")
	force := false
	if s := r.URL.Query().Get("force"); s != "" {
		var err error
		if force, err = strconv.ParseBool(s); err != nil {
			return badRequest("force", "force %q: want true or false", s)
		}
	}
	gone, err := a.dir.DeleteTenant(r.Context(), domain, force)
	if err != nil {
		return err
	}
	for _, u := range gone.Users {
		for _, name := range append([]string{u.ID}, u.Aliases...) {
			a.unbind(r.Context(), name+"@"+gone.Domain)
		}
	}
	a.dropAccounts(r, gone.Domain)
	a.audit(r, "tenant.delete", gone.Domain, gone.Domain, "force", force, "users", len(gone.Users))
	writeJSON(w, http.StatusOK, showTenant(gone))
	return nil
}

// dropAccounts removes a deleted tenant's admins and tokens, so a tenant
// created again under the same domain does not inherit them. A failure is
// logged: the accounts point at a tenant that no longer exists, whose
// routes answer 404 until it is created again.
func (a *API) dropAccounts(r *http.Request, domain string) {
	ctx := r.Context()
	if ts, err := a.accounts.Tokens(ctx, domain); err == nil {
		for _, t := range ts {
			err = errors.Join(err, a.accounts.DeleteToken(ctx, domain, t.ID))
		}
		if err != nil {
			a.log.Error("admin: drop tokens of deleted tenant", "tenant", domain, "error", err)
		}
	}
	if as, err := a.accounts.Admins(ctx, domain); err == nil {
		for _, ad := range as {
			err = errors.Join(err, a.accounts.DeleteAdmin(ctx, ad.Email))
		}
		if err != nil {
			a.log.Error("admin: drop admins of deleted tenant", "tenant", domain, "error", err)
		}
	}
}
