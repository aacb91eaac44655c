package admin

import (
	"strings"
	"testing"
)

// TestUserNames: first_name and last_name are fields of their own; clients
// that send only name keep working, and the name is always derived.
func TestUserNames(t *testing.T) {
	e := newAPIEnv(t)
	users := "/api/v1/tenants/acme.example/users"
	names := func(t *testing.T, body map[string]any) [3]any {
		t.Helper()
		return [3]any{body["first_name"], body["last_name"], body["name"]}
	}
	steps := []struct {
		name, method, path, body string
		want                     [3]any
	}{
		{"stored name only is split", "GET", users + "/alice", "", [3]any{"Alice", "Anders", "Alice Anders"}},
		{"create with first and last", "POST", users, `{"id":"mary","first_name":"Mary Ann","last_name":"Lee"}`, [3]any{"Mary Ann", "Lee", "Mary Ann Lee"}},
		{"create with name only splits on the last space", "POST", users, `{"id":"vince","name":"Vincent van Gogh"}`, [3]any{"Vincent van", "Gogh", "Vincent van Gogh"}},
		{"one word is a first name", "POST", users, `{"id":"cher","name":"Cher"}`, [3]any{"Cher", nil, "Cher"}},
		{"patch last name only", "PATCH", users + "/mary", `{"last_name":"Lee-Park"}`, [3]any{"Mary Ann", "Lee-Park", "Mary Ann Lee-Park"}},
		{"patch name only renames", "PATCH", users + "/mary", `{"name":"Maria Park"}`, [3]any{"Maria", "Park", "Maria Park"}},
		{"the console's edit (name null, first and last unchanged) keeps them", "PATCH", users + "/mary", `{"name":null,"first_name":"Maria","last_name":"Park","email":"maria@acme.example"}`, [3]any{"Maria", "Park", "Maria Park"}},
		{"first and last win over name", "PUT", users + "/vince", `{"id":"vince","name":"ignored","first_name":"Vincent","last_name":"Gogh"}`, [3]any{"Vincent", "Gogh", "Vincent Gogh"}},
		{"clear every name", "PATCH", users + "/vince", `{"name":null,"first_name":null,"last_name":null}`, [3]any{nil, nil, nil}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			code, body := e.do(t, s.method, s.path, s.body)
			if code/100 != 2 {
				t.Fatalf("%s %s = %d %v", s.method, s.path, code, body)
			}
			if got := names(t, body); got != s.want {
				t.Errorf("%s %s names = %v, want %v", s.method, s.path, got, s.want)
			}
		})
	}
	if u := e.user(t, "mary"); u.FirstName != "Maria" || u.LastName != "Park" || u.Name != "Maria Park" {
		t.Errorf("stored mary = %q %q %q, want Maria Park", u.FirstName, u.LastName, u.Name)
	}

	t.Run("sorted by last name", func(t *testing.T) {
		_, body := e.do(t, "GET", users+"?sort=last_name", "")
		var got []string
		for _, u := range body["users"].([]any) {
			got = append(got, u.(map[string]any)["id"].(string))
		}
		// Anders, Brown, Chen, Cher (no last name: by first), Park, then unnamed.
		want := []string{"alice", "bob", "carol", "cher", "mary", "vince"}
		if len(got) != len(want) {
			t.Fatalf("sorted = %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("sorted = %v, want %v", got, want)
			}
		}
	})

	t.Run("csv columns map onto the fields", func(t *testing.T) {
		code, body := e.doWith(t, "POST", users+"/import", strings.NewReader("id,first_name,last_name,password\nmary,Mary,Lee,mary-pw-12345\nnew1,Nora,Nash,nora-pw-12345\n"), "Bearer "+testToken, "text/csv")
		if code != 200 {
			t.Fatalf("import = %d %v", code, body)
		}
		for id, want := range map[string][3]string{"mary": {"Mary", "Lee", "Mary Lee"}, "new1": {"Nora", "Nash", "Nora Nash"}} {
			u := e.user(t, id)
			if got := [3]string{u.FirstName, u.LastName, u.Name}; got != want {
				t.Errorf("%s after import = %v, want %v", id, got, want)
			}
		}
		// A file with only first_name keeps the last name.
		code, body = e.doWith(t, "POST", users+"/import", strings.NewReader("id,first_name\nmary,Marie\n"), "Bearer "+testToken, "text/csv")
		if code != 200 {
			t.Fatalf("import = %d %v", code, body)
		}
		if u := e.user(t, "mary"); u.Name != "Marie Lee" {
			t.Errorf("mary after first_name-only import = %q, want Marie Lee", u.Name)
		}
	})
}
