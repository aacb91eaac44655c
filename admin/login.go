package admin

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/dialplan"
)

// sessionTTL is how long a console session lasts after sign-in.
const sessionTTL = 12 * time.Hour

// LoginLimit bounds failed sign-ins: once an account, or a source address,
// has failed Failures (or SourceFailures) times within Window, further
// attempts answer 429 without the password being checked, until the window
// passes. Counted per instance.
type LoginLimit struct {
	Failures       int           // per account (email); default 5
	SourceFailures int           // per source IP; default 20
	Window         time.Duration // default 15m
}

// loginLimiter counts failures per key in fixed windows.
type loginLimiter struct {
	lim LoginLimit
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*failWindow
}

type failWindow struct {
	start time.Time
	n     int
}

// maxLimiterKeys bounds the limiter's memory under a spray of sources.
const maxLimiterKeys = 100000

func newLoginLimiter(lim LoginLimit, now func() time.Time) *loginLimiter {
	if lim.Failures <= 0 {
		lim.Failures = 5
	}
	if lim.SourceFailures <= 0 {
		lim.SourceFailures = 20
	}
	if lim.Window <= 0 {
		lim.Window = 15 * time.Minute
	}
	return &loginLimiter{lim: lim, now: now, m: map[string]*failWindow{}}
}

// blocked reports how long until key may try again (0: it may now).
func (l *loginLimiter) blocked(key string, max int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.m[key]
	if !ok {
		return 0
	}
	left := l.lim.Window - l.now().Sub(w.start)
	if left <= 0 {
		delete(l.m, key)
		return 0
	}
	if w.n >= max {
		return left
	}
	return 0
}

func (l *loginLimiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.m) >= maxLimiterKeys {
		for k, w := range l.m {
			if now.Sub(w.start) >= l.lim.Window {
				delete(l.m, k)
			}
		}
	}
	w, ok := l.m[key]
	if !ok || now.Sub(w.start) >= l.lim.Window {
		w = &failWindow{start: now}
		l.m[key] = w
	}
	w.n++
}

type loginBody struct {
	Email    string `json:"email,omitempty"`
	Password string `json:"password,omitempty"`
	// Token signs in with a bearer token instead (the provider token or a
	// tenant token), so the provider can use the console too.
	Token string `json:"token,omitempty"`
}

// sessionInfo is what login and GET session answer.
type sessionInfo struct {
	Role    Role      `json:"role"`
	Tenant  string    `json:"tenant,omitempty"`
	Email   string    `json:"email,omitempty"`
	User    string    `json:"user,omitempty"` // the user id of a self-service session
	Who     string    `json:"who"`
	CSRF    string    `json:"csrf,omitempty"`
	Expires time.Time `json:"expires,omitzero"`
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

var errBadLogin = &requestError{status: http.StatusUnauthorized, msg: "wrong email or password"}

// login checks an email and password (or a token) and opens a session:
// an HttpOnly, SameSite=Strict cookie (Secure when the request came over
// TLS), and a CSRF token in the body that cookie-authenticated writes echo
// in X-CSRF-Token.
func (a *API) login(w http.ResponseWriter, r *http.Request) error {
	var body loginBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	src := "src:" + sourceIP(r)
	acct := "acct:" + strings.ToLower(strings.TrimSpace(body.Email))
	if body.Token != "" {
		acct = "acct:token"
	}
	for _, k := range []struct {
		key string
		max int
	}{{src, a.logins.lim.SourceFailures}, {acct, a.logins.lim.Failures}} {
		if left := a.logins.blocked(k.key, k.max); left > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(left.Seconds())+1))
			a.log.Warn("admin login rate-limited", "email", body.Email, "remote", r.RemoteAddr)
			return &requestError{status: http.StatusTooManyRequests,
				msg: fmt.Sprintf("too many failed sign-ins; try again in %s", left.Round(time.Second))}
		}
	}
	s, err := a.checkLogin(r, body)
	if errors.Is(err, errBadLogin) || errors.Is(err, errUnauthenticated) {
		a.logins.fail(src)
		if body.Token == "" {
			a.logins.fail(acct)
		}
		a.log.Warn("admin login failed", "email", body.Email, "remote", r.RemoteAddr)
		return errBadLogin
	}
	if err != nil {
		return err
	}
	cookie := rand.Text() + rand.Text()
	s.Hash, s.CSRF, s.Expires = hashSecret(cookie), rand.Text(), time.Now().Add(sessionTTL).UTC().Truncate(time.Second)
	if err := a.accounts.CreateSession(r.Context(), s); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: cookie, Path: "/", MaxAge: int(sessionTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: behindTLS(r),
	})
	a.log.Info("admin login", "who", s.Who, "tenant", s.Tenant, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, infoOf(s))
	return nil
}

// behindTLS reports whether the client reached us over TLS, directly or
// through a proxy that says so.
func behindTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// checkLogin returns the session to open for body, or errBadLogin.
func (a *API) checkLogin(r *http.Request, body loginBody) (dialplan.Session, error) {
	if body.Token != "" {
		p, err := a.tokenPrincipal(r.Context(), body.Token)
		if err != nil {
			return dialplan.Session{}, err
		}
		s := dialplan.Session{Tenant: p.Tenant, Who: p.Who}
		if !p.Provider() {
			s.TokenHash = hashSecret(body.Token)
		}
		return s, nil
	}
	if body.Email == "" || body.Password == "" {
		return dialplan.Session{}, badRequest("email", "email and password: required")
	}
	adm, err := a.accounts.Admin(r.Context(), body.Email)
	hash := adm.PasswordHash
	switch {
	case errors.Is(err, dialplan.ErrNotFound):
		return a.checkUserLogin(r, body) // selfservice.go
	case err != nil:
		return dialplan.Session{}, err
	}
	ok, herr := checkPassword(hash, body.Password)
	if err != nil || !ok {
		return dialplan.Session{}, errBadLogin
	}
	if herr != nil {
		return dialplan.Session{}, herr
	}
	return dialplan.Session{Email: adm.Email, Tenant: adm.Tenant, Who: "admin:" + adm.Email}, nil
}

func infoOf(s dialplan.Session) sessionInfo {
	in := sessionInfo{Role: RoleTenantAdmin, Tenant: s.Tenant, Email: s.Email, User: s.User, Who: s.Who, CSRF: s.CSRF, Expires: s.Expires}
	switch {
	case s.User != "":
		in.Role = RoleUser
	case s.Tenant == "":
		in.Role = RoleProvider
	}
	return in
}

// logout ends the request's session (a no-op for bearer tokens) and
// clears the cookie.
func (a *API) logout(w http.ResponseWriter, r *http.Request) error {
	if p := PrincipalFrom(r.Context()); p != nil && p.session != nil {
		if err := a.accounts.DeleteSession(r.Context(), p.session.Hash); err != nil {
			return err
		}
		a.log.Info("admin logout", "who", p.Who, "remote", r.RemoteAddr)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: behindTLS(r)})
	writeJSON(w, http.StatusOK, map[string]string{"status": "signed out"})
	return nil
}

// session answers who the request acts as (and, for a cookie session, its
// CSRF token, which a page reloaded from the cookie needs).
func (a *API) session(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	if p.session != nil {
		writeJSON(w, http.StatusOK, infoOf(*p.session))
		return nil
	}
	writeJSON(w, http.StatusOK, sessionInfo{Role: p.Role, Tenant: p.Tenant, Who: p.Who})
	return nil
}
