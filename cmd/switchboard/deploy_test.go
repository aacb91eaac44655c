package main

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The packaging files in deploy/ and the Containerfile, checked with the
// tools that read them where they are installed.

func readRepoFile(t *testing.T, parts ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"..", ".."}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// unitSettings parses a systemd unit into key -> values (comments dropped).
func unitSettings(unit string) map[string][]string {
	out := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(unit))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = append(out[k], v)
		}
	}
	return out
}

func TestSystemdUnit(t *testing.T) {
	unit := readRepoFile(t, "deploy", "systemd", "switchboard.service")
	set := unitSettings(unit)
	for k, want := range map[string]string{
		"DynamicUser":           "yes",
		"AmbientCapabilities":   "CAP_NET_BIND_SERVICE",
		"CapabilityBoundingSet": "CAP_NET_BIND_SERVICE",
		"ProtectSystem":         "strict",
		"NoNewPrivileges":       "yes",
		"LimitNOFILE":           "65536",
		"KillSignal":            "SIGTERM",
	} {
		if got := strings.Join(set[k], " "); got != want {
			t.Errorf("%s=%q, want %q", k, got, want)
		}
	}
	// Stopping must leave room for the drain (shutdown_timeout, 30s default).
	if d := strings.TrimSuffix(strings.Join(set["TimeoutStopSec"], ""), "s"); d == "" {
		t.Error("no TimeoutStopSec: systemd's default 90s is fine but say it")
	} else if n, err := strconv.Atoi(d); err != nil || n <= 30 {
		t.Errorf("TimeoutStopSec=%s, want more than the 30s shutdown_timeout", d)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed: directives checked, unit not verified")
	}
	// verify needs the executables to exist: point them at this test binary.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "switchboard.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/local/bin/switchboard", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err := exec.Command(analyze, "security", "--offline=true", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security printed no exposure level:\n%s", out)
	}
	// 0 is fully locked down, 10 is unprotected; 1.7 today.
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 2.5 {
		t.Errorf("systemd exposure level %.1f, want at most 2.5 (hardening lost?)", level)
	}
}

// containerStages splits a Containerfile into its stages' instructions.
func containerStages(cf string) [][]string {
	var stages [][]string
	sc := bufio.NewScanner(strings.NewReader(strings.ReplaceAll(cf, "\\\n", " ")))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if strings.HasPrefix(strings.ToUpper(line), "FROM ") {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], line)
		}
	}
	return stages
}

func TestContainerfile(t *testing.T) {
	stages := containerStages(readRepoFile(t, "Containerfile"))
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and a runtime stage", len(stages))
	}
	build, final := strings.Join(stages[0], "\n"), stages[len(stages)-1]
	if !strings.Contains(build, "CGO_ENABLED=0 go build") || !strings.Contains(build, "./cmd/switchboard") {
		t.Errorf("build stage does not build a static ./cmd/switchboard:\n%s", build)
	}
	if base := final[0]; !strings.Contains(base, "distroless/static") {
		t.Errorf("runtime base %q, want a distroless static image", base)
	}
	user := ""
	for _, l := range final {
		if strings.HasPrefix(strings.ToUpper(l), "USER ") {
			user = strings.TrimSpace(l[5:])
		}
	}
	if uid, _, _ := strings.Cut(user, ":"); user == "" || uid == "0" || uid == "root" {
		t.Errorf("runtime stage USER %q, want a non-root user", user)
	}
}

// TestStaticDeps: with cgo off, as the Containerfile builds, every package
// the binary needs still builds (none is cgo-only). Cheap: no compile.
func TestStaticDeps(t *testing.T) {
	cmd := exec.Command("go", "list", "-e", "-deps", "-f", "{{if .Error}}{{.ImportPath}}: {{.Error}}{{end}}", ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("CGO_ENABLED=0 go list -deps: %v", err)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("packages that do not build without cgo:\n%s", s)
	}
}

// TestStaticBuild builds the binary as the Containerfile does and checks it
// needs no dynamic loader, so it runs on the libc-less base image. It
// compiles everything without cgo (minutes on a busy 2-core machine), so it
// runs only with SWITCHBOARD_SLOW_TESTS=1; TestStaticDeps is the cheap check.
func TestStaticBuild(t *testing.T) {
	if os.Getenv("SWITCHBOARD_SLOW_TESTS") != "1" {
		t.Skip("compiles the whole binary without cgo; set SWITCHBOARD_SLOW_TESTS=1")
	}
	bin := filepath.Join(t.TempDir(), "switchboard")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: it is not static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary links %v, want none", libs)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "switchboard ") {
		t.Errorf("static binary version = %q, %v", out, err)
	}
}
