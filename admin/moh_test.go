package admin

import "testing"

// TestTenantMOH sets a tenant's music on hold through PATCH, reads it back,
// and refuses a bad prompt name with the field named.
func TestTenantMOH(t *testing.T) {
	e := newAPIEnv(t)
	e.run(t, []apiCase{
		{name: "set", method: "PATCH", path: "/api/v1/tenants/acme.example", body: `{"moh":{"prompt":"acme-hold"}}`, wantCode: 200},
		{name: "bad prompt", method: "PATCH", path: "/api/v1/tenants/acme.example", body: `{"moh":{"prompt":"../x"}}`, wantCode: 400, wantField: "tenants[acme.example].moh.prompt"},
		{name: "unknown key", method: "PATCH", path: "/api/v1/tenants/acme.example", body: `{"moh":{"file":"x"}}`, wantCode: 400, wantField: "file", wantError: "unknown field"},
	})
	_, body := e.do(t, "GET", "/api/v1/tenants/acme.example", "")
	moh, _ := body["moh"].(map[string]any)
	if moh["prompt"] != "acme-hold" {
		t.Errorf("GET tenant moh = %v, want prompt acme-hold", body["moh"])
	}
	code, body := e.do(t, "PATCH", "/api/v1/tenants/acme.example", `{"moh":null}`)
	if _, set := body["moh"]; code != 200 || set {
		t.Errorf("PATCH moh null = %d %v, want 200 without moh (the built-in loop)", code, body)
	}
}
