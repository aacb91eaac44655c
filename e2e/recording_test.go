package e2e

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/media"
)

// TestRecordingAttendantCall: a carrier caller goes through the attendant
// to carol, who has record: true; the call is anchored (RTP through the
// engine), both sides stream known audio, the caller hangs up. Carol then
// has one recording of about the call's length whose samples hold both
// sides mixed; alice (no record) gets none for her call.
func TestRecordingAttendantCall(t *testing.T) {
	t.Parallel()
	dir := strings.Replace(b2bDirectory,
		`{id: carol, name: Carol Chen, extensions: ["7003"], password: carol7003}`,
		`{id: carol, name: Carol Chen, extensions: ["7003"], password: carol7003, record: true}`, 1)
	if dir == b2bDirectory {
		t.Fatal("directory: carol not found")
	}
	e := newB2BEnvWith(t, options{Directory: dir, AdminToken: vmToken})
	carol := e.phone(t, carol, fillCarol, answer{Ring: true, Code: 200})
	answerAndHearGreeting(t, e, mainNumber)
	e.pstn.pressRTP('0')
	carol.waitRequest(sip.INVITE, 5*time.Second)
	wantBridged(t, e.pstn, carol)
	time.Sleep(1500 * time.Millisecond)
	e.pstn.bye()
	carol.waitRequest(sip.BYE, 5*time.Second)

	wantRecording(t, e, "carol", fillCarol)
	e.srv.waitMetric(t, `switchboard_recordings_total{result="saved"}`, 1, 5*time.Second)

	// A user without record: alice's attendant call leaves nothing.
	alice := e.phone(t, alice, fillAlice, answer{Ring: true, Code: 200})
	bob := e.phone(t, bob, fillBob, answer{Ring: true})
	answerAndHearGreeting(t, e, mainNumber)
	e.pstn.pressRTP('1')
	alice.waitRequest(sip.INVITE, 5*time.Second)
	bob.waitRequest(sip.CANCEL, 5*time.Second)
	wantBridged(t, e.pstn, alice)
	e.pstn.bye()
	alice.waitRequest(sip.BYE, 5*time.Second)
	e.wantIdle(t, map[string]float64{`switchboard_recordings_total{result="saved"}`: 1})
	for _, u := range []string{"alice", "bob"} {
		code, body := api(t, e.srv, "GET", "/tenants/acme.example/users/"+u+"/recordings", "", nil)
		if code != 200 || strings.TrimSpace(string(body)) != "[]" {
			t.Errorf("%s's recordings: %d %s", u, code, body)
		}
	}
}

// wantRecording checks user has one recording of the call just ended, at
// least 1.5 s long, from the PSTN caller, whose WAV holds at least 1 s of
// the caller's and the callee's (fill) audio mixed.
func wantRecording(t *testing.T, e *b2bEnv, user string, fill byte) {
	t.Helper()
	var recs []struct {
		ID       string  `json:"id"`
		From     string  `json:"from"`
		To       string  `json:"to"`
		Started  string  `json:"started"`
		Duration float64 `json:"duration_s"`
	}
	waitUntil(t, 5*time.Second, user+"'s recording", func() bool {
		code, body := api(t, e.srv, "GET", "/tenants/acme.example/users/"+user+"/recordings", "", nil)
		return code == 200 && json.Unmarshal(body, &recs) == nil && len(recs) > 0
	})
	if len(recs) != 1 {
		t.Fatalf("recordings: %+v", recs)
	}
	r := recs[0]
	// Bridged for at least the 1.5 s slept; never longer than the test.
	if r.Duration < 1.5 || r.Duration > 15 || r.From != pstnCaller || r.Started == "" {
		t.Errorf("recording: %+v", r)
	}
	code, wav := api(t, e.srv, "GET", "/tenants/acme.example/users/"+user+"/recordings/"+r.ID, "audio/wav", nil)
	if code != 200 {
		t.Fatalf("download: %d %s", code, wav)
	}
	pcm, err := media.ReadWAV(bytes.NewReader(wav))
	if err != nil {
		t.Fatal(err)
	}
	caller := media.PCMU.Decode(nil, []byte{fillPSTN})[0]
	callee := media.PCMU.Decode(nil, []byte{fill})[0]
	both := int16(max(min(int32(caller)+int32(callee), 32767), -32768))
	var nBoth int
	for _, v := range pcm {
		if v == both {
			nBoth++
		}
	}
	// Both directions, mixed, for most of the bridged time.
	if nBoth < 8000 {
		t.Errorf("%d of %d samples hold both sides (caller %d + callee %d = %d), want ≥ 1 s", nBoth, len(pcm), caller, callee, both)
	}
	if d := float64(len(pcm)) / 8000; d < r.Duration-0.1 || d > r.Duration+0.1 {
		t.Errorf("WAV is %.2f s, listed %.2f s", d, r.Duration)
	}
}

// TestRecordingScreenedForward: sam (record: true) forwards with press-1
// screening; the accepted forward is anchored and recorded for sam.
func TestRecordingScreenedForward(t *testing.T) {
	t.Parallel()
	dir := strings.Replace(b2bDirectory, "        password: sam7010\n", "        password: sam7010\n        record: true\n", 1)
	if dir == b2bDirectory {
		t.Fatal("directory: sam not found")
	}
	e := newB2BEnvWith(t, options{Directory: dir, AdminToken: vmToken})
	screenedCall(t, e)
	e.carrier.pressRTP('1')
	e.pstn.waitFinal(200, 5*time.Second)
	wantBridged(t, e.pstn, e.carrier)
	time.Sleep(1500 * time.Millisecond)
	e.pstn.bye()
	e.carrier.waitRequest(sip.BYE, 5*time.Second)
	wantRecording(t, e, "sam", fillCarrier)
	e.wantIdle(t, map[string]float64{screening("accepted"): 1, `switchboard_recordings_total{result="saved"}`: 1})
}
