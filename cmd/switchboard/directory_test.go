package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/redistest"
)

func TestDirectoryImportExport(t *testing.T) {
	srv := redistest.Start(t)
	dirFile, err := filepath.Abs("testdata/valid_directory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(t.TempDir(), "switchboard.yaml")
	cfg := "store:\n  redis: " + srv.URL() + "\ndirectory: " + dirFile + "\n"
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(append([]string{"directory"}, args...), nil, &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, out, errs := cmd("import", "-config", cfgFile); code != 0 || !strings.Contains(out, "imported") {
		t.Fatalf("import into empty redis: exit %d, %q, %q", code, out, errs)
	}
	if code, _, errs := cmd("import", "-config", cfgFile); code != 1 || !strings.Contains(errs, "-force") {
		t.Errorf("import into populated redis: exit %d, %q; want 1 and a hint at -force", code, errs)
	}
	if code, _, errs := cmd("import", "-force", "-config", cfgFile); code != 0 {
		t.Errorf("import -force: exit %d, %q", code, errs)
	}
	code, out, errs := cmd("export", "-config", cfgFile)
	if code != 0 || !strings.Contains(out, "domain:") || strings.Contains(out, "password:") || !strings.Contains(out, "ha1_md5:") {
		t.Errorf("export: exit %d, stderr %q, output:\n%s\nwant YAML with hashes and no password", code, errs, out)
	}
	if code, _, _ := cmd("frobnicate"); code != 2 {
		t.Errorf("directory frobnicate: exit %d, want 2", code)
	}
}
