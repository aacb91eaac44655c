package admin

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/dialplan"
)

func TestInventory(t *testing.T) {
	e := newAPIEnv(t)
	_, tok := e.mint(t, "acme.example")
	acme := client{bearer: tok}
	const numbers = "/api/v1/tenants/acme.example/numbers"
	steps := []struct {
		name         string
		c            client
		method, path string
		body         string
		want         int
	}{
		{"provider pools numbers", provider, "POST", "/api/v1/numbers", `{"numbers":["+14155550150","+14155550151","+14155550152"]}`, 201},
		{"a tenant's number cannot be pooled", provider, "POST", "/api/v1/numbers", `{"number":"+14155550100"}`, 409},
		{"a tenant admin cannot see the pool", acme, "GET", "/api/v1/numbers", "", 404},
		{"nor allocate", acme, "PATCH", "/api/v1/numbers/+14155550150", `{"tenant":"acme.example"}`, 404},
		{"a tenant admin cannot claim a pooled number", acme, "POST", numbers, `{"number":"+14155550150"}`, 409},
		{"nor route one it does not own", acme, "PUT", numbers + "/+14155550150", `{"target":"user:bob"}`, 409},
		{"nor make it a direct number", acme, "PATCH", "/api/v1/tenants/acme.example/users/bob", `{"direct_number":"+14155550150"}`, 409},
		{"provider allocates", provider, "PATCH", "/api/v1/numbers/+14155550150", `{"tenant":"acme.example"}`, 200},
		{"provider allocates another", provider, "PATCH", "/api/v1/numbers/+14155550151", `{"tenant":"acme.example"}`, 200},
		{"not to a second tenant", provider, "PATCH", "/api/v1/numbers/+14155550151", `{"tenant":"globex.example"}`, 409},
		{"tenant admin reserves", acme, "POST", numbers, `{"number":"+14155550151","status":"reserved","note":"new hire"}`, 200},
		{"reserved has no target", acme, "POST", numbers, `{"number":"+14155550151","status":"reserved","target":"user:bob"}`, 400},
		{"bad status", acme, "POST", numbers, `{"number":"+14155550151","status":"lost"}`, 400},
		{"bob takes the available one as his direct number", acme, "PATCH", "/api/v1/tenants/acme.example/users/bob", `{"direct_number":"+14155550150"}`, 200},
		{"nobody else can take it", acme, "POST", "/api/v1/tenants/acme.example/users", `{"id":"dan","direct_number":"+14155550150"}`, 409},
	}
	for _, s := range steps {
		if code, body, _ := e.call(t, s.c, s.method, s.path, s.body); code != s.want {
			t.Fatalf("%s: %s %s = %d %v, want %d", s.name, s.method, s.path, code, body, s.want)
		}
	}
	status := func(q string) map[string]string {
		t.Helper()
		code, body, _ := e.call(t, acme, "GET", numbers+q, "")
		if code != 200 {
			t.Fatalf("GET numbers%s = %d %v", q, code, body)
		}
		raw, _ := json.Marshal(body["inventory"])
		var inv []dialplan.InventoryEntry
		if err := json.Unmarshal(raw, &inv); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, x := range inv {
			out[x.Number] = string(x.Status) + " " + x.Target + x.Note
		}
		return out
	}
	inv := status("")
	if inv["+14155550150"] != "assigned user:bob" || inv["+14155550151"] != "reserved new hire" {
		t.Errorf("inventory = %v, want 150 assigned to bob, 151 reserved", inv)
	}
	if got := status("?status=reserved"); len(got) != 1 || got["+14155550151"] == "" {
		t.Errorf("?status=reserved = %v, want 151 only", got)
	}
	if code, _, _ := e.call(t, acme, "GET", numbers+"?status=lost", ""); code != 400 {
		t.Errorf("?status=lost = %d, want 400", code)
	}
	// Deleting bob returns his direct number to available.
	if code, body, _ := e.call(t, acme, "DELETE", "/api/v1/tenants/acme.example/users/bob", ""); code != 200 {
		// bob is in the sales group with alice and routed by the menu: free those first.
		t.Logf("delete bob = %d %v", code, body)
		e.call(t, provider, "PATCH", "/api/v1/tenants/acme.example/attendants/main", `{"options":{"2":null}}`)
		if code, body, _ := e.call(t, acme, "DELETE", "/api/v1/tenants/acme.example/users/bob", ""); code != 200 {
			t.Fatalf("delete bob = %d %v", code, body)
		}
	}
	if got := status("?status=available")["+14155550150"]; got != "available " {
		t.Errorf("bob's direct number after deleting bob = %q, want available", got)
	}
	// The provider returns it to the pool; a routed number cannot go.
	if code, body, _ := e.call(t, provider, "PATCH", "/api/v1/numbers/+14155550150", `{"tenant":""}`); code != 200 {
		t.Errorf("return to pool = %d %v", code, body)
	}
	if code, _, _ := e.call(t, provider, "PATCH", "/api/v1/numbers/+14155550100", `{"tenant":""}`); code != 409 {
		t.Errorf("return the routed main number = %d, want 409", code)
	}
	code, body, _ := e.call(t, provider, "GET", "/api/v1/numbers", "")
	raw, _ := json.Marshal(body)
	if code != 200 || !strings.Contains(string(raw), "+14155550150") || strings.Contains(string(raw), "+14155550151") {
		t.Errorf("pool = %d %s, want 150 back and 151 still allocated", code, raw)
	}
	// A call to an available number finds the owner but no route (404).
	e.call(t, acme, "POST", numbers, `{"number":"+14155550151"}`)
	v, err := e.store.TenantByNumber(t.Context(), "+14155550151")
	if err != nil || v.Tenant.Domain != "acme.example" {
		t.Fatalf("TenantByNumber(available) = %v, %v; want acme", v, err)
	}
	if tg, ok := v.Number("+14155550151"); ok {
		t.Errorf("an available number routes to %v, want nowhere", tg)
	}
	if !strings.Contains(e.logs.String(), "action=number.reserved") || !strings.Contains(e.logs.String(), "action=pool.allocate") {
		t.Errorf("audit lines missing:\n%s", e.logs)
	}
}

func TestImportUsesTheInventory(t *testing.T) {
	e := newAPIEnv(t)
	_, tok := e.mint(t, "acme.example")
	acme := client{bearer: tok}
	e.call(t, provider, "PATCH", "/api/v1/numbers/+14155550160", `{"tenant":"acme.example"}`)
	csv := "id,first_name,last_name,password,direct_number\n" +
		"gil,Gil,Green,gil-pw-123,+14155550160\n" + // available: assigned
		"hal,Hal,Hart,hal-pw-123,+14155550161\n" // not the tenant's: a row error for a tenant admin
	code, body := e.doWith(t, "POST", "/api/v1/tenants/acme.example/users/import", strings.NewReader(csv), "Bearer "+acme.bearer, "text/csv")
	if code != 200 {
		t.Fatalf("import = %d %v", code, body)
	}
	raw, _ := json.Marshal(body)
	if body["created"] != float64(1) || body["failed"] != float64(1) || !strings.Contains(string(raw), "ask your provider") {
		t.Errorf("report = %s, want gil created, hal failed for the number", raw)
	}
	if tg := e.export(t).Tenants[0].Numbers["+14155550160"]; tg != "user:gil" {
		t.Errorf("the imported direct number routes to %q, want user:gil (assigned)", tg)
	}
}
