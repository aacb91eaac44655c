package dialplan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// importStore is a memory store loaded with testdata/import/base.yaml.
func importStore(t testing.TB) *MemoryStore {
	t.Helper()
	d, err := Load("testdata/import/base.yaml", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := NewMemoryStore()
	if err := s.Replace(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return s
}

func importFile(t *testing.T, s *MemoryStore, domain, file string) (*ImportReport, error) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Import(context.Background(), s, s, domain, f)
}

func user(t *testing.T, s *MemoryStore, domain, id string) *User {
	t.Helper()
	v, err := s.Tenant(context.Background(), domain)
	if err != nil {
		t.Fatal(err)
	}
	u, ok := v.User(id)
	if !ok {
		return nil
	}
	return u
}

// TestImportRows runs a file with every kind of row error next to good
// rows against the golden report, then checks the good rows landed.
func TestImportRows(t *testing.T) {
	s := importStore(t)
	rep, err := importFile(t, s, "acme.example", "testdata/import/rows.csv")
	if err != nil {
		t.Fatalf("Import(rows.csv) error = %v", err)
	}
	got, _ := json.MarshalIndent(rep, "", "  ")
	golden := "testdata/import/rows.report.json"
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(strings.TrimSpace(string(want)), string(got)); diff != "" {
		t.Errorf("report mismatch (-want +got), rerun with -update if intended:\n%s", diff)
	}
	if rep.Created != 3 || rep.Updated != 1 {
		t.Errorf("created %d, updated %d; want 3 and 1", rep.Created, rep.Updated)
	}

	john := user(t, s, "acme.example", "john")
	if john == nil {
		t.Fatal("john was not created")
	}
	wantJohn := &User{
		ID: "john", Name: "John Smith", FirstName: "John", LastName: "Smith", Email: "john@acme.example", Extensions: []string{"7010"},
		DirectNumber: "+14155550110", CallerID: CallerIDDirect, Aliases: []string{"john-support", "john-sales"},
		Forward: &Forward{Number: "+14085551234", When: ForwardNoAnswer, After: DefaultForwardAfter, Screening: true},
	}
	if diff := cmp.Diff(wantJohn, john, cmpUserFields); diff != "" {
		t.Errorf("john (-want +got):\n%s", diff)
	}
	if jane := user(t, s, "acme.example", "jane"); jane == nil || !cmp.Equal(jane.Extensions, []string{"7003"}) {
		t.Errorf("jane = %+v, want the next free extension 7003", jane)
	}
	if carol := user(t, s, "acme.example", "carol"); carol == nil || !cmp.Equal(carol.Extensions, []string{"7004"}) {
		t.Errorf("carol = %+v, want extension 7004", carol)
	}
	alice := user(t, s, "acme.example", "alice")
	if alice.Name != "Alice Anderson" || !cmp.Equal(alice.Extensions, []string{"7001"}) {
		t.Errorf("alice = %+v, want the new name and her extension kept", alice)
	}
	// Alice's password was blank in the file: her credentials are kept.
	if c, ok := mustView(t, s, "acme.example").Credential("7001"); !ok || c.HA1MD5 != HA1(AlgorithmMD5, "7001", "acme.example", "alice-pw-7001") {
		t.Error("alice lost her credentials in an update without a password")
	}
	for _, id := range []string{"dup-ext", "bad-ext", "other-tenant", "no-password", "taken-alias", "bad-email"} {
		if u := user(t, s, "acme.example", id); u != nil {
			t.Errorf("failed row %s landed: %+v", id, u)
		}
	}
}

var cmpUserFields = cmp.FilterPath(func(p cmp.Path) bool {
	switch p.Last().String() {
	case ".Password", ".HA1MD5", ".HA1SHA256", ".Credentials":
		return true
	}
	return false
}, cmp.Ignore())

func mustView(t *testing.T, s *MemoryStore, domain string) *View {
	t.Helper()
	v, err := s.Tenant(context.Background(), domain)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestImportIdempotent uploads the same file twice: the second upload
// creates nothing, fails nothing new and leaves the directory as it was.
func TestImportIdempotent(t *testing.T) {
	s := importStore(t)
	first, err := importFile(t, s, "acme.example", "testdata/import/rows.csv")
	if err != nil {
		t.Fatal(err)
	}
	before, _ := s.Export(context.Background())
	second, err := importFile(t, s, "acme.example", "testdata/import/rows.csv")
	if err != nil {
		t.Fatal(err)
	}
	after, _ := s.Export(context.Background())
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("second import changed the directory (-first +second):\n%s", diff)
	}
	if second.Created != 0 || second.Updated != first.Created+first.Updated || second.Failed != first.Failed {
		t.Errorf("second import: created %d updated %d failed %d; want 0, %d, %d",
			second.Created, second.Updated, second.Failed, first.Created+first.Updated, first.Failed)
	}
}

func TestImportHeader(t *testing.T) {
	tests := []struct {
		file, want string
	}{
		{"unknown_column.csv", `header: unknown column "department"`},
		{"missing_id.csv", `header: missing column "id"`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s := importStore(t)
			before, _ := s.Export(context.Background())
			_, err := importFile(t, s, "acme.example", "testdata/import/"+tt.file)
			var ps Problems
			if !errors.As(err, &ps) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Import(%s) error = %v, want Problems starting %q", tt.file, err, tt.want)
			}
			after, _ := s.Export(context.Background())
			if !cmp.Equal(before, after) {
				t.Error("a whole-file error changed the directory")
			}
		})
	}
}

func TestImportParse(t *testing.T) {
	tests := []struct {
		name, csv, wantErr string
		wantRows           int
	}{
		{"empty", "", "header: empty file", 0},
		{"repeated column", "id,email,Email\n", `header: column "email" appears twice`, 0},
		{"header only", "id\n", "", 0},
		{"spaces and case", " ID , Email \nx,x@y\n", "", 1},
		{"quoted cells", "id,aliases\n\"x\",\"a;b\"\n", "", 1},
		{"blank lines skipped", "id\n\nx\n\ny\n", "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseCSV(strings.NewReader(tt.csv))
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("parseCSV(%q) error = %v, want %q", tt.csv, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseCSV(%q) error = %v", tt.csv, err)
			}
			if len(f.rows) != tt.wantRows {
				t.Errorf("parseCSV(%q) = %d rows, want %d", tt.csv, len(f.rows), tt.wantRows)
			}
		})
	}
}

func TestImportTooManyRows(t *testing.T) {
	var b strings.Builder
	b.WriteString("id\n")
	for i := range MaxImportRows + 1 {
		fmt.Fprintf(&b, "u%d\n", i)
	}
	_, err := parseCSV(strings.NewReader(b.String()))
	if err == nil || !strings.Contains(err.Error(), "split the file") {
		t.Errorf("parseCSV(%d rows) error = %v, want a whole-file error", MaxImportRows+1, err)
	}
}

func TestImportReorderedAndBOM(t *testing.T) {
	s := importStore(t)
	rep, err := importFile(t, s, "acme.example", "testdata/import/reordered.csv")
	if err != nil || rep.Created != 1 {
		t.Fatalf("Import(reordered.csv) = %+v, %v; want 1 created", rep, err)
	}
	if d := user(t, s, "acme.example", "dave"); d == nil || !cmp.Equal(d.Aliases, []string{"dave-a", "dave-b"}) || !cmp.Equal(d.Extensions, []string{"7003"}) {
		t.Errorf("dave = %+v, want aliases dave-a, dave-b and extension 7003", d)
	}
	rep, err = importFile(t, s, "acme.example", "testdata/import/bom.csv")
	if err != nil || rep.Created != 1 {
		t.Fatalf("Import(bom.csv) = %+v, %v; want 1 created", rep, err)
	}
}

func TestImportUnknownTenant(t *testing.T) {
	s := importStore(t)
	_, err := Import(context.Background(), s, s, "nope.example", strings.NewReader("id,password\nx,pw\n"))
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("Import(unknown tenant) error = %v, want ErrNotFound", err)
	}
}

func TestImportExhaustedPolicy(t *testing.T) {
	s := importStore(t)
	err := s.UpdateTenant(context.Background(), "acme.example", func(t *Tenant) error {
		t.ExtensionPolicy = "70X" // 701..709
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("id,password\n")
	for i := range 10 {
		fmt.Fprintf(&b, "u%d,pw\n", i)
	}
	rep, err := Import(context.Background(), s, s, "acme.example", strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 9 || rep.Failed != 1 || !strings.Contains(rep.Rows[9].Error, "no free extension") {
		t.Errorf("report = %+v, want 9 created and the 10th failing for lack of extensions", rep)
	}
}

// TestImportConcurrent runs two imports of overlapping files at once: every
// id ends up once, with its own extension, and the directory stays valid.
func TestImportConcurrent(t *testing.T) {
	s := importStore(t)
	file := func(from, to int) string {
		var b strings.Builder
		b.WriteString("id,password,direct_number\n")
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, "u%03d,pw-%d,+1415600%04d\n", i, i, i)
		}
		return b.String()
	}
	files := []string{file(0, 200), file(100, 300)}
	reps := make([]*ImportReport, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Go(func() { reps[i], errs[i] = Import(context.Background(), s, s, "acme.example", strings.NewReader(f)) })
	}
	wg.Wait()
	created := 0
	for i := range files {
		if errs[i] != nil {
			t.Fatalf("import %d: %v", i, errs[i])
		}
		if reps[i].Failed != 0 {
			t.Errorf("import %d: %d rows failed: %+v", i, reps[i].Failed, reps[i].Rows)
		}
		created += reps[i].Created
	}
	if created != 300 {
		t.Errorf("created %d users in total, want 300 (each id once)", created)
	}
	d, _ := s.Export(context.Background())
	if ps := Validate(d); len(ps) > 0 {
		t.Fatalf("directory invalid after concurrent imports: %v", ps)
	}
	exts := map[string]string{}
	for _, u := range d.Tenants[0].Users {
		for _, e := range u.Extensions {
			if prev, dup := exts[e]; dup {
				t.Errorf("extension %s assigned to %s and %s", e, prev, u.ID)
			}
			exts[e] = u.ID
		}
	}
}

func BenchmarkImport10k(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("id,first_name,last_name,email,extension,password,direct_number,caller_id,forward_number,forward_when,forward_screening,aliases\n")
	for i := range 10000 {
		ext := fmt.Sprint(300000 + i)
		if i%10 == 0 {
			ext = "" // from the policy
		}
		fmt.Fprintf(&buf, "user%05d,First%d,Last%d,user%d@acme.example,%s,pw-%d-secret,+1415700%04d,direct,+1408555%04d,no_answer,true,user%05d-support\n",
			i, i, i, i, ext, i, i, i, i)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s := importStore(b)
		if err := s.UpdateTenant(context.Background(), "acme.example", func(t *Tenant) error {
			t.ExtensionPolicy = "4XXXXX"
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		rep, err := Import(context.Background(), s, s, "acme.example", bytes.NewReader(data))
		if err != nil || rep.Created != 10000 {
			b.Fatalf("Import = %d created, %v; rows %+v", rep.Created, err, rep.Rows[:3])
		}
	}
}
