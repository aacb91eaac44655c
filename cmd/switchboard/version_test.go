package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFormatVersion(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"go install @version", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}},
			"v1.4.0 go1.26.8"},
		{"git checkout", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "false"}}},
			"(devel) commit 0123456789ab go1.26.8"},
		{"modified tree", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.1-0.20261207-0123456789ab"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.modified", Value: "true"}}},
			"v1.4.1-0.20261207-0123456789ab commit 0123456789ab+dirty go1.26.8"},
		{"no module version", debug.BuildInfo{GoVersion: "go1.26.8"}, "(devel) go1.26.8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatVersion(&tc.bi); got != tc.want {
				t.Errorf("formatVersion = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"version"}, nil, &out, &errb); code != 0 {
		t.Fatalf("switchboard version exited %d: %s", code, errb.String())
	}
	if got := out.String(); !strings.HasPrefix(got, "switchboard ") || !strings.Contains(got, runtime.Version()) {
		t.Errorf("switchboard version printed %q, want \"switchboard <version> … %s\"", got, runtime.Version())
	}
}

// TestGoInstallable: `go install github.com/switchboard/switchboard/cmd/switchboard@latest`
// needs the module path to be the repository's import path, this folder to
// be its cmd/switchboard, and no replace directives (go install @version
// refuses a main module with them).
func TestGoInstallable(t *testing.T) {
	const path = "github.com/switchboard/switchboard"
	out, err := exec.Command("go", "mod", "edit", "-json").Output()
	if err != nil {
		t.Fatalf("go mod edit -json: %v", err)
	}
	var mod struct {
		Module  struct{ Path string }
		Replace []any
		Exclude []any
	}
	if err := json.Unmarshal(out, &mod); err != nil {
		t.Fatal(err)
	}
	if mod.Module.Path != path {
		t.Errorf("module path %q, want %q (README's go install line)", mod.Module.Path, path)
	}
	if len(mod.Replace) > 0 || len(mod.Exclude) > 0 {
		t.Errorf("go.mod has %d replace and %d exclude directives: go install …@latest refuses such a module", len(mod.Replace), len(mod.Exclude))
	}
	pkg, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{.Name}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	if got := strings.TrimSpace(string(pkg)); got != path+"/cmd/switchboard main" {
		t.Errorf("go list . = %q, want %s/cmd/switchboard main", got, path)
	}
}
