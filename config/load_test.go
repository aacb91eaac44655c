package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// problemsOf returns the Problems in err, failing the test for any other error.
func problemsOf(t *testing.T, err error) Problems {
	t.Helper()
	if err == nil {
		return nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %v (%T) is not Problems", err, err)
	}
	return ps
}

func TestLoadDecodeProblems(t *testing.T) {
	tests := []struct {
		name string
		file string
		want Problems
	}{
		{
			name: "unknown keys",
			file: "testdata/unknown.yaml",
			want: Problems{
				{File: "testdata/unknown.yaml", Line: 2, Field: "sip.lisen", Reason: "unknown field (did you mean listen?)"},
				{File: "testdata/unknown.yaml", Line: 4, Field: "logging", Reason: "unknown field"},
			},
		},
		{
			name: "wrong types",
			file: "testdata/types.yaml",
			want: Problems{
				{File: "testdata/types.yaml", Line: 2, Field: "sip.listen", Reason: `expected a list, got "udp://127.0.0.1:5060"`},
				{File: "testdata/types.yaml", Line: 3, Field: "sip.min_expires", Reason: `invalid duration "soon" (want e.g. 60s or a number of seconds)`},
				{File: "testdata/types.yaml", Line: 4, Field: "sip.udp_read_buffer", Reason: `invalid size "lots" (want bytes, e.g. 4194304 or 4MiB)`},
				{File: "testdata/types.yaml", Line: 5, Field: "media", Reason: "expected a mapping, got a list"},
				{File: "testdata/types.yaml", Line: 7, Field: "trunks", Reason: "expected a list, got a mapping"},
			},
		},
		{
			name: "syntax",
			file: "testdata/syntax.yaml",
			want: Problems{
				{File: "testdata/syntax.yaml", Line: 2, Field: "", Reason: "invalid YAML: did not find expected ',' or ']'"},
			},
		},
		{
			name: "missing file",
			file: "testdata/nope.yaml",
			want: Problems{{File: "testdata/nope.yaml", Line: 0, Field: "", Reason: "cannot read config: no such file or directory"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.file)
			if diff := cmp.Diff(tt.want, problemsOf(t, err)); diff != "" {
				t.Errorf("Load(%s) problems mismatch (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

func TestLoadInline(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want Problems // File is filled in
	}{
		{"duplicate key", "log:\n  level: info\n  level: debug\n", Problems{{Line: 3, Field: "log.level", Reason: "duplicate key (first at line 2)"}}},
		{"unknown trunk key", "trunks:\n  - name: a\n    adress: 1.2.3.4:5060\n", Problems{{Line: 3, Field: "trunks[0].adress", Reason: "unknown field (did you mean address?)"}}},
		{"list of mappings", "sip:\n  listen:\n    - {a: b}\n", Problems{{Line: 3, Field: "sip.listen[0]", Reason: "expected a string, got a mapping"}}},
		{"two documents", "log: {level: info}\n---\nlog: {level: debug}\n", Problems{{Line: 2, Reason: "more than one YAML document"}}},
		{"unclosed list at the end", "[a\n", Problems{{Line: 2, Reason: "invalid YAML: did not find expected ',' or ']'"}}},
		{"bad indentation", "log:\n  level: info\n format: text\n", Problems{{Line: 3, Reason: "invalid YAML: did not find expected key"}}},
		{"tab", "log:\n\tlevel: info\n", Problems{{Line: 2, Reason: "invalid YAML: found character that cannot start any token"}}},
		{"scalar root", "hello\n", Problems{{Line: 1, Reason: `expected a mapping, got "hello"`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.yaml)
			_, err := Load(path)
			for i := range tt.want {
				tt.want[i].File = path
			}
			if diff := cmp.Diff(tt.want, problemsOf(t, err)); diff != "" {
				t.Errorf("Load problems mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadAliases(t *testing.T) {
	c, err := Load(writeConfig(t, "trunks:\n  - name: a\n    address: 192.0.2.1:5060\n    inbound_from: &nets [192.0.2.0/24]\n  - name: b\n    address: 192.0.2.2:5060\n    inbound_from: *nets\n"))
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	if diff := cmp.Diff([]string{"192.0.2.0/24"}, c.Trunks[1].InboundFrom); diff != "" {
		t.Errorf("aliased inbound_from mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadRelativePaths(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "etc")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(sub, "switchboard.yaml")
	text := "directory: dir/directory.yaml\nmedia: {prompts: prompts}\nsip: {tls: {cert: /abs/cert.pem, key: key.pem}}\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	tests := []struct{ field, got, want string }{
		{"directory", c.Directory, filepath.Join(sub, "dir", "directory.yaml")},
		{"media.prompts", c.Media.Prompts, filepath.Join(sub, "prompts")},
		{"sip.tls.cert", c.SIP.TLS.Cert, "/abs/cert.pem"},
		{"sip.tls.key", c.SIP.TLS.Key, filepath.Join(sub, "key.pem")},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("%s = %q, want %q", tt.field, tt.got, tt.want)
			}
		})
	}

	// Paths from the environment stay relative to the working directory.
	if err := ApplyEnv(&c, []string{"SWITCHBOARD_DIRECTORY=here.yaml"}); err != nil {
		t.Fatalf("ApplyEnv = %v", err)
	}
	if c.Directory != "here.yaml" {
		t.Errorf("Directory from env = %q, want %q", c.Directory, "here.yaml")
	}
}

func TestAdminTokenFile(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("\n  t0ken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		yaml      string
		env       []string
		wantToken string
		wantProbs []string // Problem.String() without the file's path
	}{
		{name: "read and trimmed", yaml: "http: {admin_token_file: token}\n", wantToken: "t0ken"},
		{name: "missing file", yaml: "http:\n  admin_token_file: nope\n",
			wantProbs: []string{":2: http.admin_token_file: cannot read: no such file or directory"}},
		{name: "empty file", yaml: "http:\n  admin_token_file: empty\n",
			wantProbs: []string{":2: http.admin_token_file: " + empty + " is empty"}},
		{name: "both in file", yaml: "http:\n  admin_token: abc\n  admin_token_file: token\n", wantToken: "abc",
			wantProbs: []string{":2: http.admin_token: set together with http.admin_token_file (FILE:3); set only one"}},
		{name: "env token conflicts with file's token file", yaml: "http:\n  admin_token_file: token\n",
			env: []string{"SWITCHBOARD_HTTP_ADMIN_TOKEN=fromenv"}, wantToken: "fromenv",
			wantProbs: []string{"env SWITCHBOARD_HTTP_ADMIN_TOKEN: http.admin_token: set together with http.admin_token_file (FILE:2); set only one"}},
		{name: "env clears the token file", yaml: "http:\n  admin_token_file: token\n",
			env: []string{"SWITCHBOARD_HTTP_ADMIN_TOKEN_FILE=", "SWITCHBOARD_HTTP_ADMIN_TOKEN=fromenv"}, wantToken: "fromenv"},
		{name: "env token file", yaml: "",
			env: []string{"SWITCHBOARD_HTTP_ADMIN_TOKEN_FILE=" + tokenFile}, wantToken: "t0ken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "switchboard.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path)
			if err != nil {
				t.Fatalf("Load = %v", err)
			}
			if err := ApplyEnv(&c, tt.env); err != nil {
				t.Fatalf("ApplyEnv = %v", err)
			}
			if c.HTTP.AdminToken != tt.wantToken {
				t.Errorf("HTTP.AdminToken = %q, want %q", c.HTTP.AdminToken, tt.wantToken)
			}
			var got []string
			for _, p := range c.Validate() {
				s := p.String()
				if p.File == path {
					s = s[len(path):]
				}
				got = append(got, s)
			}
			var want []string
			for _, w := range tt.wantProbs {
				want = append(want, strings.ReplaceAll(w, "FILE", path))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Validate() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
