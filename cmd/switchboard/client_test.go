package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/admin"
	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/location"
)

const cliToken = "cli-test-token"

// apiServer starts the admin API over a real memory store loaded with the
// demo directory and returns the environment the CLI needs to reach it.
func apiServer(t *testing.T) (*dialplan.MemoryStore, []string) {
	t.Helper()
	d, err := dialplan.Demo()
	if err != nil {
		t.Fatal(err)
	}
	store := dialplan.NewMemoryStore()
	if err := store.Replace(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	loc := location.NewMemory(nil)
	api, err := admin.NewAPI(admin.APIConfig{
		Token: cliToken, Directory: store, Registrations: registrations{loc}, Unbinder: unbinder{loc},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return store, []string{"SWITCHBOARD_SERVER=" + srv.URL, "SWITCHBOARD_TOKEN=" + cliToken}
}

func runEnv(t *testing.T, environ []string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, environ, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCLITenants(t *testing.T) {
	_, env := apiServer(t)
	steps := []struct {
		args     []string
		wantCode int
		want     string // substring of stdout (or of stderr on failure)
	}{
		{[]string{"tenants", "add", "-name", "Globex", "-main-number", "+14155550200", "globex.example"}, 0, "globex.example  Globex"},
		{[]string{"tenants", "add", "-domain", "globex.example", "-name", "Globex"}, 1, "domain: tenant globex.example already exists (HTTP 409)"},
		{[]string{"tenants", "set", "globex.example", "-name", "Globex Corp"}, 0, "Globex Corp"},
		{[]string{"tenants", "list"}, 0, "globex.example  Globex Corp"},
		{[]string{"tenants", "delete", "acme.example"}, 1, "not empty"},
		{[]string{"tenants", "delete", "globex.example"}, 0, "deleted tenant globex.example"},
		{[]string{"tenants", "get", "globex.example"}, 1, "HTTP 404"},
	}
	for _, s := range steps {
		code, stdout, stderr := runEnv(t, env, s.args...)
		got := stdout
		if s.wantCode != 0 {
			got = stderr
		}
		if code != s.wantCode || !strings.Contains(got, s.want) {
			t.Errorf("switchboard %s = %d\nstdout:\n%s\nstderr:\n%s\nwant exit %d and %q", strings.Join(s.args, " "), code, stdout, stderr, s.wantCode, s.want)
		}
	}
}

func TestCLIUsers(t *testing.T) {
	store, env := apiServer(t)
	user := func(id string) *dialplan.User {
		v, err := store.Tenant(context.Background(), "acme.example")
		if err != nil {
			t.Fatal(err)
		}
		u, _ := v.User(id)
		return u
	}
	env = append(env, "SWITCHBOARD_TENANT=acme.example")

	code, stdout, stderr := runEnv(t, env, "users", "list")
	want := "" +
		"ID     NAME          EXTENSIONS  DIRECT NUMBER  ALIASES        CALLER ID  FORWARD  EMAIL\n" +
		"alice  Alice Anders  7001        +14155550101   alice-support  direct     -        alice@acme.example\n" +
		"bob    Bob Brown     7002        -              -              main       -        bob@acme.example\n" +
		"carol  Carol Chen    7003        -              -              main       -        carol@acme.example\n"
	if code != 0 || stdout != want {
		t.Errorf("users list = %d\n%s\nwant:\n%s\nstderr: %s", code, stdout, want, stderr)
	}

	code, stdout, stderr = runEnv(t, env, "users", "add", "-name", "John Smith", "-aliases", "john-support,john-sales", "john")
	if code != 0 || !strings.Contains(stdout, "john  John Smith  7004") || !strings.Contains(stdout, "generated SIP password: ") {
		t.Fatalf("users add john = %d\n%s\n%s", code, stdout, stderr)
	}
	pw := strings.Fields(stdout[strings.Index(stdout, "generated SIP password: "):])[3]
	if c, ok := mustView(t, store).Credential("john"); !ok || c.HA1MD5 != dialplan.HA1("MD5", "john", "acme.example", pw) {
		t.Errorf("the printed password %q does not authenticate john", pw)
	}

	code, _, stderr = runEnv(t, env, "users", "add", "-extensions", "7001", "-password", "x", "dup")
	if code != 1 || !strings.Contains(stderr, `"7001" is already user alice's extension (HTTP 409)`) {
		t.Errorf("users add with a taken extension = %d, stderr %q; want exit 1 with the API's message", code, stderr)
	}

	code, stdout, stderr = runEnv(t, env, "users", "set", "john", "-forward", "+14085551234", "-forward-when", "no_answer", "-screening", "-caller-id", "main")
	if code != 0 || !strings.Contains(stdout, "+14085551234 no_answer 20s screening") {
		t.Errorf("users set forward = %d\n%s\n%s", code, stdout, stderr)
	}
	if u := user("john"); u.Forward == nil || !u.Forward.Screening || u.CallerID != dialplan.CallerIDMain || u.Name != "John Smith" {
		t.Errorf("john = %+v, want forward with screening, caller_id main, name kept", u)
	}
	if code, _, stderr = runEnv(t, env, "users", "set", "john", "-no-forward"); code != 0 || user("john").Forward != nil {
		t.Errorf("users set -no-forward = %d %s; forward %+v", code, stderr, user("john").Forward)
	}

	code, stdout, _ = runEnv(t, env, "users", "password", "john")
	if code != 0 || !strings.Contains(stdout, "new SIP password of john: ") {
		t.Errorf("users password = %d %q", code, stdout)
	}
	if c, _ := mustView(t, store).Credential("john"); c.HA1MD5 == dialplan.HA1("MD5", "john", "acme.example", pw) {
		t.Error("the old password still works after users password")
	}

	code, stdout, _ = runEnv(t, env, "users", "list", "-json", "-q", "smith")
	var list struct {
		Users []dialplan.User `json:"users"`
		Total int             `json:"total"`
	}
	if err := json.Unmarshal([]byte(stdout), &list); code != 0 || err != nil || list.Total != 1 || list.Users[0].ID != "john" {
		t.Errorf("users list -json -q smith = %d %q (%v)", code, stdout, err)
	}

	code, stdout, _ = runEnv(t, env, "users", "delete", "john")
	if code != 0 || stdout != "deleted user john\n" || user("john") != nil {
		t.Errorf("users delete john = %d %q", code, stdout)
	}
	code, _, stderr = runEnv(t, env, "users", "delete", "john")
	if code != 1 || !strings.Contains(stderr, "user john in tenant acme.example: not found (HTTP 404)") {
		t.Errorf("users delete john again = %d %q", code, stderr)
	}
}

func mustView(t *testing.T, s *dialplan.MemoryStore) *dialplan.View {
	t.Helper()
	v, err := s.Tenant(context.Background(), "acme.example")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCLINumbersAndGroups(t *testing.T) {
	_, env := apiServer(t)
	steps := []struct {
		args     []string
		wantCode int
		want     string
	}{
		{[]string{"numbers", "add", "-tenant", "acme.example", "+14155550120", "-target", "user:bob"}, 0, "+14155550120  user:bob"},
		{[]string{"numbers", "set", "-tenant", "acme.example", "-number", "+14155550120", "-target", "group:sales"}, 0, "+14155550120  group:sales"},
		{[]string{"numbers", "add", "-tenant", "acme.example", "+14155550121", "-target", "user:nobody"}, 1, `no user "nobody"`},
		{[]string{"numbers", "list", "-tenant", "acme.example"}, 0, "NUMBER        TARGET\n+14155550100  attendant:main\n+14155550101  user:alice\n+14155550120  group:sales\n"},
		{[]string{"numbers", "delete", "-tenant", "acme.example", "+14155550120"}, 0, "deleted number +14155550120"},
		{[]string{"groups", "add", "-tenant", "acme.example", "support", "-members", "alice-support,carol", "-strategy", "sequential"}, 0, "support  7004       sequential  20s   alice-support,carol"},
		{[]string{"groups", "list", "-tenant", "acme.example"}, 0, "sales    7100"},
		{[]string{"groups", "delete", "-tenant", "acme.example", "sales"}, 1, "option 1 of attendant main routes to group sales"},
		{[]string{"attendants", "set", "-tenant", "acme.example", "main", "-options", "1=group:support,0=user:carol"}, 0, "0=user:carol,1=group:support"},
		{[]string{"groups", "delete", "-tenant", "acme.example", "sales"}, 0, "deleted group sales"},
	}
	for _, s := range steps {
		code, stdout, stderr := runEnv(t, env, s.args...)
		got := stdout
		if s.wantCode != 0 {
			got = stderr
		}
		if code != s.wantCode || !strings.Contains(got, s.want) {
			t.Errorf("switchboard %s = %d\nstdout:\n%s\nstderr:\n%s\nwant exit %d and %q", strings.Join(s.args, " "), code, stdout, stderr, s.wantCode, s.want)
		}
	}
}

func TestCLIImport(t *testing.T) {
	store, env := apiServer(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.csv", "id,first_name,last_name,password,extension\njohn,John,Smith,john-pw-1,\njane,Jane,Doe,jane-pw-1,7020\n")
	bad := write("bad.csv", "id,first_name,extension,password\nzed,Zed,7001,pw\nyan,Yan,,yan-pw\n")
	unknown := write("unknown.csv", "id,department\nx,sales\n")

	code, stdout, stderr := runEnv(t, env, "import", "-tenant", "acme.example", good)
	want := "ROW  ID    STATUS   ERROR\n2    john  created  -\n3    jane  created  -\n2 created, 0 updated, 0 failed\n"
	if code != 0 || stdout != want {
		t.Errorf("import good.csv = %d\n%s\nwant:\n%s\nstderr: %s", code, stdout, want, stderr)
	}
	code, stdout, _ = runEnv(t, env, "import", "-tenant", "acme.example", good)
	if code != 0 || !strings.Contains(stdout, "0 created, 2 updated, 0 failed") {
		t.Errorf("import good.csv again = %d\n%s", code, stdout)
	}

	code, stdout, stderr = runEnv(t, env, "import", "-tenant", "acme.example", bad)
	if code != 1 || !strings.Contains(stdout, `2    zed  failed   extension: "7001" is already used by user alice`) ||
		!strings.Contains(stdout, "3    yan  created  -") || !strings.Contains(stderr, "1 of 2 rows failed") {
		t.Errorf("import bad.csv = %d\n%s\n%s", code, stdout, stderr)
	}
	if v := mustView(t, store); func() bool { _, ok := v.User("yan"); return !ok }() {
		t.Error("the good row of bad.csv did not land")
	}

	code, _, stderr = runEnv(t, env, "import", "-tenant", "acme.example", unknown)
	if code != 1 || !strings.Contains(stderr, `header: unknown column "department"`) || !strings.Contains(stderr, "HTTP 400") {
		t.Errorf("import unknown.csv = %d %q", code, stderr)
	}

	code, stdout, _ = runEnv(t, env, "import", "-json", "-tenant", "acme.example", good)
	var rep dialplan.ImportReport
	if err := json.Unmarshal([]byte(stdout), &rep); code != 0 || err != nil || rep.Updated != 2 {
		t.Errorf("import -json = %d %q (%v)", code, stdout, err)
	}

	// Flags instead of the environment; a wrong token is refused.
	srv := strings.TrimPrefix(env[0], "SWITCHBOARD_SERVER=")
	code, _, _ = runEnv(t, nil, "import", "-server", srv, "-token", cliToken, "-tenant", "acme.example", good)
	if code != 0 {
		t.Errorf("import with -server and -token = %d, want 0", code)
	}
	code, _, stderr = runEnv(t, nil, "import", "-server", srv, "-token", "wrong", "-tenant", "acme.example", good)
	if code != 1 || !strings.Contains(stderr, "HTTP 401") {
		t.Errorf("import with a wrong token = %d %q", code, stderr)
	}
}

func TestCLIUsage(t *testing.T) {
	tests := []struct {
		name     string
		environ  []string
		args     []string
		wantCode int
		want     string
	}{
		{"no verb", []string{"SWITCHBOARD_TOKEN=x"}, []string{"users"}, 2, "missing verb"},
		{"help", nil, []string{"users", "-h"}, 0, "switchboard users set -tenant DOMAIN [flags] ID"},
		{"unknown verb", []string{"SWITCHBOARD_TOKEN=x", "SWITCHBOARD_TENANT=a.example"}, []string{"users", "frob", "x"}, 2, `unknown verb "frob"`},
		{"no token", nil, []string{"users", "list", "-tenant", "acme.example"}, 2, "no admin token"},
		{"no tenant", []string{"SWITCHBOARD_TOKEN=x"}, []string{"users", "list"}, 2, "-tenant DOMAIN is required"},
		{"no key", []string{"SWITCHBOARD_TOKEN=x"}, []string{"users", "delete", "-tenant", "a.example"}, 2, "which user?"},
		{"bad server", []string{"SWITCHBOARD_TOKEN=x"}, []string{"tenants", "list", "-server", "localhost:8080"}, 2, "want a URL"},
		{"no-forward on add", []string{"SWITCHBOARD_TOKEN=x"}, []string{"users", "add", "-tenant", "a.example", "-no-forward", "x"}, 2, "only with set"},
		{"import no file", []string{"SWITCHBOARD_TOKEN=x"}, []string{"import", "-tenant", "a.example"}, 2, "Usage:"},
		{"server down", []string{"SWITCHBOARD_TOKEN=x", "SWITCHBOARD_SERVER=http://127.0.0.1:1"}, []string{"tenants", "list"}, 1, "connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runEnv(t, tt.environ, tt.args...)
			if code != tt.wantCode || !strings.Contains(stderr, tt.want) {
				t.Errorf("switchboard %s = %d, stderr:\n%s\nwant exit %d and %q", strings.Join(tt.args, " "), code, stderr, tt.wantCode, tt.want)
			}
		})
	}
}

// A file over progressRows lines is uploaded with the progress stream: the
// steps go to stderr and the report is the same as without it.
func TestCLIImportProgress(t *testing.T) {
	store, env := apiServer(t)
	var b strings.Builder
	b.WriteString("id,first_name,last_name,extension,password\n")
	const n = 3000
	for i := range n {
		fmt.Fprintf(&b, "p%04d,P,User%04d,%d,pw-%d-secret\n", i, i, 100000+i, i)
	}
	b.WriteString("bad id,,,,pw\n")
	file := filepath.Join(t.TempDir(), "big.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runEnv(t, env, "import", "-tenant", "acme.example", file)
	if code != 1 || !strings.Contains(stdout, fmt.Sprintf("%d created, 0 updated, 1 failed", n)) {
		t.Fatalf("import = %d\n%s\nstderr: %s", code, stdout, stderr)
	}
	// The stream sends the newest step and drops one the client has not
	// taken yet (admin/imports.go), so which steps show depends on the
	// scheduler (with one P the applied ones are often all replaced before
	// the writer runs): some step must show, and the report's last line.
	if !regexp.MustCompile(`(?m)^(read [1-9][0-9]* rows|applied [1-9][0-9]*/3001 rows \([0-9.]+ rows/s\)|saving 3001 rows)$`).MatchString(stderr) {
		t.Errorf("stderr shows no progress step:\n%s", stderr)
	}
	if !strings.Contains(stderr, "1 of 3001 rows failed") {
		t.Errorf("stderr lacks the failed-row summary:\n%s", stderr)
	}
	if _, ok := mustView(t, store).User("p2999"); !ok {
		t.Error("the last good row did not land")
	}
}
