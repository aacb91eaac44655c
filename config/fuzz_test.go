package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode checks that no config file makes decoding or validation panic,
// and that every problem found while decoding names the file.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"example.yaml", "tls.yaml", "several.yaml", "types.yaml", "unknown.yaml", "syntax.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Default()
		c.File = "fuzz.yaml"
		c.origins = make(map[string]origin)
		d := decoder{file: c.File, dir: "/nonexistent", c: &c}
		d.document(data)
		for _, p := range d.probs {
			if p.File != c.File || p.Reason == "" {
				t.Errorf("decode problem %#v: want File %q and a reason", p, c.File)
			}
		}
		_ = c.Validate()
	})
}
