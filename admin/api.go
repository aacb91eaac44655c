package admin

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/dialplan"
)

// APIPrefix is where the admin API is mounted.
const APIPrefix = "/api/v1"

// Directory is what the admin API reads and writes: the tenants through the
// dialplan Reader and Writer, and all of them at once for listings.
type Directory interface {
	dialplan.Reader
	dialplan.Writer
	Export(ctx context.Context) (*dialplan.Directory, error)
}

// Registrations lists the live registrations of a tenant ("" = all).
type Registrations interface {
	Registrations(ctx context.Context, tenant string) ([]Registration, error)
}

// Calls lists the active calls.
type Calls interface {
	Calls() []Call
}

// CDRs lists the calls that finished most recently, of one tenant ("" =
// all), newest first, at most limit.
type CDRs interface {
	CDRs(tenant string, limit int) []CDR
}

// Unbinder drops every binding of an address-of-record ("john@acme.example"),
// so a deleted user's phones stop ringing at once.
type Unbinder interface {
	Unbind(ctx context.Context, aor string) error
}

// Registration is one registered contact, as GET registrations lists it.
type Registration struct {
	AOR       string    `json:"aor"`
	Tenant    string    `json:"tenant"`
	Contact   string    `json:"contact"`
	Source    string    `json:"source,omitempty"`
	Transport string    `json:"transport,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	Expires   time.Time `json:"expires"`
	Instance  string    `json:"instance,omitempty"`
}

// Call is one active call, as GET calls lists it.
type Call struct {
	CallID   string    `json:"call_id"`
	Tenant   string    `json:"tenant"`
	Caller   string    `json:"caller"`
	Callee   string    `json:"callee"`
	Kind     string    `json:"kind"`
	Answered time.Time `json:"answered"`
}

// CDR is one finished call, as GET cdrs lists it: the fields of the call's
// "cdr" log line.
type CDR struct {
	Ended   time.Time `json:"ended"`
	CallID  string    `json:"call_id"`
	Tenant  string    `json:"tenant"`
	Caller  string    `json:"caller"`
	Callee  string    `json:"callee"`
	Kind    string    `json:"kind"`
	Result  string    `json:"result"`
	SetupS  float64   `json:"setup_s"`
	TalkS   int       `json:"talk_s"`
	EndedBy string    `json:"ended_by,omitempty"`
	Trunk   string    `json:"trunk,omitempty"`
}

// APIConfig is what the admin API needs. Token and Directory are required;
// the read models and Unbinder may be nil (empty lists, no unbinding).
type APIConfig struct {
	Token         string
	Directory     Directory
	Registrations Registrations
	Calls         Calls
	CDRs          CDRs // GET /cdrs; nil = an empty list
	Unbinder      Unbinder
	// Voicemail serves …/voicemail (voicemail.go); nil answers them 404.
	Voicemail Voicemail
	// Accounts holds tenant admins, tenant tokens and sessions; nil keeps
	// them in process (a single instance).
	Accounts dialplan.Accounts
	// LoginLimit bounds failed sign-ins; zero fields take the defaults.
	LoginLimit LoginLimit
	Trunks     Trunks // GET /trunks (provider only); nil = an empty list
	Log        *slog.Logger
	// Bans lists and lifts the SIP edge's bans; nil = none listed.
	Bans Bans
	// Invite sends invitations (invite.go); a nil Mailer turns them off.
	Invite InviteConfig
}

// API is the admin API: an http.Handler for everything under APIPrefix,
// behind a bearer token.
type API struct {
	tokenSum [sha256.Size]byte
	dir      Directory
	regs     Registrations
	calls    Calls
	cdrs     CDRs
	trunks   Trunks
	unbinder Unbinder
	accounts dialplan.Accounts
	logins   *loginLimiter
	bans     Bans
	log      *slog.Logger
	mux      *http.ServeMux
	routes   []Route

	voicemail Voicemail    // voicemail.go
	invite    InviteConfig // invite.go
}

// Route is one registered endpoint: a method and a Go 1.22 ServeMux path
// pattern under APIPrefix.
type Route struct {
	Method string
	Path   string // e.g. "/tenants/{domain}/users/{id}"
	Scope  Scope
}

// handler is an endpoint that returns its error for errorFor to answer.
type handler func(w http.ResponseWriter, r *http.Request) error

// NewAPI builds the admin API.
func NewAPI(cfg APIConfig) (*API, error) {
	if cfg.Token == "" {
		return nil, errors.New("admin api: empty token")
	}
	if cfg.Directory == nil {
		return nil, errors.New("admin api: no directory")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Accounts == nil {
		cfg.Accounts = dialplan.NewMemoryAccounts()
	}
	a := &API{
		tokenSum: sha256.Sum256([]byte(cfg.Token)),
		dir:      cfg.Directory,
		regs:     cfg.Registrations,
		calls:    cfg.Calls,
		cdrs:     cfg.CDRs,
		trunks:   cfg.Trunks,
		unbinder: cfg.Unbinder,
		accounts: cfg.Accounts,
		logins:   newLoginLimiter(cfg.LoginLimit, time.Now),
		bans:     cfg.Bans,
		log:      cfg.Log,
		mux:      http.NewServeMux(),
	}
	a.voicemail = cfg.Voicemail
	a.invite = cfg.Invite
	a.routesTable()
	a.mux.Handle(APIPrefix+"/", a.serve(ScopeAny, func(w http.ResponseWriter, r *http.Request) error {
		return noSuchEndpoint(r)
	}))
	return a, nil
}

// routesTable registers every endpoint.
func (a *API) routesTable() {
	a.handleScoped("GET", "/tenants", ScopeAny, a.listTenants)
	a.handle("POST", "/tenants", a.createTenant)
	a.handle("GET", "/tenants/{domain}", a.getTenant)
	a.handle("PATCH", "/tenants/{domain}", a.patchTenant)
	a.handleScoped("DELETE", "/tenants/{domain}", ScopeProvider, a.deleteTenant)

	a.accountRoutes()

	crud(a, "/tenants/{domain}/users", userResource(a))
	a.handle("POST", "/tenants/{domain}/users/{id}/password", a.resetPassword)
	a.handle("POST", "/tenants/{domain}/users/import", a.importUsers)

	crud(a, "/tenants/{domain}/groups", groupResource())
	crud(a, "/tenants/{domain}/attendants", attendantResource())

	a.inventoryRoutes()
	a.handle("PUT", "/tenants/{domain}/numbers/{number}", a.putNumber)
	a.handle("DELETE", "/tenants/{domain}/numbers/{number}", a.deleteNumber)

	a.voicemailRoutes()
	a.greetingRoutes() // greetings.go
	a.selfServiceRoutes()
	a.inviteRoutes() // invite.go
	a.recordingRoutes()

	a.handleScoped("GET", "/registrations", ScopeAny, a.listRegistrations)
	a.handleScoped("GET", "/calls", ScopeAny, a.listCalls)
	a.handleScoped("GET", "/cdrs", ScopeAny, a.listCDRs)
	a.handle("GET", "/bans", a.listBans) // bans.go, provider only
	a.handle("DELETE", "/bans/{source}", a.liftBans)
	a.handle("GET", "/trunks", a.listTrunks) // provider only: carriers are the provider's
}

// handle registers an endpoint with the scope its path implies: tenant-
// scoped under /tenants/{domain}, provider-only elsewhere (see Scope).
func (a *API) handle(method, path string, h handler) {
	a.handleScoped(method, path, scopeFor(path), h)
}

// handleScoped registers an endpoint callable within scope s.
func (a *API) handleScoped(method, path string, s Scope, h handler) {
	a.routes = append(a.routes, Route{Method: method, Path: path, Scope: s})
	a.mux.Handle(method+" "+APIPrefix+path, a.serve(s, h))
}

// Routes returns every registered endpoint, for documentation checks.
func (a *API) Routes() []Route { return append([]Route(nil), a.routes...) }

// ServeHTTP resolves the request's principal (bearer token or session
// cookie), then routes; each route's handler first checks the principal
// against the route's scope (authorize), so no handler runs for a request
// it may not serve.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, err := a.authenticate(r)
	if err != nil && !errors.Is(err, errUnauthenticated) {
		a.writeError(w, r, err) // the account store failed: 5xx, not 401
		return
	}
	if p != nil {
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
	}
	a.mux.ServeHTTP(w, r)
}

func (a *API) serve(s Scope, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := authorize(PrincipalFrom(r.Context()), s, r)
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			a.writeError(w, r, err)
		}
	})
}

func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errUnauthenticated) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
		writeJSON(w, http.StatusUnauthorized, apiError{Error: "missing, wrong, revoked or expired credential (Authorization: Bearer TOKEN, or sign in)"})
		return
	}
	body := errorFor(err)
	if body.status >= 500 {
		a.log.Error("admin api", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	writeJSON(w, body.status, body)
}

// audit writes one log line per change: who, what, where. Never a password.
func (a *API) audit(r *http.Request, action, tenant, id string, attrs ...any) {
	a.log.Info("admin change", append([]any{
		"who", who(r), "action", action, "tenant", tenant, "id", id, "remote", r.RemoteAddr,
	}, attrs...)...)
}

// page reads ?limit and ?offset: limit 1-1000, default 100.
func page(r *http.Request) (limit, offset int, err error) {
	limit, offset = 100, 0
	q := r.URL.Query()
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 1000 {
			return 0, 0, badRequest("limit", "limit %q: want a number from 1 to 1000", s)
		}
	}
	if s := q.Get("offset"); s != "" {
		if offset, err = strconv.Atoi(s); err != nil || offset < 0 {
			return 0, 0, badRequest("offset", "offset %q: want a number from 0", s)
		}
	}
	return limit, offset, nil
}

// scopedTenant is the ?tenant of a listing as the principal may ask it: a
// tenant admin always gets its own tenant, and 404 for any other.
func scopedTenant(r *http.Request) (string, error) {
	tenant := strings.ToLower(r.URL.Query().Get("tenant"))
	p := PrincipalFrom(r.Context())
	if p.Provider() {
		return tenant, nil
	}
	if tenant != "" && !p.Sees(tenant) {
		return "", notFound("tenant %q", tenant)
	}
	return strings.ToLower(p.Tenant), nil
}

func (a *API) listRegistrations(w http.ResponseWriter, r *http.Request) error {
	tenant, err := scopedTenant(r)
	if err != nil {
		return err
	}
	if tenant != "" {
		if _, err := a.dir.Tenant(r.Context(), tenant); err != nil {
			return err
		}
	}
	regs := []Registration{}
	if a.regs != nil {
		got, err := a.regs.Registrations(r.Context(), tenant)
		if err != nil {
			return err
		}
		regs = append(regs, got...)
	}
	writeJSON(w, http.StatusOK, map[string]any{"registrations": regs})
	return nil
}

func (a *API) listCalls(w http.ResponseWriter, r *http.Request) error {
	tenant, err := scopedTenant(r)
	if err != nil {
		return err
	}
	calls := []Call{}
	if a.calls != nil {
		for _, c := range a.calls.Calls() {
			if tenant == "" || strings.EqualFold(c.Tenant, tenant) {
				calls = append(calls, c)
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": calls})
	return nil
}

// maxCDRs is the most GET cdrs returns: what the SIP server keeps per
// tenant.
const maxCDRs = 200

func (a *API) listCDRs(w http.ResponseWriter, r *http.Request) error {
	tenant, err := scopedTenant(r)
	if err != nil {
		return err
	}
	limit := 50
	if s := r.URL.Query().Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > maxCDRs {
			return badRequest("limit", "limit %q: want a number from 1 to %d", s, maxCDRs)
		}
	}
	if tenant != "" {
		if _, err := a.dir.Tenant(r.Context(), tenant); err != nil {
			return err
		}
	}
	cdrs := []CDR{}
	if a.cdrs != nil {
		cdrs = append(cdrs, a.cdrs.CDRs(tenant, limit)...)
	}
	writeJSON(w, http.StatusOK, map[string]any{"cdrs": cdrs})
	return nil
}
