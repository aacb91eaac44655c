package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// unsolicitedDirectory: the shared "general" mailbox lights alice's lamp;
// +14155550130 reaches it straight away.
const unsolicitedDirectory = `tenants:
  - domain: acme.example
    name: Acme Inc
    users:
      - {id: alice, name: Alice Anders, extensions: ["7001"], password: alice7001}
    mailboxes:
      - {id: general, pin: "4321", greeting: short, notify: [alice]}
    numbers:
      "+14155550130": "voicemail:general"
`

// lastSummary returns the body of the last message-summary NOTIFY p got.
func lastSummary(p *peer) string {
	var last string
	for _, r := range p.requests(sip.NOTIFY) {
		if ev := r.GetHeader("Event"); ev != nil && strings.HasPrefix(ev.Value(), "message-summary") {
			last = string(r.Body())
		}
	}
	return last
}

// unsolicitedServer starts a server with unsolicitedDirectory and
// voicemail.unsolicited_mwi, and a PSTN caller on the trunk.
func unsolicitedServer(t *testing.T) (*server, *mediaPhone) {
	t.Helper()
	pstn := newMediaPhone(t, nil, "pstn", "127.0.0.2", fillPSTN)
	carrier := newMediaPhone(t, nil, "carrier", "127.0.0.2", fillCarrier)
	prompts := t.TempDir()
	writeTone(t, filepath.Join(prompts, "short.wav"), 400*time.Millisecond)
	lo := 21000 + 100*int(b2bPortBase.Add(1))
	srv := start(t, options{Directory: unsolicitedDirectory, Trunk: carrier.addr, TrunkFrom: "127.0.0.2/32", AdminToken: vmToken,
		Media: fmt.Sprintf("  address: 127.0.0.1\n  ports: \"%d-%d\"\n  prompts: %q\n  inactivity: 5s\n", lo, lo+2*b2bPorts-1, prompts),
		Extra: "voicemail:\n  unsolicited_mwi: true\n"})
	pstn.srv, carrier.srv = srv, srv
	return srv, pstn
}

// leaveGeneral leaves a 1.5 s message in the general mailbox; saved is
// the server's saved count to wait for.
func leaveGeneral(t *testing.T, srv *server, pstn *mediaPhone, saved float64) {
	t.Helper()
	pstn.mute.Store(true)
	pstn.call("+14155550130", "+14085551234", nil)
	pstn.waitFinal(200, 5*time.Second)
	waitUntil(t, 5*time.Second, "greeting and beep", func() bool { return pstn.received(0) >= 40 })
	time.Sleep(300 * time.Millisecond)
	sendTone(pstn, 1500*time.Millisecond)
	pstn.pressRTP('#')
	srv.waitMetric(t, `switchboard_voicemail_messages_total{result="saved"}`, saved, 5*time.Second)
	pstn.bye()
}

// TestUnsolicitedMWI: with voicemail.unsolicited_mwi, alice's phone, which
// registered but never subscribed, gets a NOTIFY Messages-Waiting: yes when
// a message is left in a mailbox she is notified of, and no once it is
// deleted through the API.
func TestUnsolicitedMWI(t *testing.T) {
	t.Parallel()
	srv, pstn := unsolicitedServer(t)
	phone := newPeer(t, srv, "alice-desk", "127.0.0.1", "UDP")
	phone.register("7001", alice)

	leaveGeneral(t, srv, pstn, 1)

	waitUntil(t, 5*time.Second, "unsolicited NOTIFY Messages-Waiting: yes", func() bool {
		return strings.Contains(lastSummary(phone), "Messages-Waiting: yes\r\n")
	})
	body := lastSummary(phone)
	if !strings.Contains(body, "Voice-Message: 1/0\r\n") || !strings.Contains(body, "Message-Account: sip:7001@acme.example\r\n") {
		t.Errorf("unsolicited NOTIFY body %q, want Voice-Message: 1/0 for sip:7001@acme.example", body)
	}
	if n := srv.metrics(t)["switchboard_mwi_subscriptions_active"]; n != 0 {
		t.Errorf("switchboard_mwi_subscriptions_active = %v, want 0 (nobody subscribed)", n)
	}

	code, list := api(t, srv, "GET", "/tenants/acme.example/mailboxes/general/voicemail", "", nil)
	var msgs []vmMessage
	if code != 200 || json.Unmarshal(list, &msgs) != nil || len(msgs) != 1 {
		t.Fatalf("GET general voicemail = %d %s, want one message", code, list)
	}
	if code, b := api(t, srv, "DELETE", "/tenants/acme.example/mailboxes/general/voicemail/"+msgs[0].ID, "", nil); code != 204 {
		t.Fatalf("DELETE message = %d %s", code, b)
	}
	waitUntil(t, 5*time.Second, "unsolicited NOTIFY Messages-Waiting: no", func() bool {
		return strings.Contains(lastSummary(phone), "Messages-Waiting: no\r\n")
	})
}

// TestUnsolicitedMWISubscribedPhone: a phone that subscribed gets its
// subscription's NOTIFYs only, never an unsolicited one as well.
func TestUnsolicitedMWISubscribedPhone(t *testing.T) {
	t.Parallel()
	srv, pstn := unsolicitedServer(t)
	phone := newPeer(t, srv, "alice-desk", "127.0.0.1", "UDP")
	phone.register("7001", alice)
	sub, res := phone.subscribe("7001", "message-summary", alice, 600)
	if res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE message-summary = %d, want 200", res.StatusCode)
	}
	waitSummary(t, sub, "0/0", 5*time.Second)
	leaveGeneral(t, srv, pstn, 1)
	waitSummary(t, sub, "1/0", 5*time.Second)
	time.Sleep(500 * time.Millisecond) // an unsolicited NOTIFY would be sent with the subscription's
	for _, r := range phone.requests(sip.NOTIFY) {
		if r.CallID().Value() != sub.req.CallID().Value() {
			t.Errorf("NOTIFY outside the subscription (Call-ID %s) to a subscribed phone:\n%s", r.CallID().Value(), r.Body())
		}
	}
}
