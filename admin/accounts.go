package admin

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/switchboard/switchboard/dialplan"
)

// accountRoutes registers sign-in and the tenant's admins and tokens.
func (a *API) accountRoutes() {
	a.handleScoped("POST", "/login", ScopePublic, a.login)
	a.handleScoped("POST", "/logout", ScopeSignedIn, a.logout)
	a.handleScoped("GET", "/session", ScopeSignedIn, a.session)
	a.handleScoped("GET", "/openapi.yaml", ScopePublic, serveOpenAPI)

	a.handle("GET", "/tenants/{domain}/tokens", a.listTokens)
	a.handle("POST", "/tenants/{domain}/tokens", a.createToken)
	a.handle("DELETE", "/tenants/{domain}/tokens/{id}", a.deleteToken)

	a.handle("GET", "/tenants/{domain}/admins", a.listAdmins)
	a.handle("POST", "/tenants/{domain}/admins", a.createAdmin)
	a.handle("GET", "/tenants/{domain}/admins/{email}", a.getAdmin)
	a.handle("DELETE", "/tenants/{domain}/admins/{email}", a.deleteAdmin)
}

// tenantOf returns the canonical domain of the path's tenant, or 404.
func (a *API) tenantOf(r *http.Request) (string, error) {
	v, err := a.dir.Tenant(r.Context(), r.PathValue("domain"))
	if err != nil {
		return "", err
	}
	return v.Tenant.Domain, nil
}

// tokenJSON is a token as the API shows it; Token only in the answer to
// its creation.
type tokenJSON struct {
	ID      string    `json:"id"`
	Name    string    `json:"name,omitempty"`
	Tenant  string    `json:"tenant"`
	Token   string    `json:"token,omitempty"`
	Created time.Time `json:"created"`
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) error {
	domain, err := a.tenantOf(r)
	if err != nil {
		return err
	}
	ts, err := a.accounts.Tokens(r.Context(), domain)
	if err != nil {
		return err
	}
	out := []tokenJSON{}
	for _, t := range ts {
		out = append(out, tokenJSON{ID: t.ID, Name: t.Name, Tenant: t.Tenant, Created: t.Created})
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
	return nil
}

// createToken mints a tenant token, answered once; only its hash is kept.
func (a *API) createToken(w http.ResponseWriter, r *http.Request) error {
	domain, err := a.tenantOf(r)
	if err != nil {
		return err
	}
	var body struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if len(body.Name) > 100 {
		return badRequest("name", "name: at most 100 characters")
	}
	secret := "sbt_" + rand.Text() + rand.Text()
	t := dialplan.Token{ID: strings.ToLower(rand.Text()[:10]), Name: body.Name, Tenant: domain,
		Hash: hashSecret(secret), Created: time.Now().UTC().Truncate(time.Second)}
	if err := a.accounts.CreateToken(r.Context(), t); err != nil {
		return err
	}
	a.audit(r, "token.create", domain, t.ID, "name", t.Name)
	writeJSON(w, http.StatusCreated, tokenJSON{ID: t.ID, Name: t.Name, Tenant: domain, Token: secret, Created: t.Created})
	return nil
}

// deleteToken revokes a token: the store forgets its hash, so the next
// request with it, to any instance, answers 401.
func (a *API) deleteToken(w http.ResponseWriter, r *http.Request) error {
	domain, err := a.tenantOf(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := a.accounts.DeleteToken(r.Context(), domain, id); err != nil {
		return err
	}
	a.audit(r, "token.revoke", domain, id)
	writeJSON(w, http.StatusOK, map[string]string{"id": id, "tenant": domain, "status": "revoked"})
	return nil
}

// adminJSON is an admin account as the API shows it: never the hash; the
// password only in the answer to its creation, when it was generated.
type adminJSON struct {
	Email    string    `json:"email"`
	Name     string    `json:"name,omitempty"`
	Tenant   string    `json:"tenant"`
	Password string    `json:"password,omitempty"`
	Created  time.Time `json:"created"`
}

func showAdmin(ad dialplan.Admin, pw string) adminJSON {
	return adminJSON{Email: ad.Email, Name: ad.Name, Tenant: ad.Tenant, Password: pw, Created: ad.Created}
}

func (a *API) listAdmins(w http.ResponseWriter, r *http.Request) error {
	domain, err := a.tenantOf(r)
	if err != nil {
		return err
	}
	as, err := a.accounts.Admins(r.Context(), domain)
	if err != nil {
		return err
	}
	out := []adminJSON{}
	for _, ad := range as {
		out = append(out, showAdmin(ad, ""))
	}
	writeJSON(w, http.StatusOK, map[string]any{"admins": out})
	return nil
}

// minAdminPassword is the shortest password an admin may be given.
const minAdminPassword = 10

// createAdmin adds a tenant admin; without a password one is generated and
// answered once.
func (a *API) createAdmin(w http.ResponseWriter, r *http.Request) error {
	domain, err := a.tenantOf(r)
	if err != nil {
		return err
	}
	var body struct {
		Email    string `json:"email"`
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	body.Email = strings.TrimSpace(body.Email)
	if addr, err := mail.ParseAddress(body.Email); err != nil || addr.Address != body.Email {
		return badRequest("email", "email %q: want an address like ann@example.com", body.Email)
	}
	shown := ""
	switch n := len(body.Password); {
	case n == 0:
		body.Password = newPassword()
		shown = body.Password
	case n < minAdminPassword:
		return badRequest("password", "password: at least %d characters", minAdminPassword)
	case n > 200:
		return badRequest("password", "password: at most 200 characters")
	}
	ad := dialplan.Admin{Email: body.Email, Name: body.Name, Tenant: domain,
		PasswordHash: hashPassword(body.Password), Created: time.Now().UTC().Truncate(time.Second)}
	if err := a.accounts.CreateAdmin(r.Context(), ad); err != nil {
		if errors.Is(err, dialplan.ErrExists) {
			// Emails are global; do not say which tenant holds it.
			return conflict("email", "an admin with email %s already exists", body.Email)
		}
		return err
	}
	a.audit(r, "admin.create", domain, ad.Email)
	writeJSON(w, http.StatusCreated, showAdmin(ad, shown))
	return nil
}

// adminIn returns the admin of the path, or 404 when it is not the path
// tenant's (an admin of another tenant is as unknown as a missing one).
func (a *API) adminIn(r *http.Request) (string, dialplan.Admin, error) {
	domain, err := a.tenantOf(r)
	if err != nil {
		return "", dialplan.Admin{}, err
	}
	email := r.PathValue("email")
	ad, err := a.accounts.Admin(r.Context(), email)
	switch {
	case errors.Is(err, dialplan.ErrNotFound), err == nil && !strings.EqualFold(ad.Tenant, domain):
		return "", dialplan.Admin{}, notFound("admin %s in tenant %s", email, domain)
	case err != nil:
		return "", dialplan.Admin{}, err
	}
	return domain, ad, nil
}

func (a *API) getAdmin(w http.ResponseWriter, r *http.Request) error {
	_, ad, err := a.adminIn(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, showAdmin(ad, ""))
	return nil
}

// deleteAdmin removes an admin; its sessions end at once.
func (a *API) deleteAdmin(w http.ResponseWriter, r *http.Request) error {
	domain, ad, err := a.adminIn(r)
	if err != nil {
		return err
	}
	if err := a.accounts.DeleteAdmin(r.Context(), ad.Email); err != nil {
		return err
	}
	a.audit(r, "admin.delete", domain, ad.Email)
	writeJSON(w, http.StatusOK, showAdmin(ad, ""))
	return nil
}
