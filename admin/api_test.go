package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/dialplan"
)

const testToken = "test-token-0123456789"

const testDirectory = `
tenants:
  - domain: acme.example
    name: Acme Inc
    main_number: "+14155550100"
    users:
      - id: alice
        name: Alice Anders
        extensions: ["7001"]
        password: alice-pw-7001
        direct_number: "+14155550101"
        aliases: ["alice-support"]
        email: alice@acme.example
      - id: bob
        name: Bob Brown
        extensions: ["7002"]
        password: bob-pw-7002
      - id: carol
        name: Carol Chen
        extensions: ["7005"]
        password: carol-pw-7005
    groups:
      - id: sales
        extension: "7100"
        members: ["alice", "bob"]
      - id: solo
        extension: "7101"
        members: ["carol"]
    attendants:
      - id: main
        options: {"1": "group:sales", "2": "user:bob"}
        fallback: "group:sales"
    numbers:
      "+14155550100": "attendant:main"
      "+14155550102": "user:alice"
  - domain: globex.example
    name: Globex
    main_number: "+14155550199"
`

// fakeLive is the registrations and calls read models and the unbinder.
type fakeLive struct {
	mu      sync.Mutex
	unbound []string
}

func (f *fakeLive) Registrations(_ context.Context, tenant string) ([]Registration, error) {
	all := []Registration{
		{AOR: "alice@acme.example", Tenant: "acme.example", Contact: "sip:alice@192.0.2.1:5060", UserAgent: "Yealink", Expires: time.Unix(2000, 0).UTC()},
		{AOR: "x@globex.example", Tenant: "globex.example", Contact: "sip:x@192.0.2.9", Expires: time.Unix(2000, 0).UTC()},
	}
	return slices.DeleteFunc(all, func(r Registration) bool { return tenant != "" && r.Tenant != tenant }), nil
}

func (f *fakeLive) Calls() []Call {
	return []Call{{CallID: "c1", Tenant: "acme.example", Caller: "alice", Callee: "7002", Kind: "ring", Answered: time.Unix(1000, 0).UTC()}}
}

// CDRs keeps what the SIP server's list would: newest first, per tenant.
func (f *fakeLive) CDRs(tenant string, limit int) []CDR {
	all := []CDR{
		{Ended: time.Unix(1300, 0).UTC(), CallID: "d3", Tenant: "globex.example", Caller: "x", Callee: "7001", Kind: "ring", Result: "no_answer"},
		{Ended: time.Unix(1200, 0).UTC(), CallID: "d2", Tenant: "acme.example", Caller: "alice", Callee: "+14085551234", Kind: "outbound",
			Result: "answered", SetupS: 0.25, TalkS: 65, EndedBy: "bye", Trunk: "carrier"},
		{Ended: time.Unix(1100, 0).UTC(), CallID: "d1", Tenant: "acme.example", Caller: "bob", Callee: "7001", Kind: "ring", Result: "busy"},
	}
	all = slices.DeleteFunc(all, func(c CDR) bool { return tenant != "" && c.Tenant != tenant })
	return all[:min(limit, len(all))]
}

func (f *fakeLive) Unbind(_ context.Context, aor string) error {
	f.mu.Lock()
	f.unbound = append(f.unbound, aor)
	f.mu.Unlock()
	return nil
}

type apiEnv struct {
	store *dialplan.MemoryStore
	live  *fakeLive
	api   *API
	h     http.Handler
	logs  *bytes.Buffer
}

func newAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	d, err := dialplan.Parse([]byte(testDirectory), "test.yaml", dialplan.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	store := dialplan.NewMemoryStore()
	if err := store.Replace(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	live := &fakeLive{}
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	api, err := NewAPI(APIConfig{Token: testToken, Directory: store, Registrations: live, Calls: live, CDRs: live, Unbinder: live, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	s := New(prometheus.NewRegistry(), func(context.Context) error { return nil }, log, WithAPI(api))
	return &apiEnv{store: store, live: live, api: api, h: s.srv.Handler, logs: logs}
}

// do sends a request with the test token and returns the status and the
// decoded JSON body.
func (e *apiEnv) do(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	return e.doWith(t, method, path, strings.NewReader(body), "Bearer "+testToken, "application/json")
}

func (e *apiEnv) doWith(t *testing.T, method, path string, body io.Reader, auth, ctype string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: %d, body is not a JSON object: %q", method, path, rec.Code, rec.Body.String())
	}
	return rec.Code, out
}

func (e *apiEnv) export(t *testing.T) *dialplan.Directory {
	t.Helper()
	d, err := e.store.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *apiEnv) user(t *testing.T, id string) *dialplan.User {
	t.Helper()
	v, err := e.store.Tenant(context.Background(), "acme.example")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := v.User(id)
	return u
}

// apiCase is one request and the answer it must get.
type apiCase struct {
	name, method, path, body string
	wantCode                 int
	wantField                string // the error's field, when an error
	wantError                string // a substring of the error
}

func (e *apiEnv) run(t *testing.T, tests []apiCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := e.do(t, tt.method, tt.path, tt.body)
			if code != tt.wantCode {
				t.Fatalf("%s %s = %d %v, want %d", tt.method, tt.path, code, body, tt.wantCode)
			}
			if tt.wantCode >= 400 {
				if body["field"] != nil && tt.wantField == "" || tt.wantField != "" && body["field"] != tt.wantField {
					t.Errorf("%s %s: field = %v, want %q (error %v)", tt.method, tt.path, body["field"], tt.wantField, body["error"])
				}
				if msg, _ := body["error"].(string); !strings.Contains(msg, tt.wantError) {
					t.Errorf("%s %s: error = %q, want it to contain %q", tt.method, tt.path, msg, tt.wantError)
				}
			}
		})
	}
}

func TestAuth(t *testing.T) {
	e := newAPIEnv(t)
	before := e.export(t)
	for _, auth := range []string{"", "Bearer wrong", "Basic " + testToken, testToken, "Bearer " + testToken + "x", "Bearer"} {
		for _, req := range []struct{ method, path, body string }{
			{"GET", "/api/v1/tenants", ""},
			{"POST", "/api/v1/tenants", `{"domain":"new.example","name":"New"}`},
			{"DELETE", "/api/v1/tenants/acme.example?force=true", ""},
			{"POST", "/api/v1/tenants/acme.example/users/alice/password", ""},
			{"POST", "/api/v1/tenants/acme.example/users/import", "id,password\nzed,pw\n"},
			{"GET", "/api/v1/nope", ""},
		} {
			code, body := e.doWith(t, req.method, req.path, strings.NewReader(req.body), auth, "")
			if code != http.StatusUnauthorized || body["error"] == nil {
				t.Errorf("%s %s with Authorization %q = %d %v, want 401 with an error", req.method, req.path, auth, code, body)
			}
		}
	}
	if diff := cmp.Diff(before, e.export(t)); diff != "" {
		t.Errorf("unauthorized requests changed the directory:\n%s", diff)
	}
	if code, _ := e.do(t, "GET", "/api/v1/tenants", ""); code != http.StatusOK {
		t.Errorf("GET /api/v1/tenants with the token = %d, want 200", code)
	}
}

func TestAPIDisabledWithoutToken(t *testing.T) {
	s := New(prometheus.NewRegistry(), func(context.Context) error { return nil }, nil)
	if code, _ := get(t, s.srv.Handler, "/api/v1/tenants"); code != http.StatusNotFound {
		t.Errorf("GET /api/v1/tenants without an API = %d, want 404", code)
	}
	if _, err := NewAPI(APIConfig{Directory: dialplan.NewMemoryStore()}); err == nil {
		t.Error("NewAPI with an empty token succeeded")
	}
}

func TestUnknownEndpoint(t *testing.T) {
	e := newAPIEnv(t)
	e.run(t, []apiCase{
		{name: "unknown path", method: "GET", path: "/api/v1/nope", wantCode: 404, wantError: "no such endpoint"},
	})
}

func TestTenants(t *testing.T) {
	e := newAPIEnv(t)
	e.run(t, []apiCase{
		{name: "list", method: "GET", path: "/api/v1/tenants", wantCode: 200},
		{name: "create", method: "POST", path: "/api/v1/tenants", body: `{"domain":"New.Example","name":"New Co","main_number":"+14155550300"}`, wantCode: 201},
		{name: "create again", method: "POST", path: "/api/v1/tenants", body: `{"domain":"new.example","name":"New Co"}`, wantCode: 409, wantField: "domain", wantError: "already exists"},
		{name: "create no domain", method: "POST", path: "/api/v1/tenants", body: `{"name":"X"}`, wantCode: 400, wantField: "domain"},
		{name: "create bad domain", method: "POST", path: "/api/v1/tenants", body: `{"domain":"not a host","name":"X"}`, wantCode: 400, wantField: "tenants[not a host].domain"},
		{name: "create bad E.164", method: "POST", path: "/api/v1/tenants", body: `{"domain":"x.example","main_number":"555"}`, wantCode: 400, wantField: "tenants[x.example].main_number", wantError: "E.164"},
		{name: "create taken number", method: "POST", path: "/api/v1/tenants", body: `{"domain":"x.example","main_number":"+14155550100"}`, wantCode: 409, wantField: "main_number", wantError: "already owned by tenant acme.example"},
		{name: "create unknown field", method: "POST", path: "/api/v1/tenants", body: `{"domain":"x.example","colour":"red"}`, wantCode: 400, wantField: "colour", wantError: "unknown field"},
		{name: "create invalid JSON", method: "POST", path: "/api/v1/tenants", body: `{"domain":`, wantCode: 400, wantError: "invalid JSON"},
		{name: "create wrong type", method: "POST", path: "/api/v1/tenants", body: `{"domain":42}`, wantCode: 400, wantField: "domain"},
		{name: "create empty body", method: "POST", path: "/api/v1/tenants", body: ``, wantCode: 400, wantError: "empty"},
		{name: "create trailing data", method: "POST", path: "/api/v1/tenants", body: `{"domain":"y.example"} {}`, wantCode: 400, wantError: "more data"},
		{name: "get", method: "GET", path: "/api/v1/tenants/acme.example", wantCode: 200},
		{name: "get unknown", method: "GET", path: "/api/v1/tenants/nope.example", wantCode: 404, wantError: "not found"},
		{name: "patch name", method: "PATCH", path: "/api/v1/tenants/new.example", body: `{"name":"Newer Co","extension_policy":"5XXX"}`, wantCode: 200},
		{name: "patch domain", method: "PATCH", path: "/api/v1/tenants/new.example", body: `{"domain":"other.example"}`, wantCode: 400, wantField: "domain"},
		{name: "patch users", method: "PATCH", path: "/api/v1/tenants/new.example", body: `{"users":[]}`, wantCode: 400, wantField: "users", wantError: "unknown field"},
		{name: "patch bad policy", method: "PATCH", path: "/api/v1/tenants/new.example", body: `{"extension_policy":"7"}`, wantCode: 400, wantField: "tenants[new.example].extension_policy"},
		{name: "patch not an object", method: "PATCH", path: "/api/v1/tenants/new.example", body: `[1]`, wantCode: 400},
		{name: "patch unknown", method: "PATCH", path: "/api/v1/tenants/nope.example", body: `{"name":"x"}`, wantCode: 404},
		{name: "delete not empty", method: "DELETE", path: "/api/v1/tenants/acme.example", wantCode: 409, wantError: "not empty"},
		{name: "delete bad force", method: "DELETE", path: "/api/v1/tenants/acme.example?force=maybe", wantCode: 400, wantField: "force"},
		{name: "delete empty", method: "DELETE", path: "/api/v1/tenants/new.example", wantCode: 200},
		{name: "delete unknown", method: "DELETE", path: "/api/v1/tenants/new.example", wantCode: 404},
	})

	_, body := e.do(t, "GET", "/api/v1/tenants", "")
	ts := body["tenants"].([]any)
	if len(ts) != 2 || ts[0].(map[string]any)["domain"] != "acme.example" || ts[0].(map[string]any)["user_count"] != 3.0 {
		t.Errorf("GET tenants = %v, want acme.example (3 users) and globex.example", ts)
	}
	_, body = e.do(t, "GET", "/api/v1/tenants/acme.example", "")
	if s, _ := json.Marshal(body); strings.Contains(string(s), "password") || strings.Contains(string(s), "ha1") {
		t.Errorf("GET tenant shows secrets: %s", s)
	}

	code, body := e.do(t, "DELETE", "/api/v1/tenants/acme.example?force=true", "")
	if code != 200 || body["domain"] != "acme.example" {
		t.Fatalf("DELETE acme.example?force=true = %d %v", code, body)
	}
	for _, aor := range []string{"alice@acme.example", "alice-support@acme.example", "bob@acme.example"} {
		if !slices.Contains(e.live.unbound, aor) {
			t.Errorf("deleting the tenant did not drop the bindings of %s (dropped %v)", aor, e.live.unbound)
		}
	}
}

func TestUsers(t *testing.T) {
	e := newAPIEnv(t)
	const users = "/api/v1/tenants/acme.example/users"
	e.run(t, []apiCase{
		{name: "list bad limit", method: "GET", path: users + "?limit=0", wantCode: 400, wantField: "limit"},
		{name: "list bad offset", method: "GET", path: users + "?offset=-1", wantCode: 400, wantField: "offset"},
		{name: "list unknown tenant", method: "GET", path: "/api/v1/tenants/nope.example/users", wantCode: 404},
		{name: "create duplicate id", method: "POST", path: users, body: `{"id":"bob","password":"x"}`, wantCode: 409, wantField: "id"},
		{name: "create duplicate extension", method: "POST", path: users, body: `{"id":"dan","extensions":["7002"],"password":"x"}`, wantCode: 409,
			wantField: "tenants[acme.example].users[dan].extensions[0]", wantError: "already user bob's extension"},
		{name: "create alias taken", method: "POST", path: users, body: `{"id":"dan","aliases":["alice-support"],"password":"x"}`, wantCode: 409,
			wantField: "tenants[acme.example].users[dan].aliases[0]"},
		{name: "create bad E.164", method: "POST", path: users, body: `{"id":"dan","direct_number":"4155550111","password":"x"}`, wantCode: 400,
			wantField: "tenants[acme.example].users[dan].direct_number", wantError: "E.164"},
		{name: "create number of other tenant", method: "POST", path: users, body: `{"id":"dan","direct_number":"+14155550199","password":"x"}`, wantCode: 409,
			wantField: "direct_number", wantError: "globex.example"},
		{name: "create bad id", method: "POST", path: users, body: `{"id":"Dan Smith","password":"x"}`, wantCode: 400, wantField: "tenants[acme.example].users[Dan Smith].id"},
		{name: "create no id", method: "POST", path: users, body: `{"name":"Dan"}`, wantCode: 400, wantField: "id"},
		{name: "create unknown field", method: "POST", path: users, body: `{"id":"dan","nickname":"d"}`, wantCode: 400, wantField: "nickname"},
		{name: "create invalid JSON", method: "POST", path: users, body: `{"id":"dan",}`, wantCode: 400, wantError: "invalid JSON"},
		{name: "create bad forward", method: "POST", path: users, body: `{"id":"dan","forward":{"number":"+14085551234","when":"sometimes"}}`, wantCode: 400,
			wantField: "tenants[acme.example].users[dan].forward.when"},
		{name: "create unknown tenant", method: "POST", path: "/api/v1/tenants/nope.example/users", body: `{"id":"dan"}`, wantCode: 404},
		{name: "get unknown", method: "GET", path: users + "/nobody", wantCode: 404, wantError: "user nobody"},
		{name: "patch unknown", method: "PATCH", path: users + "/nobody", body: `{"name":"x"}`, wantCode: 404},
		{name: "patch id", method: "PATCH", path: users + "/bob", body: `{"id":"robert"}`, wantCode: 400, wantField: "id"},
		{name: "patch unknown field", method: "PATCH", path: users + "/bob", body: `{"nickname":"b"}`, wantCode: 400, wantField: "nickname"},
		{name: "patch wrong type", method: "PATCH", path: users + "/bob", body: `{"extensions":"7003"}`, wantCode: 400, wantField: "extensions"},
		{name: "patch duplicate extension", method: "PATCH", path: users + "/bob", body: `{"extensions":["7001"]}`, wantCode: 409,
			wantField: "tenants[acme.example].users[bob].extensions[0]", wantError: "already user alice's extension"},
		{name: "patch caller_id direct without number", method: "PATCH", path: users + "/bob", body: `{"caller_id":"direct"}`, wantCode: 400,
			wantField: "tenants[acme.example].users[bob].caller_id"},
		{name: "patch short voicemail pin", method: "PATCH", path: users + "/bob", body: `{"voicemail":{"enabled":true,"pin":"12"}}`, wantCode: 400,
			wantField: "tenants[acme.example].users[bob].voicemail.pin", wantError: "4-10 digits"},
		{name: "create letters in voicemail pin", method: "POST", path: users, body: `{"id":"dan","voicemail":{"enabled":true,"pin":"12ab"}}`, wantCode: 400,
			wantField: "tenants[acme.example].users[dan].voicemail.pin"},
		{name: "put id mismatch", method: "PUT", path: users + "/bob", body: `{"id":"carol"}`, wantCode: 400, wantField: "id"},
		{name: "delete unknown", method: "DELETE", path: users + "/nobody", wantCode: 404},
		{name: "delete only group member", method: "DELETE", path: users + "/carol", wantCode: 409, wantField: "groups[solo].members"},
		{name: "delete attendant target", method: "DELETE", path: users + "/bob", wantCode: 409, wantField: "attendants[main].options[2]"},
		{name: "reset unknown", method: "POST", path: users + "/nobody/password", wantCode: 404},
	})

	t.Run("create with generated password and extension", func(t *testing.T) {
		code, body := e.do(t, "POST", users, `{"id":"dan","name":"Dan Dorn","direct_number":"+14155550110","caller_id":"direct"}`)
		if code != 201 {
			t.Fatalf("POST users = %d %v", code, body)
		}
		pw, _ := body["password"].(string)
		if len(pw) < 20 {
			t.Errorf("generated password %q: want at least 20 characters", pw)
		}
		if got := body["extensions"]; !cmp.Equal(got, []any{"7003"}) {
			t.Errorf("extensions = %v, want the next free [7003]", got)
		}
		if body["ha1_md5"] != nil || body["ha1_sha256"] != nil {
			t.Errorf("POST users shows HA1: %v", body)
		}
		if strings.Contains(e.logs.String(), pw) {
			t.Error("the generated password was logged")
		}
		v, _ := e.store.Tenant(context.Background(), "acme.example")
		if c, ok := v.Credential("7003"); !ok || c.HA1MD5 != dialplan.HA1("MD5", "7003", "acme.example", pw) {
			t.Error("dan cannot authenticate as 7003 with the generated password")
		}
		_, got := e.do(t, "GET", users+"/dan", "")
		if got["password"] != nil || got["ha1_md5"] != nil || got["name"] != "Dan Dorn" {
			t.Errorf("GET users/dan = %v, want Dan without secrets", got)
		}
	})

	t.Run("list paging and filter", func(t *testing.T) {
		_, body := e.do(t, "GET", users+"?limit=2&offset=1", "")
		list := body["users"].([]any)
		if body["total"] != 4.0 || len(list) != 2 || list[0].(map[string]any)["id"] != "bob" {
			t.Errorf("GET users?limit=2&offset=1 = %v, want bob and carol of 4", body)
		}
		_, body = e.do(t, "GET", users+"?q=ANDERS", "")
		if list := body["users"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] != "alice" {
			t.Errorf("GET users?q=ANDERS = %v, want alice", body)
		}
		_, body = e.do(t, "GET", users+"?offset=100", "")
		if list := body["users"].([]any); len(list) != 0 {
			t.Errorf("GET users?offset=100 = %v, want none", body)
		}
	})

	t.Run("patch forward and caller id", func(t *testing.T) {
		code, body := e.do(t, "PATCH", users+"/bob", `{"forward":{"number":"+14085551234","when":"no_answer","screening":true},"caller_id":"main"}`)
		if code != 200 {
			t.Fatalf("PATCH bob = %d %v", code, body)
		}
		want := &dialplan.Forward{Number: "+14085551234", When: dialplan.ForwardNoAnswer, After: dialplan.DefaultForwardAfter, Screening: true}
		if bob := e.user(t, "bob"); !cmp.Equal(bob.Forward, want) || bob.CallerID != dialplan.CallerIDMain || bob.Name != "Bob Brown" {
			t.Errorf("bob after PATCH = %+v, want forward %+v, caller_id main and his name kept", bob, want)
		}
		if fw := body["forward"].(map[string]any); fw["after"] != "20s" {
			t.Errorf("PATCH answer forward = %v, want the default after 20s", fw)
		}
		// Nested objects merge; null removes.
		if code, _ := e.do(t, "PATCH", users+"/bob", `{"forward":{"when":"always"}}`); code != 200 {
			t.Fatal(code)
		}
		if bob := e.user(t, "bob"); bob.Forward.When != dialplan.ForwardAlways || !bob.Forward.Screening {
			t.Errorf("bob.Forward = %+v, want when always with screening kept", bob.Forward)
		}
		if code, _ := e.do(t, "PATCH", users+"/bob", `{"forward":null}`); code != 200 {
			t.Fatal(code)
		}
		if bob := e.user(t, "bob"); bob.Forward != nil {
			t.Errorf("bob.Forward = %+v after null, want none", bob.Forward)
		}
		// Bob's password still works: PATCH keeps credentials.
		v, _ := e.store.Tenant(context.Background(), "acme.example")
		if c, ok := v.Credential("7002"); !ok || c.HA1MD5 != dialplan.HA1("MD5", "7002", "acme.example", "bob-pw-7002") {
			t.Error("PATCH lost bob's credentials")
		}
	})

	t.Run("put replaces", func(t *testing.T) {
		code, body := e.do(t, "PUT", users+"/bob", `{"id":"bob","name":"Robert Brown","extensions":["7002","7012"]}`)
		if code != 200 {
			t.Fatalf("PUT bob = %d %v", code, body)
		}
		if bob := e.user(t, "bob"); bob.Name != "Robert Brown" || bob.Email != "" || len(bob.Extensions) != 2 {
			t.Errorf("bob after PUT = %+v", bob)
		}
	})

	t.Run("reset password", func(t *testing.T) {
		before := e.logs.Len()
		code, body := e.do(t, "POST", users+"/alice/password", "")
		pw, _ := body["password"].(string)
		if code != 200 || body["id"] != "alice" || len(pw) < 20 {
			t.Fatalf("POST password = %d %v", code, body)
		}
		v, _ := e.store.Tenant(context.Background(), "acme.example")
		c, _ := v.Credential("alice")
		if c.HA1MD5 != dialplan.HA1("MD5", "alice", "acme.example", pw) {
			t.Error("the new password does not authenticate alice")
		}
		if c.HA1MD5 == dialplan.HA1("MD5", "alice", "acme.example", "alice-pw-7001") {
			t.Error("the old password still authenticates alice")
		}
		logged := e.logs.String()[before:]
		if !strings.Contains(logged, "action=user.password_reset") || strings.Contains(logged, pw) {
			t.Errorf("audit line = %q, want the action and never the password", logged)
		}
	})

	t.Run("delete frees everything", func(t *testing.T) {
		code, body := e.do(t, "DELETE", users+"/alice", "")
		if code != 200 || body["id"] != "alice" || body["direct_number"] != "+14155550101" || body["password"] != nil || body["ha1_md5"] != nil {
			t.Fatalf("DELETE alice = %d %v, want her record without secrets", code, body)
		}
		if e.user(t, "alice") != nil {
			t.Fatal("alice is still there")
		}
		for _, aor := range []string{"alice@acme.example", "alice-support@acme.example"} {
			if !slices.Contains(e.live.unbound, aor) {
				t.Errorf("bindings of %s not dropped (dropped %v)", aor, e.live.unbound)
			}
		}
		d := e.export(t)
		acme := d.Tenants[0]
		// Released to the inventory as available, never lost: her listed
		// number and her direct number.
		for _, n := range []string{"+14155550102", "+14155550101"} {
			if tg, ok := acme.Numbers[n]; !ok || tg != "" {
				t.Errorf("number %s after deleting alice: %q, %v; want available (\"\", listed)", n, tg, ok)
			}
		}
		if !cmp.Equal(acme.Groups[0].Members, []string{"bob"}) {
			t.Errorf("sales members = %v, want [bob]", acme.Groups[0].Members)
		}
		// Her extension, alias and direct number are free again.
		code, body = e.do(t, "POST", users, `{"id":"erin","extensions":["7001"],"aliases":["alice-support"],"direct_number":"+14155550101","password":"erin-pw"}`)
		if code != 201 {
			t.Errorf("re-using alice's names = %d %v, want 201", code, body)
		}
	})
}

func TestNumbers(t *testing.T) {
	e := newAPIEnv(t)
	const numbers = "/api/v1/tenants/acme.example/numbers"
	e.run(t, []apiCase{
		{name: "list", method: "GET", path: numbers, wantCode: 200},
		{name: "assign new", method: "PUT", path: numbers + "/+14155550120", body: `{"target":"user:bob"}`, wantCode: 201},
		{name: "re-route", method: "PUT", path: numbers + "/+14155550120", body: `{"target":"group:sales"}`, wantCode: 200},
		{name: "no target", method: "PUT", path: numbers + "/+14155550121", body: `{}`, wantCode: 400, wantField: "target"},
		{name: "bad target", method: "PUT", path: numbers + "/+14155550121", body: `{"target":"bob"}`, wantCode: 400, wantField: "target"},
		{name: "unknown target", method: "PUT", path: numbers + "/+14155550121", body: `{"target":"user:nobody"}`, wantCode: 400,
			wantField: "tenants[acme.example].numbers[+14155550121]", wantError: "no user"},
		{name: "bad E.164", method: "PUT", path: numbers + "/4155550121", body: `{"target":"user:bob"}`, wantCode: 400,
			wantField: "tenants[acme.example].numbers[4155550121]", wantError: "E.164"},
		{name: "other tenant's", method: "PUT", path: numbers + "/+14155550199", body: `{"target":"user:bob"}`, wantCode: 409, wantField: "number", wantError: "globex.example"},
		{name: "body mismatch", method: "PUT", path: numbers + "/+14155550121", body: `{"number":"+1999","target":"user:bob"}`, wantCode: 400, wantField: "number"},
		{name: "unknown field", method: "PUT", path: numbers + "/+14155550121", body: `{"target":"user:bob","ring":"5s"}`, wantCode: 400, wantField: "ring"},
		{name: "release direct number", method: "DELETE", path: numbers + "/+14155550101", wantCode: 409, wantField: "number", wantError: "direct_number"},
		{name: "release", method: "DELETE", path: numbers + "/+14155550120", wantCode: 200},
		{name: "release unknown", method: "DELETE", path: numbers + "/+14155550120", wantCode: 404},
	})
	_, body := e.do(t, "GET", numbers, "")
	want := map[string]any{"+14155550100": "attendant:main", "+14155550101": "user:alice", "+14155550102": "user:alice"}
	if diff := cmp.Diff(want, body["numbers"]); diff != "" {
		t.Errorf("GET numbers (-want +got):\n%s", diff)
	}
}

func TestGroupsAndAttendants(t *testing.T) {
	e := newAPIEnv(t)
	const groups, attendants = "/api/v1/tenants/acme.example/groups", "/api/v1/tenants/acme.example/attendants"
	e.run(t, []apiCase{
		{name: "list groups", method: "GET", path: groups, wantCode: 200},
		{name: "create group", method: "POST", path: groups, body: `{"id":"support","members":["alice-support","carol"],"strategy":"sequential"}`, wantCode: 201},
		{name: "create group bad member", method: "POST", path: groups, body: `{"id":"x","members":["nobody"]}`, wantCode: 400,
			wantField: "tenants[acme.example].groups[x].members[0]"},
		{name: "create group taken extension", method: "POST", path: groups, body: `{"id":"x","extension":"7001","members":["bob"]}`, wantCode: 409,
			wantField: "tenants[acme.example].groups[x].extension"},
		{name: "get group", method: "GET", path: groups + "/support", wantCode: 200},
		{name: "patch group", method: "PATCH", path: groups + "/support", body: `{"ring":"30s"}`, wantCode: 200},
		{name: "patch group bad ring", method: "PATCH", path: groups + "/support", body: `{"ring":"soon"}`, wantCode: 400},
		{name: "delete routed group", method: "DELETE", path: groups + "/sales", wantCode: 409, wantField: "attendants[main].options[1]"},
		{name: "delete group", method: "DELETE", path: groups + "/support", wantCode: 200},
		{name: "create attendant", method: "POST", path: attendants, body: `{"id":"night","greeting":"closed","options":{"1":"user:bob"},"fallback":"user:carol"}`, wantCode: 201},
		{name: "create attendant bad option", method: "POST", path: attendants, body: `{"id":"x","options":{"12":"user:bob"}}`, wantCode: 400,
			wantField: "tenants[acme.example].attendants[x].options[12]"},
		{name: "put attendant", method: "PUT", path: attendants + "/night", body: `{"id":"night","options":{"1":"group:sales"}}`, wantCode: 200},
		{name: "delete routed attendant", method: "DELETE", path: attendants + "/main", wantCode: 409, wantField: "numbers[+14155550100]"},
		{name: "delete attendant", method: "DELETE", path: attendants + "/night", wantCode: 200},
		{name: "get deleted attendant", method: "GET", path: attendants + "/night", wantCode: 404},
	})
	_, body := e.do(t, "GET", attendants+"/main", "")
	if body["retries"] != 2.0 || body["timeout"] != "5s" {
		t.Errorf("GET attendant main = %v, want retries 2 and timeout 5s", body)
	}
}

func TestImportEndpoint(t *testing.T) {
	e := newAPIEnv(t)
	const imp = "/api/v1/tenants/acme.example/users/import"
	send := func(body io.Reader, ctype string) (int, map[string]any) {
		return e.doWith(t, "POST", imp, body, "Bearer "+testToken, ctype)
	}
	code, body := send(strings.NewReader("id,first_name,last_name,extension,password\nzed,Zed,Z,,zed-pw\nbad id,,,,pw\nalice,Alice,A,,\n"), "text/csv")
	if code != 200 || body["created"] != 1.0 || body["updated"] != 1.0 || body["failed"] != 1.0 {
		t.Fatalf("import = %d %v, want 1 created, 1 updated, 1 failed", code, body)
	}
	rows := body["rows"].([]any)
	if r := rows[1].(map[string]any); r["row"] != 3.0 || r["status"] != "failed" || r["field"] != "id" {
		t.Errorf("row 3 = %v, want failed on id", r)
	}
	if strings.Contains(e.logs.String(), "zed-pw") || !strings.Contains(e.logs.String(), "action=user.import") {
		t.Error("import audit line missing, or it carries a password")
	}

	tests := []struct {
		name, body, ctype string
		wantCode          int
		wantError         string
	}{
		{"unknown column", "id,department\nx,sales\n", "text/csv", 400, `unknown column "department"`},
		{"missing id column", "name,password\nx,pw\n", "text/csv", 400, `unknown column "name"`},
		{"no id column", "first_name,password\nx,pw\n", "text/csv", 400, `missing column "id"`},
		{"empty", "", "text/csv", 400, "empty file"},
		{"json", `{"id":"x"}`, "application/json", 415, "text/csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.export(t)
			code, body := send(strings.NewReader(tt.body), tt.ctype)
			if code != tt.wantCode || !strings.Contains(body["error"].(string), tt.wantError) {
				t.Errorf("import %q = %d %v, want %d with %q", tt.body, code, body, tt.wantCode, tt.wantError)
			}
			if tt.wantCode == 400 && body["field"] != "header" {
				t.Errorf("field = %v, want header", body["field"])
			}
			if !cmp.Equal(before, e.export(t)) {
				t.Error("a whole-file error changed the directory")
			}
		})
	}
}

// endless is an io.Reader of n bytes of CSV rows.
type endless struct{ n int }

func (r *endless) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	const row = "someone,Some,One,,,pw\n"
	n := 0
	for n < len(p) && r.n > 0 {
		p[n] = row[r.n%len(row)]
		n++
		r.n--
	}
	return n, nil
}

func TestBodyTooLarge(t *testing.T) {
	e := newAPIEnv(t)
	before := e.export(t)
	tests := []struct {
		name, method, path, ctype string
		body                      io.Reader
	}{
		{"50 MiB CSV", "POST", "/api/v1/tenants/acme.example/users/import", "text/csv",
			io.MultiReader(strings.NewReader("id,first_name,last_name,email,extension,password\n"), &endless{50 << 20})},
		{"2 MiB JSON user", "POST", "/api/v1/tenants/acme.example/users", "application/json",
			io.MultiReader(strings.NewReader(`{"id":"x","name":"`), &endless{2 << 20}, strings.NewReader(`"}`))},
		{"2 MiB JSON patch", "PATCH", "/api/v1/tenants/acme.example/users/bob", "application/json",
			io.MultiReader(strings.NewReader(`{"name":"`), &endless{2 << 20}, strings.NewReader(`"}`))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := e.doWith(t, tt.method, tt.path, tt.body, "Bearer "+testToken, tt.ctype)
			if code != http.StatusRequestEntityTooLarge {
				t.Errorf("%s = %d %v, want 413", tt.name, code, body)
			}
		})
	}
	if !cmp.Equal(before, e.export(t)) {
		t.Error("a body over the limit changed the directory")
	}
}

func TestRegistrationsAndCalls(t *testing.T) {
	e := newAPIEnv(t)
	e.run(t, []apiCase{
		{name: "unknown tenant", method: "GET", path: "/api/v1/registrations?tenant=nope.example", wantCode: 404},
	})
	_, body := e.do(t, "GET", "/api/v1/registrations?tenant=acme.example", "")
	regs := body["registrations"].([]any)
	if len(regs) != 1 || regs[0].(map[string]any)["user_agent"] != "Yealink" {
		t.Errorf("GET registrations?tenant=acme.example = %v, want alice's phone", body)
	}
	_, body = e.do(t, "GET", "/api/v1/registrations", "")
	if len(body["registrations"].([]any)) != 2 {
		t.Errorf("GET registrations = %v, want both tenants'", body)
	}
	_, body = e.do(t, "GET", "/api/v1/calls", "")
	calls := body["calls"].([]any)
	if len(calls) != 1 || calls[0].(map[string]any)["call_id"] != "c1" {
		t.Errorf("GET calls = %v, want c1", body)
	}
	_, body = e.do(t, "GET", "/api/v1/calls?tenant=globex.example", "")
	if len(body["calls"].([]any)) != 0 {
		t.Errorf("GET calls?tenant=globex.example = %v, want none", body)
	}
}

func TestCDRs(t *testing.T) {
	e := newAPIEnv(t)
	_, acmeToken := e.mint(t, "acme.example")
	acmeCookie := e.signIn(t, "acme.example", "root@acme.example")
	_, globexToken := e.mint(t, "globex.example")
	tests := []struct {
		name     string
		c        client
		path     string
		wantCode int
		want     []string // call ids, in order
	}{
		{"provider, every tenant", provider, "/api/v1/cdrs", 200, []string{"d3", "d2", "d1"}},
		{"provider, one tenant", provider, "/api/v1/cdrs?tenant=acme.example", 200, []string{"d2", "d1"}},
		{"provider, limit", provider, "/api/v1/cdrs?limit=1", 200, []string{"d3"}},
		{"provider, unknown tenant", provider, "/api/v1/cdrs?tenant=nope.example", 404, nil},
		{"provider, bad limit", provider, "/api/v1/cdrs?limit=0", 400, nil},
		{"provider, limit too large", provider, "/api/v1/cdrs?limit=201", 400, nil},
		{"tenant token, its own by default", client{bearer: acmeToken}, "/api/v1/cdrs", 200, []string{"d2", "d1"}},
		{"tenant token, its own named", client{bearer: acmeToken}, "/api/v1/cdrs?tenant=ACME.example&limit=1", 200, []string{"d2"}},
		{"tenant session, its own", acmeCookie, "/api/v1/cdrs", 200, []string{"d2", "d1"}},
		{"tenant token, another tenant", client{bearer: acmeToken}, "/api/v1/cdrs?tenant=globex.example", 404, nil},
		{"other tenant token, acme", client{bearer: globexToken}, "/api/v1/cdrs?tenant=acme.example", 404, nil},
		{"other tenant token, its own", client{bearer: globexToken}, "/api/v1/cdrs", 200, []string{"d3"}},
		{"no credential", client{}, "/api/v1/cdrs", 401, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, _ := e.call(t, tt.c, "GET", tt.path, "")
			if code != tt.wantCode {
				t.Fatalf("GET %s = %d %v, want %d", tt.path, code, body, tt.wantCode)
			}
			if code != 200 {
				return
			}
			got := []string{}
			for _, c := range body["cdrs"].([]any) {
				got = append(got, c.(map[string]any)["call_id"].(string))
			}
			if !cmp.Equal(got, tt.want) {
				t.Errorf("GET %s = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
	_, body := e.do(t, "GET", "/api/v1/cdrs?tenant=acme.example&limit=1", "")
	want := map[string]any{"ended": "1970-01-01T00:20:00Z", "call_id": "d2", "tenant": "acme.example", "caller": "alice",
		"callee": "+14085551234", "kind": "outbound", "result": "answered", "setup_s": 0.25, "talk_s": 65.0, "ended_by": "bye", "trunk": "carrier"}
	if diff := cmp.Diff(map[string]any{"cdrs": []any{want}}, body); diff != "" {
		t.Errorf("GET cdrs JSON (-want +got):\n%s", diff)
	}
}

// TestConcurrentImports runs two overlapping imports through the API at
// once: no extension or number is assigned twice.
func TestConcurrentImports(t *testing.T) {
	e := newAPIEnv(t)
	file := func(from, to int) string {
		var b strings.Builder
		b.WriteString("id,password,direct_number\n")
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, "u%d,pw,+1415800%04d\n", i, i)
		}
		return b.String()
	}
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i, f := range []string{file(0, 150), file(50, 200)} {
		wg.Go(func() {
			req := httptest.NewRequest("POST", "/api/v1/tenants/acme.example/users/import", strings.NewReader(f))
			req.Header.Set("Authorization", "Bearer "+testToken)
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			codes[i] = rec.Code
		})
	}
	wg.Wait()
	if codes[0] != 200 || codes[1] != 200 {
		t.Fatalf("imports = %v, want 200 200", codes)
	}
	d := e.export(t)
	if ps := dialplan.Validate(d); len(ps) > 0 {
		t.Fatalf("directory invalid: %v", ps)
	}
	if n := len(d.Tenants[0].Users); n != 3+200 {
		t.Errorf("%d users, want 203", n)
	}
}
