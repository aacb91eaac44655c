package dialplan

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

func TestAttendantRetriesRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   Attendant
	}{
		{"zero retries", Attendant{ID: "night", Retries: 0}},
		{"three retries", Attendant{ID: "main", Retries: 3, Timeout: Duration(5e9), Options: map[string]string{"1": "user:a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" json", func(t *testing.T) {
			b, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var got Attendant
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.in, got); diff != "" {
				t.Errorf("JSON round trip of %s (-want +got):\n%s", b, diff)
			}
		})
		t.Run(tt.name+" yaml", func(t *testing.T) {
			b, err := yaml.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var got Attendant
			if err := yaml.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.in, got); diff != "" {
				t.Errorf("YAML round trip of %s (-want +got):\n%s", b, diff)
			}
		})
	}
	t.Run("absent means default", func(t *testing.T) {
		var got Attendant
		if err := json.Unmarshal([]byte(`{"id":"main"}`), &got); err != nil || got.Retries != DefaultRetries {
			t.Errorf("Unmarshal without retries = %d, %v; want %d", got.Retries, err, DefaultRetries)
		}
	})
}

func TestExportedYAMLReloads(t *testing.T) {
	d, err := Load("testdata/valid.yaml", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := yaml.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(b, "exported.yaml", LoadOptions{})
	if err != nil {
		t.Fatalf("Parse(exported) = %v\n%s", err, b)
	}
	// Extension credentials cannot survive a file: an HA1 is bound to the id.
	want := d.Clone()
	for _, tn := range want.Tenants {
		for _, u := range tn.Users {
			u.Credentials = u.Credentials[:1]
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reloaded export (-want +got):\n%s", diff)
	}
}

func TestCloneIsDeep(t *testing.T) {
	d, err := Load("testdata/valid.yaml", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := d.Clone()
	c.Tenants[0].Users[0].Extensions[0] = "9999"
	c.Tenants[0].Users[0].Forward.Number = "+10000000000"
	c.Tenants[0].Users[0].Credentials[0].HA1MD5 = ""
	c.Tenants[0].Numbers["+19999999999"] = "user:john"
	c.Tenants[0].Attendants[0].Options["5"] = "user:john"
	c.Tenants[0].Groups[0].Members[0] = "x"
	if diff := cmp.Diff(d, c); diff == "" {
		t.Fatal("Clone: changes not visible in the copy")
	}
	if d2, _ := Load("testdata/valid.yaml", LoadOptions{}); !cmp.Equal(d, d2) {
		t.Errorf("changing the clone changed the original: %s", cmp.Diff(d2, d))
	}
}
