package admin

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/dialplan"
)

// TestVoicemailPINNeverShown checks that no response carries a voicemail
// PIN or its hash, and that writing back what GET showed keeps the PIN.
func TestVoicemailPINNeverShown(t *testing.T) {
	e := newAPIEnv(t)
	const path = "/api/v1/tenants/acme.example/users/alice"
	if code, body := e.do(t, "PATCH", path, `{"voicemail":{"enabled":true,"pin":"4321"}}`); code != 200 {
		t.Fatalf("PATCH voicemail = %d %v", code, body)
	}
	pinWorks := func(t *testing.T, pin string) {
		t.Helper()
		vm := e.user(t, "alice").Voicemail
		if vm == nil || !dialplan.CheckPIN("acme.example", "user:alice", pin, vm.PINHash) {
			t.Errorf("stored voicemail %+v: PIN %s does not work", vm, pin)
		}
	}
	pinWorks(t, "4321")
	for _, p := range []string{path, "/api/v1/tenants/acme.example/users", "/api/v1/tenants/acme.example"} {
		_, body := e.do(t, "GET", p, "")
		if raw, _ := json.Marshal(body); strings.Contains(string(raw), "pin") || !strings.Contains(string(raw), `"voicemail":{"enabled":true}`) {
			t.Errorf("GET %s = %s, want the voicemail without its PIN", p, raw)
		}
	}

	t.Run("PUT of what GET showed", func(t *testing.T) {
		_, got := e.do(t, "GET", path, "")
		raw, _ := json.Marshal(got)
		if code, body := e.do(t, "PUT", path, string(raw)); code != 200 {
			t.Fatalf("PUT = %d %v", code, body)
		}
		pinWorks(t, "4321")
	})
	t.Run("PUT with voicemail and no pin", func(t *testing.T) {
		if code, body := e.do(t, "PUT", path, `{"id":"alice","name":"Alice Anders","extensions":["7001"],"voicemail":{"enabled":true,"greeting":"away"}}`); code != 200 {
			t.Fatalf("PUT = %d %v", code, body)
		}
		pinWorks(t, "4321")
	})
	t.Run("PATCH of something else", func(t *testing.T) {
		if code, body := e.do(t, "PATCH", path, `{"voicemail":{"greeting":null}}`); code != 200 {
			t.Fatalf("PATCH = %d %v", code, body)
		}
		pinWorks(t, "4321")
	})
	t.Run("PUT with a new pin", func(t *testing.T) {
		if code, body := e.do(t, "PUT", path, `{"id":"alice","name":"Alice Anders","extensions":["7001"],"voicemail":{"enabled":true,"pin":"9876"}}`); code != 200 {
			t.Fatalf("PUT = %d %v", code, body)
		}
		pinWorks(t, "9876")
	})
	t.Run("PUT without voicemail", func(t *testing.T) {
		// PUT replaces the user whole: no voicemail is no mailbox, PIN included.
		if code, body := e.do(t, "PUT", path, `{"id":"alice","name":"Alice Anders","extensions":["7001"]}`); code != 200 {
			t.Fatalf("PUT = %d %v", code, body)
		}
		if vm := e.user(t, "alice").Voicemail; vm != nil {
			t.Errorf("voicemail after PUT without it = %+v, want none", vm)
		}
	})
}
