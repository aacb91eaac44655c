package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// signInUser gives a user an email and a portal password as the provider,
// then signs in as that user.
func (e *apiEnv) signInUser(t *testing.T, id, email, pw string) client {
	t.Helper()
	if code, body, _ := e.call(t, provider, "PATCH", "/api/v1/tenants/acme.example/users/"+id, `{"email":"`+email+`"}`); code != 200 {
		t.Fatalf("set email of %s = %d %v", id, code, body)
	}
	code, body, _ := e.call(t, provider, "POST", "/api/v1/tenants/acme.example/users/"+id+"/portal-password", `{"password":"`+pw+`"}`)
	if code != 200 || body["password"] != nil {
		t.Fatalf("portal-password %s = %d %v, want 200 and no password echoed", id, code, body)
	}
	return e.login(t, email, pw)
}

func TestSelfService(t *testing.T) {
	e := newAPIEnv(t)
	bob := e.signInUser(t, "bob", "bob@acme.example", "bob-portal-pw")

	t.Run("session says user", func(t *testing.T) {
		code, body, _ := e.call(t, bob, "GET", "/api/v1/session", "")
		if code != 200 || body["role"] != "user" || body["user"] != "bob" || body["tenant"] != "acme.example" {
			t.Errorf("GET session = %d %v, want role user bob of acme.example", code, body)
		}
	})
	t.Run("get me", func(t *testing.T) {
		code, body, _ := e.call(t, bob, "GET", "/api/v1/me", "")
		raw, _ := json.Marshal(body)
		if code != 200 || body["id"] != "bob" || body["last_name"] != "Brown" || body["main_number"] != "+14155550100" {
			t.Errorf("GET me = %d %s", code, raw)
		}
		for _, secret := range []string{"ha1", "hash", "argon2", "password"} {
			if strings.Contains(string(raw), secret) {
				t.Errorf("GET me shows %q: %s", secret, raw)
			}
		}
	})
	t.Run("patch own forwarding and caller id", func(t *testing.T) {
		code, body, _ := e.call(t, bob, "PATCH", "/api/v1/me", `{"forward":{"number":"+14085551234","when":"always","screening":true},"caller_id":"main"}`)
		if code != 200 {
			t.Fatalf("PATCH me = %d %v", code, body)
		}
		u := e.user(t, "bob")
		if u.Forward == nil || u.Forward.Number != "+14085551234" || !u.Forward.Screening || u.CallerID != "main" || u.Name != "Bob Brown" {
			t.Errorf("bob after PATCH me = %+v", u)
		}
		if code, body, _ := e.call(t, bob, "PATCH", "/api/v1/me", `{"forward":null}`); code != 200 || e.user(t, "bob").Forward != nil {
			t.Errorf("PATCH me forward null = %d %v, want forwarding off", code, body)
		}
		// The SIP password still works: a self-service change keeps credentials.
		if len(e.user(t, "bob").Credentials) == 0 {
			t.Error("PATCH me lost bob's SIP credentials")
		}
	})
	t.Run("patch without csrf", func(t *testing.T) {
		noCSRF := bob
		noCSRF.csrf = ""
		if code, _, _ := e.call(t, noCSRF, "PATCH", "/api/v1/me", `{"caller_id":"main"}`); code != http.StatusForbidden {
			t.Errorf("PATCH me without CSRF = %d, want 403", code)
		}
	})
	t.Run("fields a user may not change", func(t *testing.T) {
		before := e.export(t)
		for _, body := range []string{
			`{"name":"Robert"}`, `{"first_name":"Rob"}`, `{"extensions":["7999"]}`, `{"direct_number":"+14155550102"}`,
			`{"id":"alice"}`, `{"password":"new-sip-password"}`, `{"email":"x@acme.example"}`, `{"aliases":["bob-x"]}`,
			`{"portal_password_hash":"x"}`, `{"voicemail":{"enabled":true}}`, `{"voicemail":null}`, `{"forward":{"number":"+14085551234"},"mobile":"+1"}`,
		} {
			code, got, _ := e.call(t, bob, "PATCH", "/api/v1/me", body)
			if code != http.StatusBadRequest || got["field"] == "" {
				t.Errorf("PATCH me %s = %d %v, want 400 naming the field", body, code, got)
			}
		}
		if code, got, _ := e.call(t, bob, "PATCH", "/api/v1/me", `{"voicemail":{"pin":"1234"}}`); code != http.StatusBadRequest {
			t.Errorf("PATCH me voicemail pin without voicemail = %d %v, want 400", code, got)
		}
		if diff := cmp.Diff(before, e.export(t)); diff != "" {
			t.Errorf("refused PATCHes changed the directory:\n%s", diff)
		}
	})
	t.Run("voicemail pin and greeting", func(t *testing.T) {
		if code, body, _ := e.call(t, provider, "PATCH", "/api/v1/tenants/acme.example/users/alice", `{"voicemail":{"enabled":true,"pin":"1234"}}`); code != 200 {
			t.Fatalf("enable alice's voicemail = %d %v", code, body)
		}
		alice := e.signInUser(t, "alice", "alice@acme.example", "alice-portal-pw")
		old := e.user(t, "alice").Voicemail.PINHash
		code, body, _ := e.call(t, alice, "PATCH", "/api/v1/me", `{"voicemail":{"pin":"98765","greeting":"alice-away"}}`)
		if code != 200 || body["voicemail"].(map[string]any)["pin_set"] != true {
			t.Fatalf("PATCH me voicemail = %d %v", code, body)
		}
		vm := e.user(t, "alice").Voicemail
		if vm.PINHash == old || vm.PINHash == "" || vm.Greeting != "alice-away" || !vm.Enabled {
			t.Errorf("alice's voicemail = %+v, want a new PIN hash, the greeting and still enabled", vm)
		}
		if code, body, _ := e.call(t, alice, "PATCH", "/api/v1/me", `{"voicemail":{"pin":"12"}}`); code != http.StatusBadRequest {
			t.Errorf("PATCH me short PIN = %d %v, want 400", code, body)
		}
	})
	t.Run("admins have no me", func(t *testing.T) {
		for _, c := range []client{provider, e.signIn(t, "acme.example", "root@acme.example")} {
			if code, body, _ := e.call(t, c, "GET", "/api/v1/me", ""); code != http.StatusNotFound {
				t.Errorf("GET me as an admin = %d %v, want 404", code, body)
			}
		}
	})
	t.Run("wrong passwords", func(t *testing.T) {
		for _, body := range []string{`{"email":"bob@acme.example","password":"wrong-password"}`,
			`{"email":"carol@acme.example","password":"bob-portal-pw"}`} {
			if code, got, _ := e.call(t, client{}, "POST", "/api/v1/login", body); code != http.StatusUnauthorized {
				t.Errorf("login %s = %d %v, want 401", body, code, got)
			}
		}
		if code, body, _ := e.call(t, provider, "POST", "/api/v1/tenants/acme.example/users/carol/portal-password", `{"password":"carol-portal-pw"}`); code != http.StatusConflict || body["field"] != "email" {
			t.Errorf("portal-password for a user without email = %d %v, want 409 email", code, body)
		}
		if code, body, _ := e.call(t, provider, "POST", "/api/v1/tenants/acme.example/users/bob/portal-password", `{"password":"short"}`); code != http.StatusBadRequest {
			t.Errorf("short portal password = %d %v, want 400", code, body)
		}
	})
	t.Run("admin api hides the hash and keeps it", func(t *testing.T) {
		_, body, _ := e.call(t, provider, "GET", "/api/v1/tenants/acme.example/users/bob", "")
		if body["portal_password_hash"] != nil {
			t.Errorf("GET user shows the portal hash: %v", body)
		}
		// An admin PUT cannot set or drop it.
		if code, body, _ := e.call(t, provider, "PUT", "/api/v1/tenants/acme.example/users/bob", `{"id":"bob","name":"Bob Brown","email":"bob@acme.example","extensions":["7002"],"portal_password_hash":"$argon2id$x"}`); code != 200 {
			t.Fatalf("PUT bob = %d %v", code, body)
		}
		if h := e.user(t, "bob").PortalHash; !strings.HasPrefix(h, "$argon2id$v=") || h == "$argon2id$x" {
			t.Errorf("bob's portal hash after PUT = %q, want the one set through portal-password", h)
		}
		e.login(t, "bob@acme.example", "bob-portal-pw")
	})
	t.Run("deleted user's session ends", func(t *testing.T) {
		if code, body, _ := e.call(t, provider, "POST", "/api/v1/tenants/acme.example/users", `{"id":"dave","name":"Dave Dunn"}`); code != 201 {
			t.Fatalf("POST dave = %d %v", code, body)
		}
		dave := e.signInUser(t, "dave", "dave@acme.example", "dave-portal-pw")
		if code, body, _ := e.call(t, provider, "DELETE", "/api/v1/tenants/acme.example/users/dave", ""); code != 200 {
			t.Fatalf("DELETE dave = %d %v", code, body)
		}
		if code, body, _ := e.call(t, dave, "GET", "/api/v1/me", ""); code != http.StatusUnauthorized {
			t.Errorf("GET me of a deleted user = %d %v, want 401", code, body)
		}
	})
}

// TestUserSessionReachesOnlyMe walks EVERY registered route with a user's
// cookie session (and its CSRF token): all but /me, /session and /logout
// answer 404, for the user's own tenant, their own user and another user
// alike, and nothing changes.
func TestUserSessionReachesOnlyMe(t *testing.T) {
	e := newAPIEnv(t)
	e.signIn(t, "acme.example", "root@acme.example")
	bob := e.signInUser(t, "bob", "bob@acme.example", "bob-portal-pw")
	before := e.export(t)
	beforeAdmins, beforeTokens := e.accountsOf(t, "acme.example")
	bodies := []string{`{}`, `{"id":"bob","name":"x","extensions":["7999"],"password":"take-over-pw"}`, `{"password":"take-over-pw"}`}
	checked := 0
	for _, id := range []string{"bob", "alice"} {
		fill := strings.NewReplacer("{domain}", "acme.example", "{id}", id, "{number}", "+14155550100",
			"{email}", "root@acme.example", "{msg}", "m1", "{source}", "192.0.2.1", "{n}", "+14155550100")
		for _, route := range e.api.Routes() {
			switch route.Scope {
			case ScopePublic, ScopeSignedIn, ScopeUser:
				continue
			}
			path := fill.Replace(route.Path)
			for _, body := range bodies {
				t.Run(id+" "+route.Method+" "+route.Path, func(t *testing.T) {
					code, got, _ := e.call(t, bob, route.Method, "/api/v1"+path, body)
					if code != http.StatusNotFound {
						t.Errorf("%s %s as user bob = %d %v, want 404", route.Method, path, code, got)
					}
				})
				checked++
			}
		}
	}
	if checked < 2*3*30 {
		t.Errorf("checked %d requests, want every route", checked)
	}
	if diff := cmp.Diff(before, e.export(t)); diff != "" {
		t.Errorf("the directory changed (-before +after):\n%s", diff)
	}
	afterAdmins, afterTokens := e.accountsOf(t, "acme.example")
	if !cmp.Equal(beforeAdmins, afterAdmins) || !cmp.Equal(beforeTokens, afterTokens) {
		t.Error("the accounts changed")
	}
	// And the session still works for what a user may do.
	if code, body, _ := e.call(t, bob, "GET", "/api/v1/me", ""); code != 200 {
		t.Errorf("GET me = %d %v", code, body)
	}
}
