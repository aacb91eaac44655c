package e2e

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// vmPathsDirectory: vic rings 2 s then goes to voicemail; fred forwards
// with screening, then voicemail.
const vmPathsDirectory = `tenants:
  - domain: acme.example
    name: Acme Inc
    users:
      - {id: alice, name: Alice Anders, extensions: ["7001"], password: alice7001}
      - id: vic
        extensions: ["7020"]
        password: vic7020
        direct_number: "+14155550120"
        voicemail: {enabled: true, pin: "1234", greeting: short, after: 2s}
      - id: fred
        extensions: ["7021"]
        password: fred7021
        direct_number: "+14155550121"
        forward: {number: "+14085550021", when: always, screening: true}
        voicemail: {enabled: true, pin: "1234", greeting: short}
`

// TestVoicemailPaths: no answer, busy and a declined screening end in
// voicemail; a full mailbox records nothing; a caller hanging up during
// the greeting leaves nothing and every port comes back.
func TestVoicemailPaths(t *testing.T) {
	pstn := newMediaPhone(t, nil, "pstn", "127.0.0.2", 0x11)
	carrier := newMediaPhone(t, nil, "carrier", "127.0.0.2", 0x22)
	prompts := t.TempDir()
	writeTone(t, filepath.Join(prompts, "short.wav"), 400*time.Millisecond)
	lo := 21000 + 100*int(b2bPortBase.Add(1))
	srv := start(t, options{Directory: vmPathsDirectory, Trunk: carrier.addr, TrunkFrom: "127.0.0.2/32", AdminToken: vmToken,
		Media: fmt.Sprintf("  address: 127.0.0.1\n  ports: \"%d-%d\"\n  prompts: %q\n  inactivity: 5s\n  screening_timeout: 2s\n  screening_ring: 3s\n",
			lo, lo+2*b2bPorts-1, prompts),
		Extra: "voicemail:\n  max_messages: 2\n"})
	pstn.srv, carrier.srv = srv, srv
	vicPhone := newMediaPhone(t, srv, "vic", "127.0.0.1", 0x33)
	vicPhone.register("7020", vic)

	saved := `switchboard_voicemail_messages_total{result="saved"}`
	leave := func(t *testing.T, number string, want float64) {
		t.Helper()
		pstn.mute.Store(true)
		pstn.call(number, "+14085551234", nil)
		pstn.waitFinal(200, 15*time.Second)
		waitUntil(t, 5*time.Second, "greeting and beep", func() bool { return pstn.received(0) >= 40 })
		sendTone(pstn, 1500*time.Millisecond)
		pstn.pressRTP('#')
		srv.waitMetric(t, saved, want, 5*time.Second)
		pstn.bye()
		srv.wantMetrics(t, map[string]float64{"switchboard_media_sessions_active": 0, callsActive: 0}, 10*time.Second)
	}
	resetRx := func() {
		pstn.mu.Lock()
		pstn.rxPT = map[uint8]int{}
		pstn.mu.Unlock()
	}

	t.Run("no answer", func(t *testing.T) {
		vicPhone.setAnswer(answer{Ring: true}) // rings until cancelled
		resetRx()
		leave(t, "+14155550120", 1)
		vicPhone.waitRequest(sip.CANCEL, 5*time.Second)
	})
	t.Run("busy", func(t *testing.T) {
		vicPhone.setAnswer(answer{Code: 486})
		resetRx()
		leave(t, "+14155550120", 2)
	})
	t.Run("declined screening", func(t *testing.T) {
		carrier.setAnswer(answer{Ring: true, Code: 200, After: 100 * time.Millisecond})
		resetRx()
		pstn.mute.Store(true)
		pstn.call("+14155550121", "+14085551234", nil)
		carrier.waitRequest(sip.INVITE, 5*time.Second)
		waitUntil(t, 5*time.Second, "screening prompt RTP", func() bool { return carrier.received(0) >= 25 })
		carrier.pressRTP('2')
		srv.waitMetric(t, screening("declined"), 1, 5*time.Second)
		pstn.waitFinal(200, 10*time.Second) // voicemail answers instead of 480
		waitUntil(t, 5*time.Second, "greeting and beep", func() bool { return pstn.received(0) >= 40 })
		sendTone(pstn, 1500*time.Millisecond)
		pstn.pressRTP('#')
		srv.waitMetric(t, saved, 3, 5*time.Second)
		pstn.bye()
	})
	t.Run("mailbox full", func(t *testing.T) {
		vicPhone.setAnswer(answer{Code: 486})
		resetRx()
		pstn.call("+14155550120", "+14085551234", nil)
		pstn.waitFinal(200, 5*time.Second)
		srv.waitMetric(t, `switchboard_voicemail_messages_total{result="full"}`, 1, 5*time.Second)
		waitUntil(t, 15*time.Second, "BYE after the mailbox-full prompt", pstn.gotBye)
		if code, body := api(t, srv, "GET", "/tenants/acme.example/users/vic/voicemail", "", nil); code != 200 || countMessages(body) != 2 {
			t.Errorf("vic's messages = %d %s, want the 2 of the cap", code, body)
		}
	})
	t.Run("caller hangs up during the greeting", func(t *testing.T) {
		carrier.setAnswer(answer{Code: 486})
		resetRx()
		pstn.call("+14155550121", "+14085551234", nil)
		pstn.waitFinal(200, 10*time.Second)
		waitUntil(t, 5*time.Second, "greeting RTP", func() bool { return pstn.received(0) >= 3 })
		pstn.bye()
		srv.wantMetrics(t, map[string]float64{
			"switchboard_media_sessions_active": 0, "switchboard_rtp_ports_available": b2bPorts, callsActive: 0,
			saved: 3,
		}, 10*time.Second)
		if code, body := api(t, srv, "GET", "/tenants/acme.example/users/fred/voicemail", "", nil); code != 200 || countMessages(body) != 1 {
			t.Errorf("fred's messages = %d %s, want only the earlier one", code, body)
		}
	})
}

func countMessages(body []byte) int {
	var msgs []vmMessage
	if err := jsonUnmarshal(body, &msgs); err != nil {
		return -1
	}
	return len(msgs)
}
