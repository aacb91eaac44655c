package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// protosDir holds the PROTOS c07-sip test cases. They are GPL-2 test data
// and so not copied into this repository; the test reads them from the
// shared folder next to it when present, or from $SWITCHBOARD_PROTOS_DIR.
var protosDir = func() string {
	if d := os.Getenv("SWITCHBOARD_PROTOS_DIR"); d != "" {
		return d
	}
	return filepath.Join(repoRoot(), "..", "shared", "testdata", "protos-sip", "testcases")
}()

// protosCase reads one PROTOS case and returns its test PDU (the first of
// the two length-prefixed PDUs) and its teardown PDU, with the placeholders
// replaced for a sender on 127.0.0.1:port (see the suite's MANIFEST.md).
func protosCase(t *testing.T, index, port int) (pdu, teardown []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(protosDir, fmt.Sprintf("%07d", index)))
	if err != nil {
		t.Fatal(err)
	}
	var pdus [][]byte
	for len(raw) > 0 && len(pdus) < 2 {
		sp := bytes.IndexByte(raw, ' ')
		n, err := strconv.Atoi(string(raw[:max(sp, 0)]))
		if sp < 0 || err != nil || sp+1+n > len(raw) {
			t.Fatalf("case %d: malformed length prefix", index)
		}
		pdus = append(pdus, raw[sp+1:sp+1+n])
		raw = raw[sp+1+n:]
	}
	if len(pdus) != 2 {
		t.Fatalf("case %d: %d PDUs, want 2", index, len(pdus))
	}
	sub := func(p []byte, teardownMethod string) []byte {
		for _, kv := range [][2]string{
			{"<To>", "7001@127.0.0.1"}, {"<From>", "protos@127.0.0.1"},
			{"<From-Address>", "127.0.0.1"}, {"<From-IP>", "127.0.0.1"},
			{"<Local-Port>", strconv.Itoa(port)}, {"<Call-ID>", strconv.Itoa(index)},
			{"<CSeq>", "1"}, {"<Branch-ID>", fmt.Sprintf("%06d", index)},
			{"<Teardown-Method>", teardownMethod},
		} {
			p = bytes.ReplaceAll(p, []byte(kv[0]), []byte(kv[1]))
		}
		body := 0
		if i := bytes.Index(p, []byte("\r\n\r\n")); i >= 0 {
			body = len(p) - i - 4
		}
		p = bytes.ReplaceAll(p, []byte("<Content-Length>"), []byte(strconv.Itoa(body)))
		if len(p) > 65507 {
			p = p[:65507]
		}
		return p
	}
	return sub(pdus[0], ""), sub(pdus[1], "ACK")
}

// TestPROTOS sends all 4,527 PROTOS c07-sip cases and checks that the
// server keeps answering, does not restart and leaks no goroutines. There
// is no right answer per case (400 and silence are both fine).
func TestPROTOS(t *testing.T) {
	if _, err := os.Stat(protosDir); err != nil {
		t.Skipf("PROTOS c07-sip cases not found at %s (GPL test data kept outside the repository): %v", protosDir, err)
	}
	if testing.Short() {
		t.Skip("PROTOS suite skipped in -short mode")
	}
	t.Parallel()
	// The cases go out back to back from one address, far above the flood
	// budget (requests_per_second), which would ban 127.0.0.1 part way and
	// silence the liveness probe: this test is about the parser, not bans.
	srv := start(t, options{Security: "  requests_per_second: 0\n"})
	sender := newRaw(t, srv)
	probe := newRaw(t, srv)
	baseline := srv.metrics(t)["go_goroutines"]
	cases, err := filepath.Glob(filepath.Join(protosDir, "[0-9]*"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases in %s: %v", protosDir, err)
	}
	for i := range cases {
		pdu, teardown := protosCase(t, i, sender.port())
		sender.send(pdu)
		// The teardown ACK ends the INVITE transaction our answer started,
		// as the PROTOS tool's -teardown does.
		sender.send(teardown)
		if i%50 == 0 || i == len(cases)-1 {
			// The liveness probe: the valid case 0 as a fresh call, on
			// another socket.
			valid, _ := protosCase(t, 0, probe.port())
			valid = bytes.Replace(valid, []byte("Call-ID: 0@"), []byte("Call-ID: probe-"+strconv.Itoa(i)+"@"), 1)
			valid = bytes.Replace(valid, []byte("z9hG4bK00000000000"), []byte("z9hG4bK-probe-"+strconv.Itoa(i)), 1)
			if res := probe.do(valid); res == nil {
				t.Fatalf("no answer to the valid INVITE after case %d", i)
			}
			if !srv.alive() {
				t.Fatalf("switchboard exited after case %d", i)
			}
		}
	}
	wantAlive(t, srv, probe)
	if n := srv.metrics(t)["switchboard_sip_handler_panics_total"]; n != 0 {
		t.Errorf("handler panics = %v, want 0", n)
	}
	waitGoroutines(t, srv, baseline)
}
