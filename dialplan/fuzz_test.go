package dialplan

import (
	"os"
	"testing"
)

// FuzzParse checks that no input panics the loader, and that whatever it
// accepts is valid and compiles.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"valid", "multi", "unknown_key", "syntax"} {
		b, err := os.ReadFile("testdata/" + name + ".yaml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(demoYAML)
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("tenants: &t [{domain: x.example, users: [{id: a, password: p}]}]\nx: *t\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data, "fuzz.yaml", LoadOptions{})
		if err != nil {
			return
		}
		if ps := Validate(d); len(ps) > 0 {
			t.Fatalf("Parse accepted a directory Validate rejects: %v", ps)
		}
		if _, err := Compile(d); err != nil {
			t.Fatalf("Compile(parsed) = %v", err)
		}
	})
}

func TestAliasBomb(t *testing.T) {
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n" +
		"tenants:\n  - domain: a.example\n    users:\n      - id: u\n        password: p\n        aliases: *f\n"
	if _, err := Parse([]byte(bomb), "bomb.yaml", LoadOptions{}); err == nil {
		t.Errorf("Parse(alias bomb) = nil error, want problems")
	}
}
