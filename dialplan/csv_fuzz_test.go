package dialplan

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzImport feeds arbitrary files to the import. Property: it never
// panics, reports every parsed row exactly once, and the rows it lets
// through never make a directory that Validate refuses (the per-row checks
// are Validate's rules, so the store's final validation finds nothing).
func FuzzImport(f *testing.F) {
	files, _ := filepath.Glob("testdata/import/*.csv")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("id,extension,aliases\nx,7001;7001,\ny,,x\nz,,7002\n"))
	f.Add([]byte("id,direct_number,caller_id\nalice,,direct\nbob,+14155550102,\n"))
	base, err := Load("testdata/import/base.yaml", LoadOptions{})
	if err != nil {
		f.Fatal(err)
	}
	SetDefaults(base)
	f.Fuzz(func(t *testing.T, data []byte) {
		csv, err := parseCSV(bytes.NewReader(data))
		if err != nil {
			return
		}
		d := base.Clone()
		rep, err := newImporter(d.Tenants[0], map[string]string{"+14155550199": "globex.example"}).run(csv)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Rows) != len(csv.rows) || rep.Created+rep.Updated+rep.Failed != len(csv.rows) {
			t.Fatalf("%d rows reported (%d+%d+%d) for %d parsed", len(rep.Rows), rep.Created, rep.Updated, rep.Failed, len(csv.rows))
		}
		if ps := Validate(d); len(ps) > 0 {
			t.Fatalf("import let through an invalid directory:\n%v\nreport: %+v", ps, rep.Rows)
		}
	})
}
