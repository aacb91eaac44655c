package e2e

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/switchboard/switchboard/media"
)

// mohNumber rings the "music" menu: option 1 is the sales group, and the
// caller waits for it with music instead of ringback.
const mohNumber = "+14155550198"

// mohDirectory is the B2BUA directory with the built-in music on hold set
// explicitly (which also gives screened callers early music) and the
// "music" menu.
var mohDirectory = strings.Replace(strings.Replace(b2bDirectory, "    name: Acme Inc\n", "    name: Acme Inc\n    moh: {prompt: \"\"}\n", 1), "    numbers:\n", `      - id: music
        greeting: welcome
        options: {"1": "user:alice"}
        timeout: 2s
        wait: music
    numbers:
      "+14155550198": "attendant:music"
`, 1)

// newMOHEnv is newB2BEnv with mohDirectory (or the directory given) and a
// "hold" prompt: 1 s of 440 Hz.
func newMOHEnv(t *testing.T, directory ...string) *b2bEnv {
	t.Helper()
	dir := mohDirectory
	if len(directory) > 0 {
		dir = directory[0]
	}
	pstn := newMediaPhone(t, nil, "pstn", "127.0.0.2", fillPSTN)
	carrier := newMediaPhone(t, nil, "carrier", "127.0.0.2", fillCarrier)
	prompts := t.TempDir()
	writeTone(t, filepath.Join(prompts, "short.wav"), 400*time.Millisecond)
	writeTone(t, filepath.Join(prompts, "hold.wav"), time.Second)
	lo := 21000 + 100*int(b2bPortBase.Add(1))
	srv := start(t, options{Directory: dir, Trunk: carrier.addr, TrunkFrom: "127.0.0.2/32",
		Media: fmt.Sprintf("  address: 127.0.0.1\n  ports: \"%d-%d\"\n  prompts: %q\n  inactivity: 3s\n",
			lo, lo+2*b2bPorts-1, prompts)})
	pstn.srv, carrier.srv = srv, srv
	return &b2bEnv{srv: srv, pstn: pstn, carrier: carrier, prompts: prompts}
}

// listener decodes the PCMU a media phone receives, so a test can tell
// what it hears (the loop's pedal note, or a phone's fill byte).
type listener struct {
	mu    sync.Mutex
	pcm   []int16
	fills map[byte]int
}

func listen(p *mediaPhone) *listener {
	l := &listener{fills: map[byte]int{}}
	f := func(pkt *rtp.Packet) {
		if pkt.PayloadType != 0 || len(pkt.Payload) == 0 {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		l.pcm = media.PCMU.Decode(l.pcm, pkt.Payload)
		if strings.Count(string(pkt.Payload), string(pkt.Payload[:1])) == len(pkt.Payload) {
			l.fills[pkt.Payload[0]]++
		}
	}
	p.tap.Store(&f)
	return l
}

// reset forgets what was heard so far.
func (l *listener) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pcm, l.fills = nil, map[byte]int{}
}

// heard returns the audio heard since reset once there is at least d of
// it, and how many frames of it were filled with fill.
func (l *listener) heard(t *testing.T, d time.Duration, fill byte) ([]int16, int) {
	t.Helper()
	samples := int(d.Seconds() * 8000)
	var pcm []int16
	var fills int
	waitUntil(t, d+5*time.Second, fmt.Sprintf("%v of audio", d), func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		pcm, fills = append([]int16(nil), l.pcm...), l.fills[fill]
		return len(pcm) >= samples
	})
	return pcm, fills
}

// wantLoop checks that pcm is the built-in hold loop — its pedal note
// sounds in every 200 ms, far above a frequency it does not contain — and
// not a phone's audio (fill frames, which hold no tone).
func wantLoop(t *testing.T, who string, pcm []int16, otherFills int) {
	t.Helper()
	for at := 0; at+1600 <= len(pcm); at += 1600 {
		win := pcm[at : at+1600]
		pedal, off := goertzel(win, media.HoldPedal), goertzel(win, 1000)
		if pedal < 1e4 || pedal < 50*off {
			t.Fatalf("%s at %d ms: pedal power %.0f, 1 kHz %.0f: not the hold loop", who, at/8, pedal, off)
		}
	}
	if otherFills > 5 {
		t.Errorf("%s heard %d frames of the holding phone during the hold, want the loop alone", who, otherFills)
	}
}

// reinviteSDP sends a re-INVITE in p's call with p's SDP changed by edit,
// and ACKs the 200.
func reinviteSDP(t *testing.T, p *mediaPhone, edit func(string) string) {
	t.Helper()
	req := p.inDialog(sip.INVITE)
	req.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<sip:%s@%s>", p.name, p.addr)))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody([]byte(edit(string(p.sdp()))))
	res := p.do(req)
	if res.StatusCode != 200 {
		t.Fatalf("%s: re-INVITE answered %d %s", p.name, res.StatusCode, res.Reason)
	}
	ack := p.inDialog(sip.ACK)
	ack.CSeq().SeqNo = req.CSeq().SeqNo
	if err := p.client.WriteRequest(ack); err != nil {
		t.Fatalf("%s: ACK re-INVITE: %v", p.name, err)
	}
}

func direction(d string) func(string) string {
	return func(s string) string { return strings.Replace(s, "a=sendrecv", "a="+d, 1) }
}

// zeroAddress holds the RFC 2543 way: c=0.0.0.0.
func zeroAddress(p *mediaPhone) func(string) string {
	ip := p.rtp.LocalAddr().(*net.UDPAddr).IP.String()
	return func(s string) string { return strings.Replace(s, "c=IN IP4 "+ip, "c=IN IP4 0.0.0.0", 1) }
}

// TestMOHBridgedCallHeld bridges a carrier caller to alice through the
// attendant. Alice holds (sendonly): the caller hears the loop, not alice;
// she resumes: her audio arrives again. Then the caller holds the RFC 2543
// way (c=0.0.0.0): alice hears the loop; it resumes with inactive→sendrecv
// in between. Ports, calls and goroutines end where they started.
func TestMOHBridgedCallHeld(t *testing.T) {
	t.Parallel()
	e := newMOHEnv(t)
	alice := e.phone(t, alice, fillAlice, answer{Ring: true, Code: 200})
	goroutines := e.srv.metrics(t)["go_goroutines"]
	caller, callee := listen(e.pstn), listen(alice)

	answerAndHearGreeting(t, e, mainNumber)
	e.pstn.pressRTPKeys("7001")
	alice.waitRequest(sip.INVITE, 5*time.Second)
	wantBridged(t, e.pstn, alice)

	reinviteSDP(t, alice, direction("sendonly"))
	time.Sleep(200 * time.Millisecond) // what was in flight before the hold
	caller.reset()
	pcm, fills := caller.heard(t, 2*time.Second, fillAlice)
	wantLoop(t, "the held caller", pcm, fills)

	reinviteSDP(t, alice, direction("sendrecv"))
	before := e.pstn.receivedFill(fillAlice)
	waitUntil(t, 5*time.Second, "alice heard again after resume", func() bool { return e.pstn.receivedFill(fillAlice) >= before+25 })

	reinviteSDP(t, e.pstn, zeroAddress(e.pstn))
	time.Sleep(200 * time.Millisecond)
	callee.reset()
	pcm, fills = callee.heard(t, 2*time.Second, fillPSTN)
	wantLoop(t, "alice, held by the caller", pcm, fills)
	reinviteSDP(t, e.pstn, direction("inactive"))
	reinviteSDP(t, e.pstn, direction("sendrecv"))
	before = alice.receivedFill(fillPSTN)
	waitUntil(t, 5*time.Second, "caller heard again after resume", func() bool { return alice.receivedFill(fillPSTN) >= before+25 })

	e.pstn.bye()
	alice.waitRequest(sip.BYE, 5*time.Second)
	e.wantIdle(t, nil)
	waitUntil(t, 10*time.Second, "goroutines back to baseline", func() bool {
		return e.srv.metrics(t)["go_goroutines"] <= goroutines+5
	})
}

// TestMOHAttendantWaitMusic: with wait: music the caller hears the loop,
// not ringback, while the chosen user rings; then the call is bridged.
func TestMOHAttendantWaitMusic(t *testing.T) {
	t.Parallel()
	e := newMOHEnv(t)
	alice := e.phone(t, alice, fillAlice, answer{Ring: true, Code: 200, After: 3 * time.Second})
	caller := listen(e.pstn)
	answerAndHearGreeting(t, e, mohNumber)
	e.pstn.pressRTP('1')
	alice.waitRequest(sip.INVITE, 5*time.Second)
	time.Sleep(100 * time.Millisecond) // the greeting's last frames
	caller.reset()
	pcm, fills := caller.heard(t, 2*time.Second, fillAlice)
	if ringback := goertzel(pcm[:1600], 440); ringback > goertzel(pcm[:1600], media.HoldPedal) {
		t.Errorf("the caller hears ringback (440 Hz power %.0f) while alice rings, want the loop", ringback)
	}
	wantLoop(t, "the caller while alice rings", pcm, fills)
	wantBridged(t, e.pstn, alice)
	e.pstn.bye()
	alice.waitRequest(sip.BYE, 5*time.Second)
	e.wantIdle(t, map[string]float64{selections("1"): 1})
}

// TestMOHScreenedCallerHearsLoop: while the forwarded leg of a screened
// forward hears the announcement, the caller (183 Session Progress) hears
// the loop, never the announcement; key 1 answers it and bridges.
func TestMOHScreenedCallerHearsLoop(t *testing.T) {
	t.Parallel()
	e := newMOHEnv(t)
	caller := listen(e.pstn)
	e.carrier.setAnswer(answer{Ring: true, Code: 200, After: 100 * time.Millisecond})
	e.pstn.call(samNumber, pstnCaller, nil)
	e.carrier.waitRequest(sip.INVITE, 5*time.Second)
	waitUntil(t, 5*time.Second, "screening prompt RTP", func() bool { return e.carrier.received(0) >= 25 })
	pcm, fills := caller.heard(t, 2*time.Second, fillCarrier)
	wantLoop(t, "the screened caller", pcm, fills)
	e.pstn.mu.Lock()
	var early bool
	for _, r := range e.pstn.resps {
		early = early || r.StatusCode == 183 && len(r.Body()) > 0
	}
	e.pstn.mu.Unlock()
	if !early {
		t.Error("no 183 with SDP before the music")
	}
	e.carrier.pressRTP('1')
	e.pstn.waitFinal(200, 5*time.Second)
	wantBridged(t, e.pstn, e.carrier)
	e.pstn.bye()
	e.carrier.waitRequest(sip.BYE, 5*time.Second)
	e.wantIdle(t, map[string]float64{screening("accepted"): 1})
}

// TestMOHNamedPrompt: a tenant's moh prompt (hold.wav, a 440 Hz tone) is
// what its callers wait with, looped past its one second, not the
// built-in loop.
func TestMOHNamedPrompt(t *testing.T) {
	t.Parallel()
	e := newMOHEnv(t, strings.Replace(mohDirectory, `moh: {prompt: ""}`, `moh: {prompt: hold}`, 1))
	alice := e.phone(t, alice, fillAlice, answer{Ring: true, Code: 200, After: 4 * time.Second})
	caller := listen(e.pstn)
	answerAndHearGreeting(t, e, mohNumber)
	e.pstn.pressRTP('1')
	alice.waitRequest(sip.INVITE, 5*time.Second)
	time.Sleep(100 * time.Millisecond)
	caller.reset()
	pcm, _ := caller.heard(t, 2500*time.Millisecond, fillAlice)
	for at := 0; at+1600 <= len(pcm); at += 1600 {
		win := pcm[at : at+1600]
		if tone, pedal := goertzel(win, 440), goertzel(win, media.HoldPedal); tone < 1e4 || tone < 50*pedal {
			t.Fatalf("at %d ms: 440 Hz power %.0f, pedal %.0f: not the hold prompt", at/8, tone, pedal)
		}
	}
	wantBridged(t, e.pstn, alice)
	e.pstn.bye()
	alice.waitRequest(sip.BYE, 5*time.Second)
	e.wantIdle(t, nil)
}
