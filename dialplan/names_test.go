package dialplan

import "testing"

func TestSyncName(t *testing.T) {
	tests := []struct {
		name                string
		in                  User
		wantFirst, wantLast string
		wantName            string
	}{
		{"name only", User{Name: "John Smith"}, "John", "Smith", "John Smith"},
		{"split on the last space", User{Name: " Mary  Ann   Lee "}, "Mary Ann", "Lee", "Mary Ann Lee"},
		{"one word", User{Name: "Cher"}, "Cher", "", "Cher"},
		{"first and last win", User{Name: "Old Name", FirstName: "New", LastName: "Name"}, "New", "Name", "New Name"},
		{"last only", User{LastName: "Smith"}, "", "Smith", "Smith"},
		{"nothing", User{}, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.in
			u.SyncName()
			if u.FirstName != tt.wantFirst || u.LastName != tt.wantLast || u.Name != tt.wantName {
				t.Errorf("SyncName(%+v) = %q %q %q, want %q %q %q", tt.in, u.FirstName, u.LastName, u.Name, tt.wantFirst, tt.wantLast, tt.wantName)
			}
		})
	}
}

func TestParseNames(t *testing.T) {
	d, err := Parse([]byte(`
tenants:
  - domain: a.example
    users:
      - {id: john, name: John Smith, extensions: ["7001"], password: pw-123456}
      - {id: jane, first_name: Jane, last_name: Doe, extensions: ["7002"], password: pw-123456}
`), "dir.yaml", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := [][3]string{}
	for _, u := range d.Tenants[0].Users {
		got = append(got, [3]string{u.FirstName, u.LastName, u.Name})
	}
	want := [][3]string{{"John", "Smith", "John Smith"}, {"Jane", "Doe", "Jane Doe"}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Parse names = %v, want %v", got, want)
	}
}
