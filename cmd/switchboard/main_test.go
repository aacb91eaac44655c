package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, nil, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCheckValid(t *testing.T) {
	code, stdout, stderr := runCmd(t, "check", "-config", "testdata/valid.yaml")
	if code != 0 {
		t.Fatalf("check valid config: exit %d, want 0\nstderr:\n%s", code, stderr)
	}
	want := "testdata/valid.yaml: OK (1 tenants, 3 users, 1 groups, 1 attendants, 2 numbers, 0 trunks)\n"
	if stdout != want {
		t.Errorf("check stdout = %q, want %q", stdout, want)
	}
}

func TestCheckBroken(t *testing.T) {
	code, stdout, stderr := runCmd(t, "check", "-config", "testdata/broken.yaml")
	if code != 1 {
		t.Fatalf("check broken config: exit %d, want 1\nstderr:\n%s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("check broken config printed a summary: %q", stdout)
	}
	// Every problem, each with file:line, from both files.
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`broken\.yaml:2:.*sip\.listen.*sctp`),
		regexp.MustCompile(`broken\.yaml:3:.*sip\.min_expires`),
		regexp.MustCompile(`broken\.yaml:5:.*http\.listen`),
		regexp.MustCompile(`broken\.yaml:7:.*log\.level`),
		regexp.MustCompile(`broken_directory\.yaml:8:.*7001`),
		regexp.MustCompile(`broken_directory\.yaml:11:.*0800`),
	} {
		if !want.MatchString(stderr) {
			t.Errorf("check stderr lacks a line matching %q\nstderr:\n%s", want, stderr)
		}
	}
}

func TestServeBrokenDirectory(t *testing.T) {
	code, _, stderr := runCmd(t, "serve", "-config", "testdata/serve_broken_directory.yaml")
	if code != 1 {
		t.Fatalf("serve with a broken directory: exit %d, want 1\nstderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "invalid directory") || !strings.Contains(stderr, "broken_directory.yaml:8:") {
		t.Errorf("serve stderr does not list the directory problem with file:line:\n%s", stderr)
	}
}

func TestServeBrokenConfig(t *testing.T) {
	code, _, stderr := runCmd(t, "serve", "-config", "testdata/broken.yaml")
	if code != 1 {
		t.Fatalf("serve with a broken config: exit %d, want 1\nstderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "broken.yaml:2:") || !strings.Contains(stderr, "broken.yaml:7:") {
		t.Errorf("serve stderr does not list every config problem:\n%s", stderr)
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
	}{
		{nil, 2},
		{[]string{"frobnicate"}, 2},
		{[]string{"help"}, 0},
		{[]string{"version"}, 0},
	}
	for _, tt := range tests {
		if code, _, _ := runCmd(t, tt.args...); code != tt.code {
			t.Errorf("run(%q) = %d, want %d", tt.args, code, tt.code)
		}
	}
}
