package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/switchboard/switchboard/dialplan"
)

// Role is what a credential may do.
type Role string

// Roles, widest first.
const (
	// RoleProvider runs the service: every tenant, the number pool, bans,
	// trunks. The configured http.admin_token is a provider credential.
	RoleProvider Role = "provider"
	// RoleTenantAdmin manages one tenant: its users, numbers, groups,
	// attendants, admins and tokens. Anything else answers 404.
	RoleTenantAdmin Role = "tenant_admin"
	// RoleUser is one person of a tenant signed in to the console: only
	// /me (their own forwarding, caller ID, voicemail PIN and greeting),
	// /session and /logout; every other route answers 404.
	RoleUser Role = "user"
)

// Principal is who a request acts as, resolved from its bearer token or
// session cookie before any handler runs.
type Principal struct {
	Role   Role
	Tenant string // the tenant of a tenant admin or user; "" for the provider
	User   string // the user id of RoleUser
	// Who names the principal in audit lines: "provider token",
	// "token:ID", "admin:EMAIL". Never a secret.
	Who string
	// session is set when the request came with a session cookie: its
	// writes must then carry the session's CSRF token.
	session *dialplan.Session
}

// Provider reports whether the principal may act on every tenant.
func (p *Principal) Provider() bool { return p != nil && p.Role == RoleProvider }

// Sees reports whether the principal may see tenant domain.
func (p *Principal) Sees(domain string) bool {
	return p.Provider() || p != nil && p.Role == RoleTenantAdmin && strings.EqualFold(p.Tenant, domain)
}

type principalKey struct{}

// PrincipalFrom returns the principal of an authenticated request (nil for
// the public routes: login, the OpenAPI document).
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// Scope is who may call a route.
type Scope int

// Route scopes. handle picks the scope from the path: a route with a
// {domain} is tenant-scoped, any other is provider-only, so a route another
// package adds gets the right scoping without asking for it.
const (
	// ScopeProvider: provider only; everyone else gets 404, as if the route
	// did not exist.
	ScopeProvider Scope = iota
	// ScopeTenant: the provider, or an admin of the tenant named by the
	// path's {domain}; an admin of another tenant gets 404.
	ScopeTenant
	// ScopeAny: any authenticated principal; the handler narrows what it
	// answers to the principal's tenant (GET /tenants, /registrations).
	ScopeAny
	// ScopePublic: no credential needed (login, the OpenAPI document).
	ScopePublic
	// ScopeSignedIn: any principal, a self-service user too (session,
	// logout). Every other scope answers a user 404.
	ScopeSignedIn
	// ScopeUser: a self-service user only (/me); anyone else gets 404.
	ScopeUser
)

// sessionCookie names the console's session cookie.
const sessionCookie = "sb_session"

// csrfHeader carries a session's CSRF token on cookie-authenticated writes.
const csrfHeader = "X-CSRF-Token"

// errUnauthenticated answers 401; errForbidden... is not used: a principal
// outside a route's scope gets 404 so tenants cannot be discovered.
var errUnauthenticated = errors.New("admin: unauthenticated")

func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// authenticate resolves the request's credential: a bearer token (the
// provider token or a tenant token) or a session cookie. It returns nil,
// nil when the request carries none, and errUnauthenticated when the one it
// carries is wrong, revoked or expired.
func (a *API) authenticate(r *http.Request) (*Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		tok = strings.TrimSpace(tok)
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return nil, errUnauthenticated
		}
		return a.tokenPrincipal(r.Context(), tok)
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	s, err := a.accounts.Session(r.Context(), hashSecret(c.Value))
	if errors.Is(err, dialplan.ErrNotFound) {
		return nil, errUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	if s.TokenHash != "" {
		// A session opened with a token lasts only as long as the token.
		if _, err := a.tokenByHash(r.Context(), s.TokenHash); err != nil {
			return nil, err
		}
	}
	p := &Principal{Role: RoleTenantAdmin, Tenant: s.Tenant, Who: s.Who, session: &s}
	switch {
	case s.User != "":
		p.Role, p.User = RoleUser, s.User
	case s.Tenant == "":
		p.Role = RoleProvider
	}
	return p, nil
}

// tokenPrincipal checks a bearer token: the provider token, compared in
// constant time over its hash (so its length does not leak either), or a
// tenant token looked up by its hash in the account store.
func (a *API) tokenPrincipal(ctx context.Context, tok string) (*Principal, error) {
	sum := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(sum[:], a.tokenSum[:]) == 1 {
		return &Principal{Role: RoleProvider, Who: "provider token"}, nil
	}
	t, err := a.tokenByHash(ctx, hex.EncodeToString(sum[:]))
	if err != nil {
		return nil, err
	}
	return &Principal{Role: RoleTenantAdmin, Tenant: t.Tenant, Who: "token:" + t.ID}, nil
}

// tokenByHash finds a tenant token; the provider token's hash never reaches
// the store's answer as a tenant token.
func (a *API) tokenByHash(ctx context.Context, hash string) (dialplan.Token, error) {
	if hash == hex.EncodeToString(a.tokenSum[:]) {
		return dialplan.Token{}, nil
	}
	t, err := a.accounts.TokenByHash(ctx, hash)
	if errors.Is(err, dialplan.ErrNotFound) {
		return t, errUnauthenticated
	}
	return t, err
}

// scopeFor is the default scope of a route path (see Scope).
func scopeFor(path string) Scope {
	if strings.Contains(path, "{domain}") {
		return ScopeTenant
	}
	return ScopeProvider
}

// authorize decides whether p may call a route of scope s for r: nil, or
// the error to answer (401 without a credential, 404 outside the scope,
// 403 for a cookie write without its CSRF token).
func authorize(p *Principal, s Scope, r *http.Request) error {
	if s == ScopePublic {
		return nil
	}
	if p == nil {
		return errUnauthenticated
	}
	if (p.Role == RoleUser) != (s == ScopeUser) && s != ScopeSignedIn {
		return noSuchEndpoint(r)
	}
	switch s {
	case ScopeProvider:
		if !p.Provider() {
			return noSuchEndpoint(r)
		}
	case ScopeTenant:
		if d := r.PathValue("domain"); !p.Sees(d) {
			// The same answer as for a tenant that does not exist.
			return notFound("tenant %q", strings.ToLower(d))
		}
	}
	if p.session != nil && !safeMethod(r.Method) {
		got := r.Header.Get(csrfHeader)
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(p.session.CSRF)) != 1 {
			return &requestError{status: http.StatusForbidden, field: csrfHeader,
				msg: "missing or wrong " + csrfHeader + " header (cookie-authenticated writes must echo the session's csrf token)"}
		}
	}
	return nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func noSuchEndpoint(r *http.Request) error {
	return &requestError{status: http.StatusNotFound, msg: "no such endpoint: " + r.Method + " " + r.URL.Path}
}

// who names the request's principal in audit lines.
func who(r *http.Request) string {
	if p := PrincipalFrom(r.Context()); p != nil {
		return p.Who
	}
	return "anonymous"
}
