package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
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

// APIConfig is what the admin API needs. Token and Directory are required;
// the read models and Unbinder may be nil (empty lists, no unbinding).
type APIConfig struct {
	Token         string
	Directory     Directory
	Registrations Registrations
	Calls         Calls
	Unbinder      Unbinder
	Log           *slog.Logger
}

// API is the admin API: an http.Handler for everything under APIPrefix,
// behind a bearer token.
type API struct {
	tokenSum [sha256.Size]byte
	dir      Directory
	regs     Registrations
	calls    Calls
	unbinder Unbinder
	log      *slog.Logger
	mux      *http.ServeMux
	routes   []Route
}

// Route is one registered endpoint: a method and a Go 1.22 ServeMux path
// pattern under APIPrefix.
type Route struct {
	Method string
	Path   string // e.g. "/tenants/{domain}/users/{id}"
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
	a := &API{
		tokenSum: sha256.Sum256([]byte(cfg.Token)),
		dir:      cfg.Directory,
		regs:     cfg.Registrations,
		calls:    cfg.Calls,
		unbinder: cfg.Unbinder,
		log:      cfg.Log,
		mux:      http.NewServeMux(),
	}
	a.routesTable()
	a.mux.HandleFunc(APIPrefix+"/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, apiError{Error: "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
	return a, nil
}

// routesTable registers every endpoint.
func (a *API) routesTable() {
	a.handle("GET", "/tenants", a.listTenants)
	a.handle("POST", "/tenants", a.createTenant)
	a.handle("GET", "/tenants/{domain}", a.getTenant)
	a.handle("PATCH", "/tenants/{domain}", a.patchTenant)
	a.handle("DELETE", "/tenants/{domain}", a.deleteTenant)

	crud(a, "/tenants/{domain}/users", userResource(a))
	a.handle("POST", "/tenants/{domain}/users/{id}/password", a.resetPassword)
	a.handle("POST", "/tenants/{domain}/users/import", a.importUsers)

	crud(a, "/tenants/{domain}/groups", groupResource())
	crud(a, "/tenants/{domain}/attendants", attendantResource())

	a.handle("GET", "/tenants/{domain}/numbers", a.listNumbers)
	a.handle("PUT", "/tenants/{domain}/numbers/{number}", a.putNumber)
	a.handle("DELETE", "/tenants/{domain}/numbers/{number}", a.deleteNumber)

	a.handle("GET", "/registrations", a.listRegistrations)
	a.handle("GET", "/calls", a.listCalls)
}

func (a *API) handle(method, path string, h handler) {
	a.routes = append(a.routes, Route{Method: method, Path: path})
	a.mux.Handle(method+" "+APIPrefix+path, a.serve(h))
}

// Routes returns every registered endpoint, for documentation checks.
func (a *API) Routes() []Route { return append([]Route(nil), a.routes...) }

// ServeHTTP checks the bearer token, then routes. A request without the
// right token gets 401 and reaches no handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !a.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
		writeJSON(w, http.StatusUnauthorized, apiError{Error: "missing or wrong bearer token (Authorization: Bearer TOKEN)"})
		return
	}
	a.mux.ServeHTTP(w, r)
}

// authorized compares the bearer token in constant time (hashing first so
// that the length does not leak either).
func (a *API) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(sum[:], a.tokenSum[:]) == 1
}

func (a *API) serve(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		body := errorFor(err)
		if body.status >= 500 {
			a.log.Error("admin api", "method", r.Method, "path", r.URL.Path, "error", err)
		}
		writeJSON(w, body.status, body)
	})
}

// audit writes one log line per change: who, what, where. Never a password.
func (a *API) audit(r *http.Request, action, tenant, id string, attrs ...any) {
	a.log.Info("admin change", append([]any{
		"who", "admin token", "action", action, "tenant", tenant, "id", id, "remote", r.RemoteAddr,
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

func (a *API) listRegistrations(w http.ResponseWriter, r *http.Request) error {
	tenant := strings.ToLower(r.URL.Query().Get("tenant"))
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
	tenant := strings.ToLower(r.URL.Query().Get("tenant"))
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
