package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// requirePeers makes missing peer programs (SIPp) a failure instead of a
// skip; .ci/run sets it.
func requirePeers() bool { return os.Getenv("SWITCHBOARD_REQUIRE_PEERS") == "1" }

func TestSIPpRegister(t *testing.T) {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		if requirePeers() {
			t.Fatal("sipp not installed and SWITCHBOARD_REQUIRE_PEERS=1 (install the sip-tester package)")
		}
		t.Skip("sipp not installed (install sip-tester, or set SWITCHBOARD_REQUIRE_PEERS=1 to fail instead)")
	}
	t.Parallel()
	for _, transport := range []string{"u1", "t1"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			srv := start(t, options{})
			dir := t.TempDir()
			var csv strings.Builder
			csv.WriteString("SEQUENTIAL\n")
			for _, u := range []user{alice, bob, carol} {
				// SIPp cannot put a field inside [authentication]: the
				// whole keyword is field 1.
				csv.WriteString(u.ext + ";[authentication username=" + u.ext + " password=" + u.password + "];" + domain + "\n")
			}
			users := filepath.Join(dir, "users.csv")
			writeFile(t, users, csv.String())
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, sipp,
				"-sf", filepath.Join(repoRoot(), "testdata", "sipp", "register.xml"),
				"-inf", users,
				"-t", transport,
				"-i", "127.0.0.1",
				"-p", strconv.Itoa(freePort(t)),
				// SIPp hashes the digest uri as sip:ip:port otherwise, which
				// does not match the Request-URI sip:acme.example.
				"-auth_uri", domain,
				"-m", "3", "-r", "10",
				"-timeout", "30s", "-timeout_error",
				"-nostdin", "-trace_err",
				srv.Addr)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				errLog, _ := filepath.Glob(filepath.Join(dir, "*_errors.log"))
				for _, f := range errLog {
					b, _ := os.ReadFile(f)
					t.Logf("%s:\n%s", filepath.Base(f), b)
				}
				t.Fatalf("sipp: %v\n%s", err, tail(out, 3000))
			}
			srv.waitMetric(t, activeSample, 3, 2*time.Second)
			srv.waitMetric(t, `switchboard_sip_responses_total{code="200",method="REGISTER"}`, 3, time.Second)
		})
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
