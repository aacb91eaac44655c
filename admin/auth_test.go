package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard/switchboard/dialplan"
)

// client is one credential: a bearer token, or a session cookie with its
// CSRF token.
type client struct {
	bearer, cookie, csrf string
}

func (e *apiEnv) call(t *testing.T, c client, method, path, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: c.cookie})
	}
	if c.csrf != "" {
		req.Header.Set(csrfHeader, c.csrf)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	if out == nil {
		out = map[string]any{"raw": rec.Body.String()}
	}
	return rec.Code, out, rec.Header()
}

var provider = client{bearer: testToken}

// mint creates a tenant token as the provider.
func (e *apiEnv) mint(t *testing.T, domain string) (id, token string) {
	t.Helper()
	code, body, _ := e.call(t, provider, "POST", "/api/v1/tenants/"+domain+"/tokens", `{"name":"test"}`)
	if code != http.StatusCreated {
		t.Fatalf("mint token for %s = %d %v", domain, code, body)
	}
	return body["id"].(string), body["token"].(string)
}

// signIn creates an admin of domain and signs in, returning its cookie
// client.
func (e *apiEnv) signIn(t *testing.T, domain, email string) client {
	t.Helper()
	code, body, _ := e.call(t, provider, "POST", "/api/v1/tenants/"+domain+"/admins", `{"email":"`+email+`","name":"Pat"}`)
	if code != http.StatusCreated {
		t.Fatalf("create admin = %d %v", code, body)
	}
	pw, _ := body["password"].(string)
	if len(pw) < 20 {
		t.Fatalf("generated password %q, want a long one shown once", pw)
	}
	return e.login(t, email, pw)
}

func (e *apiEnv) login(t *testing.T, email, pw string) client {
	t.Helper()
	req := httptest.NewRequest("POST", "/api/v1/login", strings.NewReader(`{"email":"`+email+`","password":"`+pw+`"}`))
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("login %s = %d %s", email, rec.Code, rec.Body)
	}
	var info sessionInfo
	if err := json.Unmarshal(rec.Body.Bytes(), &info); err != nil || info.CSRF == "" {
		t.Fatalf("login answer %s: %v", rec.Body, err)
	}
	var cookie *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == sessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Secure {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Strict, not Secure over plain HTTP", cookie)
	}
	return client{cookie: cookie.Value, csrf: info.CSRF}
}

// accountsOf lists what the account store holds for domain.
func (e *apiEnv) accountsOf(t *testing.T, domain string) ([]dialplan.Admin, []dialplan.Token) {
	t.Helper()
	as, err := e.api.accounts.Admins(context.Background(), domain)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := e.api.accounts.Tokens(context.Background(), domain)
	if err != nil {
		t.Fatal(err)
	}
	return as, ts
}

// TestTenantCredentialNeverReachesAnotherTenant walks EVERY registered
// route with a globex credential (a token, and a cookie session with its
// CSRF token) aimed at acme: each answers 404 (or, for the listings every
// principal may call, nothing of acme), and neither acme's directory nor
// its accounts change.
func TestTenantCredentialNeverReachesAnotherTenant(t *testing.T) {
	e := newAPIEnv(t)
	acmeTokenID, _ := e.mint(t, "acme.example")
	e.signIn(t, "acme.example", "root@acme.example")
	_, globexToken := e.mint(t, "globex.example")
	globexCookie := e.signIn(t, "globex.example", "admin@globex.example")
	beforeDir := e.export(t)
	beforeAdmins, beforeTokens := e.accountsOf(t, "acme.example")

	fill := strings.NewReplacer("{domain}", "acme.example", "{id}", "alice", "{number}", "+14155550100",
		"{email}", "root@acme.example", "{msg}", "m1", "{source}", "192.0.2.1", "{n}", "+14155550100")
	bodies := []string{`{}`, `{"id":"alice","name":"x","extensions":["7999"]}`, `{"target":"user:bob","number":"+14155550100","tenant":"globex.example"}`}
	checked := 0
	for _, route := range e.api.Routes() {
		if route.Scope == ScopePublic || route.Path == "/logout" { // logout would end the cookie session the walk uses
			continue
		}
		path := fill.Replace(route.Path)
		if route.Path == "/tenants/{domain}/tokens/{id}" {
			path = "/tenants/acme.example/tokens/" + acmeTokenID
		}
		for name, c := range map[string]client{"token": {bearer: globexToken}, "cookie": globexCookie} {
			for _, body := range bodies {
				t.Run(name+" "+route.Method+" "+route.Path, func(t *testing.T) {
					code, got, _ := e.call(t, c, route.Method, "/api/v1"+path, body)
					raw, _ := json.Marshal(got)
					switch route.Scope {
					case ScopeAny, ScopeSignedIn:
						if strings.Contains(string(raw), "acme") || strings.Contains(string(raw), "alice") {
							t.Errorf("%s %s = %d %s: shows acme's data", route.Method, path, code, raw)
						}
					default:
						if code != http.StatusNotFound {
							t.Errorf("%s %s = %d %s, want 404", route.Method, path, code, raw)
						}
					}
				})
				checked++
			}
		}
	}
	if checked < 3*2*30 {
		t.Errorf("checked %d requests, want every route", checked)
	}
	// ?tenant= on the listings every principal may call is narrowed too.
	for _, path := range []string{"/api/v1/registrations?tenant=acme.example", "/api/v1/calls?tenant=acme.example", "/api/v1/cdrs?tenant=acme.example"} {
		if code, body, _ := e.call(t, client{bearer: globexToken}, "GET", path, ""); code != http.StatusNotFound {
			t.Errorf("GET %s as globex = %d %v, want 404", path, code, body)
		}
	}
	if diff := cmp.Diff(beforeDir, e.export(t)); diff != "" {
		t.Errorf("acme's directory changed (-before +after):\n%s", diff)
	}
	afterAdmins, afterTokens := e.accountsOf(t, "acme.example")
	if diff := cmp.Diff(beforeAdmins, afterAdmins); diff != "" {
		t.Errorf("acme's admins changed:\n%s", diff)
	}
	if diff := cmp.Diff(beforeTokens, afterTokens); diff != "" {
		t.Errorf("acme's tokens changed:\n%s", diff)
	}
}

func TestTenantAdminSeesItsOwnTenant(t *testing.T) {
	e := newAPIEnv(t)
	_, tok := e.mint(t, "acme.example")
	c := client{bearer: tok}
	code, body, _ := e.call(t, c, "GET", "/api/v1/tenants", "")
	if code != 200 {
		t.Fatalf("GET /tenants = %d %v", code, body)
	}
	ts := body["tenants"].([]any)
	if len(ts) != 1 || ts[0].(map[string]any)["domain"] != "acme.example" {
		t.Errorf("GET /tenants as acme = %v, want acme only", ts)
	}
	for _, tt := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/api/v1/tenants/ACME.example/users/alice", "", 200},
		{"POST", "/api/v1/tenants/acme.example/users", `{"id":"dora","name":"Dora D"}`, 201},
		{"PATCH", "/api/v1/tenants/acme.example", `{"name":"Acme Corp"}`, 200},
		{"GET", "/api/v1/registrations", "", 200},
		{"GET", "/api/v1/session", "", 200},
		{"POST", "/api/v1/tenants/acme.example/tokens", `{"name":"mine"}`, 201},
		{"POST", "/api/v1/tenants/acme.example/admins", `{"email":"b@acme.example","password":"long-enough-pw"}`, 201},
		// Provider-only: as if they did not exist.
		{"POST", "/api/v1/tenants", `{"domain":"x.example","name":"X"}`, 404},
		{"DELETE", "/api/v1/tenants/acme.example?force=true", "", 404},
	} {
		if code, body, _ := e.call(t, c, tt.method, tt.path, tt.body); code != tt.want {
			t.Errorf("%s %s as acme admin = %d %v, want %d", tt.method, tt.path, code, body, tt.want)
		}
	}
	code, body, _ = e.call(t, c, "GET", "/api/v1/registrations", "")
	regs, _ := json.Marshal(body)
	if code != 200 || strings.Contains(string(regs), "globex") || !strings.Contains(string(regs), "alice@acme.example") {
		t.Errorf("GET /registrations as acme = %d %s, want acme's only", code, regs)
	}
	if !strings.Contains(e.logs.String(), "who=token:") {
		t.Errorf("audit log does not name the token:\n%s", e.logs)
	}
}

func TestTokenRevocation(t *testing.T) {
	e := newAPIEnv(t)
	id, tok := e.mint(t, "acme.example")
	c := client{bearer: tok}
	if code, _, _ := e.call(t, c, "GET", "/api/v1/tenants/acme.example/users", ""); code != 200 {
		t.Fatalf("fresh token: %d", code)
	}
	code, body, _ := e.call(t, provider, "GET", "/api/v1/tenants/acme.example/tokens", "")
	raw, _ := json.Marshal(body)
	if code != 200 || !strings.Contains(string(raw), id) || strings.Contains(string(raw), tok) {
		t.Errorf("token list = %d %s, want the id and never the token", code, raw)
	}
	// A session opened with the token ends with it too.
	sess := e.loginToken(t, tok)
	if code, body, _ := e.call(t, c, "DELETE", "/api/v1/tenants/acme.example/tokens/"+id, ""); code != 200 {
		t.Fatalf("revoke = %d %v", code, body)
	}
	for name, cl := range map[string]client{"token": c, "session": sess} {
		if code, body, _ := e.call(t, cl, "GET", "/api/v1/tenants/acme.example/users", ""); code != http.StatusUnauthorized {
			t.Errorf("%s after revocation = %d %v, want 401", name, code, body)
		}
	}
	if code, _, _ := e.call(t, provider, "DELETE", "/api/v1/tenants/acme.example/tokens/"+id, ""); code != 404 {
		t.Errorf("revoke twice = %d, want 404", code)
	}
}

func (e *apiEnv) loginToken(t *testing.T, tok string) client {
	t.Helper()
	req := httptest.NewRequest("POST", "/api/v1/login", strings.NewReader(`{"token":"`+tok+`"}`))
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	var info sessionInfo
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &info) != nil {
		t.Fatalf("token login = %d %s", rec.Code, rec.Body)
	}
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == sessionCookie {
			return client{cookie: ck.Value, csrf: info.CSRF}
		}
	}
	t.Fatal("no session cookie")
	return client{}
}

func TestSessionCSRFAndLogout(t *testing.T) {
	e := newAPIEnv(t)
	c := e.signIn(t, "acme.example", "pat@acme.example")
	if code, body, _ := e.call(t, c, "GET", "/api/v1/session", ""); code != 200 || body["tenant"] != "acme.example" || body["csrf"] != c.csrf {
		t.Errorf("GET /session = %d %v", code, body)
	}
	noCSRF := client{cookie: c.cookie}
	wrong := client{cookie: c.cookie, csrf: c.csrf + "x"}
	for name, cl := range map[string]client{"without": noCSRF, "wrong": wrong} {
		if code, body, _ := e.call(t, cl, "POST", "/api/v1/tenants/acme.example/users", `{"id":"eve"}`); code != http.StatusForbidden || body["field"] != csrfHeader {
			t.Errorf("cookie write %s CSRF token = %d %v, want 403", name, code, body)
		}
	}
	if e.user(t, "eve") != nil {
		t.Fatal("a write without the CSRF token changed the directory")
	}
	if code, _, _ := e.call(t, noCSRF, "GET", "/api/v1/tenants/acme.example/users", ""); code != 200 {
		t.Errorf("cookie read without CSRF = %d, want 200 (reads need none)", code)
	}
	if code, body, _ := e.call(t, c, "POST", "/api/v1/tenants/acme.example/users", `{"id":"eve"}`); code != 201 {
		t.Errorf("cookie write with CSRF = %d %v, want 201", code, body)
	}
	if !strings.Contains(e.logs.String(), "who=admin:pat@acme.example action=user.create") {
		t.Errorf("audit line does not name the admin:\n%s", e.logs)
	}
	if code, _, _ := e.call(t, c, "POST", "/api/v1/logout", ""); code != 200 {
		t.Fatalf("logout = %d", code)
	}
	if code, _, _ := e.call(t, c, "GET", "/api/v1/tenants/acme.example/users", ""); code != http.StatusUnauthorized {
		t.Errorf("after logout = %d, want 401", code)
	}
}

func TestAdmins(t *testing.T) {
	e := newAPIEnv(t)
	code, body, _ := e.call(t, provider, "POST", "/api/v1/tenants/acme.example/admins", `{"email":"ann@acme.example","name":"Ann","password":"correct horse battery"}`)
	if code != 201 || body["password"] != nil {
		t.Fatalf("create with a password = %d %v, want 201 and no password shown", code, body)
	}
	if code, body, _ := e.call(t, provider, "POST", "/api/v1/tenants/globex.example/admins", `{"email":"ANN@acme.example"}`); code != 409 {
		t.Errorf("same email in another tenant = %d %v, want 409", code, body)
	}
	for _, bad := range []string{`{"email":"not an email"}`, `{"email":"x@y.example","password":"short"}`} {
		if code, body, _ := e.call(t, provider, "POST", "/api/v1/tenants/acme.example/admins", bad); code != 400 {
			t.Errorf("create %s = %d %v, want 400", bad, code, body)
		}
	}
	c := e.login(t, "ann@acme.example", "correct horse battery")
	code, body, _ = e.call(t, c, "GET", "/api/v1/tenants/acme.example/admins/ann@acme.example", "")
	raw, _ := json.Marshal(body)
	if code != 200 || strings.Contains(string(raw), "argon2") || strings.Contains(string(raw), "horse") {
		t.Errorf("GET admin = %d %s, want no hash or password", code, raw)
	}
	if code, _, _ := e.call(t, provider, "GET", "/api/v1/tenants/globex.example/admins/ann@acme.example", ""); code != 404 {
		t.Errorf("acme's admin under globex = %d, want 404", code)
	}
	if strings.Contains(e.logs.String(), "horse") {
		t.Errorf("a password reached the log:\n%s", e.logs)
	}
	if code, _, _ := e.call(t, provider, "DELETE", "/api/v1/tenants/acme.example/admins/ann@acme.example", ""); code != 200 {
		t.Fatalf("delete admin = %d", code)
	}
	if code, _, _ := e.call(t, c, "GET", "/api/v1/tenants/acme.example/users", ""); code != http.StatusUnauthorized {
		t.Errorf("session of a deleted admin = %d, want 401", code)
	}
	// Deleting a tenant takes its accounts with it.
	_, tok := e.mint(t, "globex.example")
	e.signIn(t, "globex.example", "g@globex.example")
	if code, _, _ := e.call(t, provider, "DELETE", "/api/v1/tenants/globex.example?force=true", ""); code != 200 {
		t.Fatal("delete globex")
	}
	if as, ts := e.accountsOf(t, "globex.example"); len(as)+len(ts) != 0 {
		t.Errorf("accounts of a deleted tenant: %v %v", as, ts)
	}
	if code, _, _ := e.call(t, client{bearer: tok}, "GET", "/api/v1/tenants", ""); code != 401 {
		t.Errorf("token of a deleted tenant = %d, want 401", code)
	}
}

func TestLoginRateLimit(t *testing.T) {
	e := newAPIEnv(t)
	now := time.Unix(1700000000, 0)
	e.api.logins = newLoginLimiter(LoginLimit{Failures: 3, SourceFailures: 5, Window: time.Minute}, func() time.Time { return now })
	for _, email := range []string{"a@acme.example", "b@acme.example"} {
		if code, _, _ := e.call(t, provider, "POST", "/api/v1/tenants/acme.example/admins", `{"email":"`+email+`","password":"right-password"}`); code != 201 {
			t.Fatal("create admin")
		}
	}
	try := func(email, pw string) int {
		req := httptest.NewRequest("POST", "/api/v1/login", strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, email, pw)))
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
		return rec.Code
	}
	for i := range 3 {
		if code := try("a@acme.example", "wrong"); code != 401 {
			t.Fatalf("failure %d = %d, want 401", i+1, code)
		}
	}
	if code := try("a@acme.example", "right-password"); code != 429 {
		t.Errorf("the account after 3 failures, right password = %d, want 429", code)
	}
	if code := try("b@acme.example", "right-password"); code != 200 {
		t.Errorf("another account from the same source = %d, want 200", code)
	}
	for range 2 { // source failures 4 and 5
		try("nobody@acme.example", "x")
	}
	if code := try("b@acme.example", "right-password"); code != 429 {
		t.Errorf("any account from a source with 5 failures = %d, want 429", code)
	}
	now = now.Add(time.Minute)
	if code := try("a@acme.example", "right-password"); code != 200 {
		t.Errorf("after the window = %d, want 200", code)
	}
}

func TestOpenAPIServed(t *testing.T) {
	e := newAPIEnv(t)
	code, body, hdr := e.call(t, client{}, "GET", "/api/v1/openapi.yaml", "")
	if code != 200 || !strings.Contains(body["raw"].(string), "/tenants/{domain}/tokens") || hdr.Get("Content-Type") != "application/yaml" {
		t.Errorf("GET openapi.yaml = %d %.80v", code, body)
	}
	if code, _, _ := e.call(t, client{}, "GET", "/api/v1/tenants", ""); code != 401 {
		t.Errorf("no credential = %d, want 401", code)
	}
}

func TestPasswordHash(t *testing.T) {
	h := hashPassword("pw-1")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || h == hashPassword("pw-1") {
		t.Errorf("hash %q: want a salted argon2id PHC string", h)
	}
	for pw, want := range map[string]bool{"pw-1": true, "pw-2": false, "": false} {
		if got, err := checkPassword(h, pw); got != want || err != nil {
			t.Errorf("checkPassword(%q) = %v, %v; want %v", pw, got, err, want)
		}
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=0,t=1,p=1$AA$AA", "$bcrypt$x", h[:len(h)-60]} {
		if ok, err := checkPassword(bad, "pw-1"); ok || err == nil {
			t.Errorf("checkPassword(%q) = %v, %v; want an error", bad, ok, err)
		}
	}
}
