package dialplan

import (
	"strings"
	"testing"
)

func TestImportIPlumTemplate(t *testing.T) {
	s := importStore(t)
	rep, err := importFile(t, s, "acme.example", "testdata/import/iplum.csv")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Format != "iplum" {
		t.Errorf("format %q, want iplum", rep.Format)
	}
	want := []struct {
		id     string
		status ImportStatus
		field  string
	}{
		{"dana.diaz", ImportCreated, ""},
		{"erin", ImportCreated, ""},
		{"frank", ImportCreated, ""},
		{"gina", ImportFailed, "direct_number"},
		{"dana.diaz", ImportFailed, "id"}, // the same person twice in one file
	}
	if len(rep.Rows) != len(want) {
		t.Fatalf("report rows = %+v, want %d", rep.Rows, len(want))
	}
	for i, w := range want {
		got := rep.Rows[i]
		if got.ID != w.id || got.Status != w.status || got.Field != w.field {
			t.Errorf("row %d = %+v, want id %s %s field %q", got.Row, got, w.id, w.status, w.field)
		}
		if (got.Status == ImportCreated) != (len(got.Password) >= 20) {
			t.Errorf("row %d: generated password %q (want one exactly for created rows)", got.Row, got.Password)
		}
	}
	if rep.Rows[0].Password == rep.Rows[1].Password {
		t.Error("two users got the same generated password")
	}
	dana := user(t, s, "acme.example", "dana.diaz")
	if dana == nil {
		t.Fatal("dana.diaz did not land")
	}
	if dana.DirectNumber != "+14155550150" || dana.FirstName != "Dana" || dana.LastName != "Diaz" || dana.Email != "Dana.Diaz@acme.example" {
		t.Errorf("dana = %+v: want Excel's '+ removed, the name split, the email kept", dana)
	}
	if len(dana.Extensions) != 1 || !strings.HasPrefix(dana.Extensions[0], "7") {
		t.Errorf("dana's extensions %v, want one from the policy", dana.Extensions)
	}
	if len(dana.Credentials) == 0 || dana.Password != "" {
		t.Errorf("dana: the generated password must be hashed, not stored (%+v)", dana)
	}
	if erin := user(t, s, "acme.example", "erin"); erin == nil || erin.DirectNumber != "+14155550151" || erin.LastName != "Eck" {
		t.Errorf("erin = %+v: want the number's punctuation dropped", erin)
	}

	// The same file again updates the people it created: no new passwords.
	again, err := importFile(t, s, "acme.example", "testdata/import/iplum.csv")
	if err != nil {
		t.Fatal(err)
	}
	if again.Created != 0 || again.Updated != 3 || again.Rows[0].Password != "" {
		t.Errorf("second upload: %+v, want 3 updated and no passwords", again)
	}
}

func TestImportMultiLine(t *testing.T) {
	for _, tc := range []struct {
		file string
		want map[string]string // id -> direct number
	}{
		{"testdata/import/multiline.csv", map[string]string{"hank": "+14155550160", "ivy.ito": ""}},
		{"testdata/import/multiline_accounts.csv", map[string]string{"jo.march": "+14155550170", "kim.lee": "+14155550171"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			s := importStore(t)
			rep, err := importFile(t, s, "acme.example", tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Format != "multiline" || rep.Created != len(tc.want) || rep.Failed != 0 {
				t.Fatalf("report %+v, want multiline with %d created", rep, len(tc.want))
			}
			for id, number := range tc.want {
				u := user(t, s, "acme.example", id)
				if u == nil {
					t.Errorf("%s did not land (report %+v)", id, rep.Rows)
					continue
				}
				if u.DirectNumber != number || u.LastName == "" {
					t.Errorf("%s = %+v, want number %q and a last name", id, u, number)
				}
			}
		})
	}
}

// A file in neither layout is still held to our header.
func TestImportForeignNotGuessed(t *testing.T) {
	f, err := parseCSV(strings.NewReader("Name,Email\nAnn,ann@x\n"))
	if err == nil {
		t.Fatalf("parsed %+v; want the missing id column reported", f)
	}
	if f := detectForeign([]string{"id", "first_name", "last_name"}); f != nil {
		t.Errorf("our own header detected as %s", f.name)
	}
}

func TestCleanNumber(t *testing.T) {
	for in, want := range map[string]string{
		"'+14081231234":     "+14081231234",
		"+1 (408) 123-1234": "+14081231234",
		"+1.408.123.1234":   "+14081231234",
		"":                  "",
		"call me":           "call me",
	} {
		if got := cleanNumber(in); got != want {
			t.Errorf("cleanNumber(%q) = %q, want %q", in, got, want)
		}
	}
}
