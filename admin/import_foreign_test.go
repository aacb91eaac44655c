package admin

import (
	"strings"
	"testing"
)

// An iPlum template uploaded through the API: users land with ids from
// their email, and the generated SIP passwords are in the answer only.
func TestImportIPlumThroughAPI(t *testing.T) {
	e := newAPIEnv(t)
	const imp = "/api/v1/tenants/acme.example/users/import"
	csv := "iPlum ID (phone/email),Phone Number,Email,Name\n" +
		"email,,pat.park@acme.example,Pat Park\n" +
		"phone,'+1,quinn@acme.example,Quinn Q\n"
	code, body := e.doWith(t, "POST", imp, strings.NewReader(csv), "Bearer "+testToken, "text/csv")
	if code != 200 || body["format"] != "iplum" || body["created"] != 1.0 || body["failed"] != 1.0 {
		t.Fatalf("import = %d %v, want iplum, 1 created, 1 failed", code, body)
	}
	rows := body["rows"].([]any)
	pat := rows[0].(map[string]any)
	pw, _ := pat["password"].(string)
	if pat["id"] != "pat.park" || len(pw) < 20 {
		t.Fatalf("row 2 = %v, want id pat.park with a generated password", pat)
	}
	if q := rows[1].(map[string]any); q["field"] != "direct_number" || q["password"] != nil {
		t.Errorf("row 3 = %v, want failed on direct_number, no password", q)
	}
	if strings.Contains(e.logs.String(), pw) {
		t.Error("the generated password reached the log")
	}
	code, u := e.do(t, "GET", "/api/v1/tenants/acme.example/users/pat.park", "")
	if code != 200 || u["last_name"] != "Park" || u["password"] != nil {
		t.Errorf("GET pat.park = %d %v, want last name Park and no password", code, u)
	}
}
