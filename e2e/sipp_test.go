package e2e

import (
	"context"
	"net"
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

// sippPath returns the sipp binary, skipping (or failing, with
// SWITCHBOARD_REQUIRE_PEERS=1) when it is missing.
func sippPath(t *testing.T) string {
	t.Helper()
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		if requirePeers() {
			t.Fatal("sipp not installed and SWITCHBOARD_REQUIRE_PEERS=1 (install the sip-tester package)")
		}
		t.Skip("sipp not installed (install sip-tester, or set SWITCHBOARD_REQUIRE_PEERS=1 to fail instead)")
	}
	return sipp
}

// TestSIPpCall runs SIPp on both ends: a UAS registered as 7002 with
// register.xml from its own port, then sipp -sn uas on that port, called 5
// times by uac_auth.xml as 7001 (407 digest, ACK and BYE along the
// Record-Route set).
func TestSIPpCall(t *testing.T) {
	sipp := sippPath(t)
	t.Parallel()
	const calls = 5
	srv := start(t, options{})
	dir := t.TempDir()
	uasPort := strconv.Itoa(freePort(t))
	run := func(ctx context.Context, name string, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, sipp, append(args, "-i", "127.0.0.1", "-t", "u1",
			"-timeout", "30s", "-timeout_error", "-nostdin", "-trace_err", "-error_file", filepath.Join(dir, name+"_errors.log"), srv.Addr)...)
		cmd.Dir = dir
		return cmd
	}
	report := func(name string, out []byte, err error) {
		t.Helper()
		b, _ := os.ReadFile(filepath.Join(dir, name+"_errors.log"))
		t.Errorf("sipp %s: %v\n%s\n%s", name, err, tail(out, 3000), tail(b, 3000))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	users := filepath.Join(dir, "uas.csv")
	writeFile(t, users, "SEQUENTIAL\n"+bob.ext+";[authentication username="+bob.ext+" password="+bob.password+"];"+domain+"\n")
	if out, err := run(ctx, "register", "-sf", filepath.Join(repoRoot(), "testdata", "sipp", "register.xml"),
		"-inf", users, "-p", uasPort, "-auth_uri", domain, "-m", "1").CombinedOutput(); err != nil {
		report("register", out, err)
		t.FailNow()
	}
	srv.waitMetric(t, activeSample, 1, 2*time.Second)

	uas := run(ctx, "uas", "-sn", "uas", "-p", uasPort, "-m", strconv.Itoa(calls))
	var uasOut syncBuffer
	uas.Stdout, uas.Stderr = &uasOut, &uasOut
	if err := uas.Start(); err != nil {
		t.Fatal(err)
	}
	uasDone := make(chan error, 1)
	go func() { uasDone <- uas.Wait() }()
	// The UAS is up once its port is taken.
	waitUntil(t, 5*time.Second, "sipp uas listening", func() bool {
		pc, err := net.ListenPacket("udp", "127.0.0.1:"+uasPort)
		if err == nil {
			pc.Close()
		}
		return err != nil
	})

	callers := filepath.Join(dir, "uac.csv")
	writeFile(t, callers, "SEQUENTIAL\n"+alice.ext+";[authentication username="+alice.ext+" password="+alice.password+"];"+domain+";"+bob.ext+"\n")
	out, err := run(ctx, "uac", "-sf", filepath.Join(repoRoot(), "testdata", "sipp", "uac_auth.xml"),
		"-inf", callers, "-p", strconv.Itoa(freePort(t)),
		// The digest uri is the Request-URI, not sip:ip:port.
		"-auth_uri", bob.ext+"@"+domain,
		"-m", strconv.Itoa(calls), "-r", "10", "-l", "2").CombinedOutput()
	if err != nil {
		report("uac", out, err)
	}
	select {
	case err := <-uasDone:
		if err != nil {
			report("uas", []byte(uasOut.String()), err)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("sipp uas did not exit after %d calls", calls)
	}
	srv.wantMetrics(t, map[string]float64{
		"switchboard_calls_active":                               0,
		`switchboard_calls_total{kind="user",result="answered"}`: calls,
	}, 3*time.Second)
}
