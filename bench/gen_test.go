package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/dialplan"
)

// The generated directory must be one switchboard accepts, and the Kamailio
// tables must hold the same credentials.
func TestPopulationFiles(t *testing.T) {
	p := population{Tenants: 2, Users: 3, Seed: "test"}
	dir := t.TempDir()
	dirFile := filepath.Join(dir, "directory.yaml")
	f, err := os.Create(dirFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.writeDirectory(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	d, err := dialplan.Load(dirFile, dialplan.LoadOptions{})
	if err != nil {
		t.Fatalf("dialplan.Load(generated directory): %v", err)
	}
	if got := len(d.Tenants); got != 2 {
		t.Errorf("tenants = %d, want 2", got)
	}
	if got := len(d.Tenants[1].Users); got != 4 {
		t.Errorf("users of tenant 2 = %d, want 4 (3 + the callee)", got)
	}

	var reg strings.Builder
	if err := p.writeRegisterCSV(&reg); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(reg.String()), "\n")
	if lines[0] != "SEQUENTIAL" || len(lines) != 7 {
		t.Fatalf("register.csv = %q, want SEQUENTIAL and 6 users", reg.String())
	}
	pw := p.password(1, "u00001")
	if want := "u00001;[authentication username=u00001 password=" + pw + "];t002.bench"; lines[2] != want {
		t.Errorf("register.csv line 3 = %q, want %q", lines[2], want)
	}

	db := filepath.Join(dir, "db")
	if err := p.writeKamailioDB(db); err != nil {
		t.Fatal(err)
	}
	ht, err := os.ReadFile(filepath.Join(db, "htable"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ht), ":u00001@t002.bench:0:0:"+pw+":0\n") {
		t.Errorf("kamailio htable lacks u00001@t002.bench with its password:\n%s", ht)
	}
	did, _ := os.ReadFile(filepath.Join(db, "did"))
	if !strings.Contains(string(did), ":+14150020001:0:0:callee@t002.bench:0\n") {
		t.Errorf("kamailio did table lacks tenant 2's number:\n%s", did)
	}
}

func TestRenderKamailioConfig(t *testing.T) {
	cfg, err := renderKamailioConfig(kamailioConfig{Children: 4, Listen: "127.0.0.1:5070", ModulesDir: kamailioModules,
		DBDir: "/tmp/db", TrunkIP: trunkIP, HashBits: 14, MaxRows: 200000, Secret: "s"})
	if err != nil {
		t.Fatalf("renderKamailioConfig: %v", err)
	}
	for _, want := range []string{"children=4\n", "listen=udp:127.0.0.1:5070\n", `"text:///tmp/db"`, `$si == "127.0.0.2"`, "size=14;", `"max_result_rows", 200000`} {
		if !strings.Contains(cfg, want) {
			t.Errorf("rendered config lacks %q", want)
		}
	}
	if strings.Contains(cfg, "{{") {
		t.Error("rendered config still holds template actions")
	}
}

func TestHashBits(t *testing.T) {
	for n, want := range map[int]int{1: 4, 16: 4, 17: 5, 10010: 14, 100100: 17, 1 << 30: 20} {
		if got := hashBits(n); got != want {
			t.Errorf("hashBits(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-scale", "1000,10000", "-start", "register=10,call=5,did=5", "-max", "register=20,call=10,did=10"}, os.Stderr)
	if err != nil {
		t.Fatalf("parseFlags: %v", err)
	}
	if len(o.scale) != 2 || o.starts["call"] != 5 || o.maxRates["register"] != 20 {
		t.Errorf("parseFlags = %+v", o)
	}
	for _, bad := range [][]string{
		{"-systems", "asterisk"},
		{"-scenarios", "presence"},
		{"-start", "call=x"},
		{"-scale", "ten"},
		{"-tenants", "0"},
		{"-start", "register=100", "-max", "register=50"},
	} {
		if _, err := parseFlags(bad, devNull{}); err == nil {
			t.Errorf("parseFlags(%q): no error", bad)
		}
	}
}

type devNull struct{}

func (devNull) Write(p []byte) (int, error) { return len(p), nil }
