package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

const (
	mainNumber  = "+14155550100" // attendant:main
	quickNumber = "+14155550199" // attendant:quick
	pstnCaller  = "+14085559999"
)

// Fill bytes of the phones' audio: who is heard where.
const (
	fillPSTN    = 0x11
	fillCarrier = 0x22
	fillAlice   = 0xA1
	fillBob     = 0xB0
	fillCarol   = 0xC0
)

// wantBridged waits until each of a and b hears the other's audio.
func wantBridged(t *testing.T, a, b *mediaPhone) {
	t.Helper()
	waitUntil(t, 5*time.Second, a.name+" hears "+b.name, func() bool { return a.receivedFill(b.fill) >= 25 })
	waitUntil(t, 5*time.Second, b.name+" hears "+a.name, func() bool { return b.receivedFill(a.fill) >= 25 })
}

// answerAndHearGreeting calls an attendant number and waits for 0.5 s of
// greeting RTP (PCMU) while the call streams its own audio.
func answerAndHearGreeting(t *testing.T, e *b2bEnv, number string) {
	t.Helper()
	e.pstn.call(number, pstnCaller, nil)
	e.pstn.waitFinal(200, 5*time.Second)
	waitUntil(t, 5*time.Second, "greeting RTP", func() bool { return e.pstn.received(0) >= 25 })
}

func TestAttendantPress1RingsSales(t *testing.T) {
	t.Parallel()
	e := newB2BEnv(t)
	alice := e.phone(t, alice, fillAlice, answer{Ring: true, Code: 200, After: 300 * time.Millisecond})
	bob := e.phone(t, bob, fillBob, answer{Ring: true}) // rings until cancelled
	answerAndHearGreeting(t, e, mainNumber)
	if n := e.pstn.received(101); n != 0 {
		t.Errorf("caller received %d telephone-event packets, want none", n)
	}
	e.pstn.pressRTP('1') // barge-in: the greeting (6 s) is still playing
	alice.waitRequest(sip.INVITE, 5*time.Second)
	bob.waitRequest(sip.INVITE, 5*time.Second)
	bob.waitRequest(sip.CANCEL, 5*time.Second)
	wantBridged(t, e.pstn, alice)
	e.pstn.bye()
	alice.waitRequest(sip.BYE, 5*time.Second)
	e.wantIdle(t, map[string]float64{
		selections("1"):                     1,
		decisions("attendant"):              1,
		decisions("group"):                  1,
		callsTotal("attendant", "answered"): 1,
	})
}

func TestAttendantDialByExtension(t *testing.T) {
	t.Parallel()
	e := newB2BEnv(t)
	alice := e.phone(t, alice, fillAlice, answer{Ring: true, Code: 200})
	bob := e.phone(t, bob, fillBob, answer{Ring: true, Code: 200})
	answerAndHearGreeting(t, e, mainNumber)
	e.pstn.pressRTPKeys("7001")
	alice.waitRequest(sip.INVITE, 5*time.Second)
	wantBridged(t, e.pstn, alice)
	if n := len(bob.requests(sip.INVITE)); n != 0 {
		t.Errorf("bob rang %d times for 7001, want 0", n)
	}
	// The callee hangs up: the caller gets our BYE.
	alice.bye()
	waitUntil(t, 5*time.Second, "caller gets BYE", e.pstn.gotBye)
	e.wantIdle(t, map[string]float64{selections("extension"): 1})
}

// TestAttendantHoldAndResume puts the bridged caller on hold and back with
// re-INVITEs: the engine answers sendonly with recvonly, sendrecv with
// sendrecv, and audio flows again after the resume.
func TestAttendantHoldAndResume(t *testing.T) {
	t.Parallel()
	e := newB2BEnv(t)
	alice := e.phone(t, alice, fillAlice, answer{Ring: true, Code: 200})
	answerAndHearGreeting(t, e, mainNumber)
	e.pstn.pressRTPKeys("7001")
	alice.waitRequest(sip.INVITE, 5*time.Second)
	wantBridged(t, e.pstn, alice)

	reinvite := func(direction string) string {
		t.Helper()
		req := e.pstn.inDialog(sip.INVITE)
		req.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<sip:%s@%s>", e.pstn.name, e.pstn.addr)))
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody([]byte(strings.Replace(string(e.pstn.sdp()), "a=sendrecv", "a="+direction, 1)))
		res := e.pstn.do(req)
		if res.StatusCode != 200 {
			t.Fatalf("re-INVITE %s answered %d %s", direction, res.StatusCode, res.Reason)
		}
		ack := e.pstn.inDialog(sip.ACK)
		ack.CSeq().SeqNo = req.CSeq().SeqNo
		if err := e.pstn.client.WriteRequest(ack); err != nil {
			t.Fatalf("ACK re-INVITE: %v", err)
		}
		return string(res.Body())
	}
	if answer := reinvite("sendonly"); !strings.Contains(answer, "a=recvonly") {
		t.Errorf("answer to a sendonly (hold) offer:\n%s\nwant a=recvonly", answer)
	}
	if answer := reinvite("sendrecv"); !strings.Contains(answer, "a=sendrecv") {
		t.Errorf("answer to a sendrecv (resume) offer:\n%s\nwant a=sendrecv", answer)
	}
	before := alice.receivedFill(fillPSTN)
	waitUntil(t, 5*time.Second, "audio to the callee after resume", func() bool { return alice.receivedFill(fillPSTN) >= before+25 })
	e.pstn.bye()
	alice.waitRequest(sip.BYE, 5*time.Second)
	e.wantIdle(t, nil)
}

func TestAttendantTimeoutFallback(t *testing.T) {
	t.Parallel()
	e := newB2BEnv(t)
	carol := e.phone(t, carol, fillCarol, answer{Ring: true, Code: 200})
	e.pstn.call(quickNumber, pstnCaller, nil)
	e.pstn.waitFinal(200, 5*time.Second)
	// Silence: the 0.4 s custom greeting plays, 1 s timeout, once more
	// (retries: 1), 1 s timeout, then the fallback rings.
	carol.waitRequest(sip.INVITE, 10*time.Second)
	if got := e.pstn.received(0); got < 36 || got > 50 {
		t.Errorf("greeting packets before the fallback rang = %d, want about 40 (two 0.4 s plays)", got)
	}
	wantBridged(t, e.pstn, carol)
	e.pstn.bye()
	carol.waitRequest(sip.BYE, 5*time.Second)
	e.wantIdle(t, map[string]float64{selections("timeout"): 1})
}

func TestAttendantInvalidThenValid(t *testing.T) {
	t.Parallel()
	e := newB2BEnv(t)
	alice := e.phone(t, alice, fillAlice, answer{Ring: true, Code: 200})
	e.phone(t, bob, fillBob, answer{Ring: true})
	answerAndHearGreeting(t, e, mainNumber)
	e.pstn.pressRTP('9') // no option, no extension starts with 9
	e.srv.waitMetric(t, selections("invalid"), 1, 5*time.Second)
	// The "invalid" prompt (2 s) plays to its end, then the greeting again.
	n := e.pstn.received(0)
	waitUntil(t, 10*time.Second, "invalid prompt and greeting", func() bool { return e.pstn.received(0) >= n+125 })
	e.pstn.pressRTP('1')
	alice.waitRequest(sip.INVITE, 5*time.Second)
	wantBridged(t, e.pstn, alice)
	e.pstn.bye()
	e.wantIdle(t, map[string]float64{selections("invalid"): 1, selections("1"): 1})
}

func TestAttendantCallerHangsUp(t *testing.T) {
	t.Run("during greeting", func(t *testing.T) {
		t.Parallel()
		e := newB2BEnv(t)
		alice := e.phone(t, alice, fillAlice, answer{Ring: true, Code: 200})
		answerAndHearGreeting(t, e, mainNumber)
		e.pstn.bye()
		e.wantIdle(t, map[string]float64{callsTotal("attendant", "answered"): 1})
		if n := len(alice.requests(sip.INVITE)); n != 0 {
			t.Errorf("alice rang %d times, want 0", n)
		}
	})
	t.Run("during ringing", func(t *testing.T) {
		t.Parallel()
		e := newB2BEnv(t)
		alice := e.phone(t, alice, fillAlice, answer{Ring: true})
		bob := e.phone(t, bob, fillBob, answer{Ring: true})
		answerAndHearGreeting(t, e, mainNumber)
		e.pstn.pressRTP('1')
		alice.waitRequest(sip.INVITE, 5*time.Second)
		bob.waitRequest(sip.INVITE, 5*time.Second)
		e.pstn.bye()
		alice.waitRequest(sip.CANCEL, 5*time.Second)
		bob.waitRequest(sip.CANCEL, 5*time.Second)
		e.wantIdle(t, map[string]float64{selections("1"): 1})
	})
}

func TestAttendantNoRTPEndsCall(t *testing.T) {
	t.Parallel()
	e := newB2BEnv(t)
	e.pstn.mute.Store(true)
	e.pstn.call(mainNumber, pstnCaller, nil)
	e.pstn.waitFinal(200, 5*time.Second)
	// media.inactivity is 3 s in the test config.
	waitUntil(t, 8*time.Second, "BYE after RTP inactivity", e.pstn.gotBye)
	e.wantIdle(t, nil)
}

// TestAttendantLateOffer calls the attendant with an SDP-less INVITE: the
// 200 carries switchboard's offer, the ACK the caller's answer, and the
// greeting then flows to the caller.
func TestAttendantLateOffer(t *testing.T) {
	t.Parallel()
	e := newB2BEnv(t)
	e.pstn.lateOffer.Store(true)
	e.pstn.call(mainNumber, pstnCaller, nil)
	ok := e.pstn.waitFinal(200, 5*time.Second)
	if !strings.Contains(string(ok.Body()), "m=audio") {
		t.Fatalf("200 to a late-offer INVITE carries no SDP offer: %q", ok.Body())
	}
	waitUntil(t, 5*time.Second, "greeting RTP after a late offer", func() bool { return e.pstn.received(0) >= 25 })
	e.pstn.bye()
	e.wantIdle(t, nil)
}

func TestAttendantBadSDP(t *testing.T) {
	t.Parallel()
	e := newB2BEnv(t)
	for _, c := range []struct {
		name string
		sdp  string
		code int
	}{
		{"only unsupported codecs", "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18 9\r\na=rtpmap:18 G729/8000\r\na=rtpmap:9 G722/8000\r\n", 488},
		{"malformed", "v=0\r\nthis is not SDP\r\n", 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.pstn.call(mainNumber, pstnCaller, []byte(c.sdp))
			e.pstn.waitFinal(c.code, 5*time.Second)
		})
	}
	e.wantIdle(t, nil)
}

// TestAttendantSIPpDTMF has SIPp call the attendant and press 1 by replaying
// the RFC 4733 capture SIPp ships (testdata/sipp/attendant_dtmf.xml).
// Nobody is registered in sales, so the attendant says goodbye and hangs up.
func TestAttendantSIPpDTMF(t *testing.T) {
	sipp := sippPath(t)
	const pcap = "/usr/share/sip-tester/dtmf_2833_1.pcap"
	if _, err := os.Stat(pcap); err != nil {
		t.Skipf("SIPp's DTMF capture %s is missing (it ships in Debian's sip-tester package): %v", pcap, err)
	}
	t.Parallel()
	e := newB2BEnv(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sipp, "-sf", filepath.Join(repoRoot(), "testdata", "sipp", "attendant_dtmf.xml"),
		"-s", mainNumber, "-i", "127.0.0.2", "-mi", "127.0.0.2", "-p", strconv.Itoa(freePort(t)),
		"-mp", strconv.Itoa(freeEvenUDPPort(t)), "-m", "1", "-t", "u1",
		"-timeout", "30s", "-timeout_error", "-nostdin", "-trace_err", e.srv.Addr)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		logs, _ := filepath.Glob(filepath.Join(dir, "*_errors.log"))
		for _, f := range logs {
			b, _ := os.ReadFile(f)
			t.Logf("%s:\n%s", filepath.Base(f), b)
		}
		t.Fatalf("sipp: %v\n%s", err, tail(out, 3000))
	}
	e.wantIdle(t, map[string]float64{
		selections("1"): 1,
		`switchboard_dtmf_events_total{source="rfc4733"}`: 1,
	})
}

// freeEvenUDPPort finds a port on 127.0.0.2, a multiple of 4, whose three
// neighbours are free too: SIPp binds audio RTP and RTCP there and video RTP
// and RTCP on the next two, even for an audio-only scenario. It searches
// below the kernel's ephemeral range, where no other test's ":0" socket can
// take a port between this check and SIPp's bind (an earlier version picked
// ephemeral ports and lost that race in CI).
func freeEvenUDPPort(t *testing.T) int {
	t.Helper()
	low := ephemeralLow()
	const base = 10000
	if low <= base+4 {
		t.Fatalf("ephemeral port range starts at %d: no room below it for SIPp's media ports", low)
	}
	for range 200 {
		port := (base + rand.IntN(low-base-4)) &^ 3
		free := true
		for i := range 4 {
			pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.2", strconv.Itoa(port+i)))
			if err != nil {
				free = false
				break
			}
			pc.Close()
		}
		if free {
			return port
		}
	}
	t.Fatal("no four free UDP ports on 127.0.0.2")
	return 0
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				return n
			}
		}
	}
	return 32768
}
