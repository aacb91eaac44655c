package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestAdminLifecycle is the admin workflow of issue 8 against the running
// binary through its own CLI: create a tenant and a user, register a phone
// with the new credentials, call it, change its forward and see the next call
// follow it, delete it and see its REGISTER refused.
func TestAdminLifecycle(t *testing.T) {
	t.Parallel()
	const token = "e2e-admin-token"
	carrier := newPeer(t, nil, "carrier", "127.0.0.2", "UDP")
	srv := start(t, options{Directory: callDirectory, Trunk: carrier.addr, AdminToken: token})
	carrier.srv = srv
	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(binary, args...)
		cmd.Env = append(os.Environ(), "SWITCHBOARD_SERVER=http://"+srv.HTTP, "SWITCHBOARD_TOKEN="+token)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("switchboard %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	cli("tenants", "add", "-name", "Beta Corp", "-main-number", "+14155550900", "beta.example")
	if out := cli("tenants", "list"); !strings.Contains(out, "beta.example") {
		t.Fatalf("tenants list after add:\n%s", out)
	}

	zoe := user{"zoe", "7099", "zoe7099-secret"}
	cli("users", "add", "-tenant", domain, "-name", "Zoe New", "-extensions", zoe.ext, "-password", zoe.password, zoe.id)
	zoePh := newPeer(t, srv, "zoe", "127.0.0.1", "UDP")
	zoePh.register(zoe.ext, zoe)
	alicePh := newPeer(t, srv, "alice", "127.0.0.1", "UDP")
	alicePh.register(alice.ext, alice)
	callAndHangUp(t, alicePh, alice, zoe.ext, zoePh)

	cli("users", "set", "-tenant", domain, "-forward", "+14085550099", "-forward-when", "always", zoe.id)
	carrier.setAnswer(answer{Code: 486})
	alicePh.call(zoe.ext, callOpts{As: &alice}).wait(3 * time.Second)
	inv := carrier.waitRequest(sip.INVITE, 1, 3*time.Second)
	if inv.Recipient.User != "+14085550099" {
		t.Errorf("forwarded INVITE to %q, want +14085550099", inv.Recipient.User)
	}
	if n := invited(zoePh); n != 1 {
		t.Errorf("zoe's phone got %d INVITEs, want only the first call's (forward always)", n)
	}

	cli("users", "delete", "-tenant", domain, zoe.id)
	if code, err := registerCode(zoePh, zoe.ext, zoe); err != nil || code == 200 {
		t.Fatalf("REGISTER of the deleted user: %d %v, want a refusal", code, err)
	}
	res := alicePh.call(zoe.ext, callOpts{As: &alice}).wait(3 * time.Second)
	if res == nil || res.StatusCode != 404 {
		t.Errorf("call to the deleted user's extension: %v, want 404", res)
	}
}
