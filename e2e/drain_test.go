package e2e

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Graceful shutdown with calls up: on SIGTERM the instance turns not-ready,
// refuses new calls with 503 + Retry-After, keeps relaying the in-dialog
// requests of the calls it carries — proxied or anchored by the B2BUA — and
// exits 0 once they have ended (or shutdown_timeout has passed).

// drainTimeout is the shutdown_timeout of the drain tests: far longer than
// the calls they keep up, so an exit before the BYE is the bug, not the
// timeout.
const drainTimeout = "30s"

// term sends SIGTERM without waiting for the exit.
func (s *server) term(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("SIGTERM: %v", err)
	}
}

// exitCode waits for the process to exit and returns its code; the test
// fails (and the process is killed) after within.
func (s *server) exitCode(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-s.done:
		return s.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		s.kill()
		t.Fatalf("switchboard still running %v after SIGTERM", within)
		return -1
	}
}

// wantDraining waits for /readyz to answer 503 and checks the process is
// still up.
func (s *server) wantDraining(t *testing.T) {
	t.Helper()
	waitUntil(t, 5*time.Second, "/readyz 503 after SIGTERM", func() bool {
		code, _ := s.readyz(t)
		return code == 503
	})
	if !s.alive() {
		t.Fatalf("switchboard exited at SIGTERM with a call up:\n%s", s.stderr.String())
	}
}

// wantRefused checks that a new INVITE is answered 503 with a Retry-After.
func wantRefused(t *testing.T, c *outCall) {
	t.Helper()
	res := c.waitStatus(503, 5*time.Second)
	if ra := header(res, "Retry-After"); ra == "" {
		t.Errorf("503 to a new INVITE while draining has no Retry-After:\n%s", res)
	}
}

// TestDrainProxiedCall is the report in issue 17: SIGTERM 1.5 s into a
// proxied phone-to-phone call, then a re-INVITE and, 2.5 s later, the BYE —
// both must reach the other phone, and the process must exit 0 after it.
func TestDrainProxiedCall(t *testing.T) {
	t.Parallel()
	carrier := newPeer(t, nil, "carrier", "127.0.0.2", "UDP")
	srv := start(t, options{Directory: callDirectory, Trunk: carrier.addr, Shutdown: drainTimeout})
	carrier.srv = srv
	a := newPeer(t, srv, "7001", "127.0.0.1", "UDP")
	a.register("7001", alice)
	b := newPeer(t, srv, "7002", "127.0.0.1", "UDP")
	b.register("7002", bob)
	late := newPeer(t, srv, "7003", "127.0.0.1", "UDP")
	late.register("7003", carol)

	c := connect(t, a, alice, "7002", b)
	srv.waitMetric(t, callsActive, 1, 2*time.Second)
	time.Sleep(1500 * time.Millisecond)
	srv.term(t)
	srv.wantDraining(t)

	// Nothing new starts: a new call and a registration are refused.
	wantRefused(t, late.call("7001", callOpts{As: &carol}))
	if code, err := registerCode(late, "7003", carol); err != nil || code != 503 {
		t.Errorf("REGISTER while draining = %d %v, want 503", code, err)
	}

	// The live call goes on: a re-INVITE (hold) is relayed and answered.
	reinv := c.inDialogRequest(sip.INVITE, c.invite.CSeq().SeqNo+1)
	reinv.AppendHeader(sip.NewHeader("Contact", "<"+a.contactURI("7001")+">"))
	reinv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	reinv.SetBody([]byte(sdpOffer + "a=sendonly\r\n"))
	if res := a.do(reinv); res.StatusCode != 200 {
		t.Fatalf("re-INVITE while draining: %d %s, want 200", res.StatusCode, res.Reason)
	}
	if err := a.client.WriteRequest(c.inDialogRequest(sip.ACK, reinv.CSeq().SeqNo)); err != nil {
		t.Fatalf("ACK re-INVITE: %v", err)
	}
	b.waitRequest(sip.INVITE, 2, 3*time.Second)
	b.waitRequest(sip.ACK, 2, 3*time.Second)

	time.Sleep(2500 * time.Millisecond)
	if !srv.alive() {
		t.Fatalf("switchboard exited before the call ended:\n%s", srv.stderr.String())
	}
	if res := c.bye(); res.StatusCode != 200 {
		t.Fatalf("BYE while draining: %d %s, want 200", res.StatusCode, res.Reason)
	}
	b.waitRequest(sip.BYE, 1, 3*time.Second)
	if code := srv.exitCode(t, 20*time.Second); code != 0 {
		t.Errorf("exit code %d after the drain, want 0", code)
	}
	if cdr := cdrOf(srv, c.callID()); cdr == nil || cdr["ended_by"] != "bye" {
		t.Errorf("CDR of the drained call = %v, want ended_by=bye", cdr)
	}
}

// cdrOf returns the CDR line of a call, nil when there is none.
func cdrOf(s *server, callID string) map[string]any {
	for _, c := range s.cdrs() {
		if c["call_id"] == callID {
			return c
		}
	}
	return nil
}

// TestDrainAnchoredCall does the same with a call the B2BUA anchors: a
// carrier call to the attendant transferred to alice. During the drain the
// caller's re-INVITE is answered by the engine and its BYE reaches alice.
func TestDrainAnchoredCall(t *testing.T) {
	t.Parallel()
	pstn := newMediaPhone(t, nil, "pstn", "127.0.0.2", fillPSTN)
	carrier := newMediaPhone(t, nil, "carrier", "127.0.0.2", fillCarrier)
	lo := 21000 + 100*int(b2bPortBase.Add(1))
	srv := start(t, options{Directory: b2bDirectory, Trunk: carrier.addr, TrunkFrom: "127.0.0.2/32", Shutdown: drainTimeout,
		Media: fmt.Sprintf("  address: 127.0.0.1\n  ports: \"%d-%d\"\n  inactivity: 10s\n", lo, lo+2*b2bPorts-1)})
	pstn.srv, carrier.srv = srv, srv
	e := &b2bEnv{srv: srv, pstn: pstn, carrier: carrier}
	al := e.phone(t, alice, fillAlice, answer{Ring: true, Code: 200})
	answerAndHearGreeting(t, e, mainNumber)
	e.pstn.pressRTPKeys("7001")
	al.waitRequest(sip.INVITE, 5*time.Second)
	wantBridged(t, e.pstn, al)

	time.Sleep(1500 * time.Millisecond)
	srv.term(t)
	srv.wantDraining(t)

	// A new call to the attendant is refused.
	other := newMediaPhone(t, srv, "pstn2", "127.0.0.2", fillCarrier)
	other.call(mainNumber, pstnCaller, nil)
	if res := other.waitFinal(503, 5*time.Second); header(res, "Retry-After") == "" {
		t.Errorf("503 while draining has no Retry-After:\n%s", res)
	}

	// The bridged call goes on: hold by re-INVITE, audio keeps flowing.
	req := e.pstn.inDialog(sip.INVITE)
	req.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<sip:%s@%s>", e.pstn.name, e.pstn.addr)))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(e.pstn.sdp())
	if res := e.pstn.do(req); res.StatusCode != 200 {
		t.Fatalf("re-INVITE while draining: %d %s, want 200", res.StatusCode, res.Reason)
	}
	ack := e.pstn.inDialog(sip.ACK)
	ack.CSeq().SeqNo = req.CSeq().SeqNo
	if err := e.pstn.client.WriteRequest(ack); err != nil {
		t.Fatalf("ACK re-INVITE: %v", err)
	}
	before := al.receivedFill(fillPSTN)
	waitUntil(t, 5*time.Second, "audio to alice while draining", func() bool { return al.receivedFill(fillPSTN) >= before+25 })

	time.Sleep(2500 * time.Millisecond)
	if !srv.alive() {
		t.Fatalf("switchboard exited before the call ended:\n%s", srv.stderr.String())
	}
	e.pstn.bye()
	al.waitRequest(sip.BYE, 5*time.Second)
	if code := srv.exitCode(t, 20*time.Second); code != 0 {
		t.Errorf("exit code %d after the drain, want 0", code)
	}
}

// TestDrainTimeoutEndsCalls: a call still up when shutdown_timeout passes
// is hung up (anchored: both legs get a BYE) and the process exits 0.
func TestDrainTimeoutEndsCalls(t *testing.T) {
	t.Parallel()
	pstn := newMediaPhone(t, nil, "pstn", "127.0.0.2", fillPSTN)
	carrier := newMediaPhone(t, nil, "carrier", "127.0.0.2", fillCarrier)
	lo := 21000 + 100*int(b2bPortBase.Add(1))
	srv := start(t, options{Directory: b2bDirectory, Trunk: carrier.addr, TrunkFrom: "127.0.0.2/32", Shutdown: "2s",
		Media: fmt.Sprintf("  address: 127.0.0.1\n  ports: \"%d-%d\"\n  inactivity: 30s\n", lo, lo+2*b2bPorts-1)})
	pstn.srv, carrier.srv = srv, srv
	e := &b2bEnv{srv: srv, pstn: pstn, carrier: carrier}
	al := e.phone(t, alice, fillAlice, answer{Ring: true, Code: 200})
	answerAndHearGreeting(t, e, mainNumber)
	e.pstn.pressRTPKeys("7001")
	al.waitRequest(sip.INVITE, 5*time.Second)
	wantBridged(t, e.pstn, al)

	srv.term(t)
	if code := srv.exitCode(t, 20*time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if !e.pstn.gotBye() {
		t.Error("caller got no BYE when shutdown_timeout passed")
	}
	if !al.gotBye() {
		t.Error("alice got no BYE when shutdown_timeout passed")
	}
	if !strings.Contains(srv.stderr.String(), "calls still up after shutdown_timeout") {
		t.Error("no log line says calls were ended by the shutdown timeout")
	}
}
