package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadTrunks(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "carrier-a.secret")
	if err := os.WriteFile(secret, []byte("  s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, `
trunks:
  - name: old-form
    address: 192.0.2.1:5060
    inbound_from: ["192.0.2.0/28"]
  - name: carrier-a
    address: sip.carrier-a.example
    transport: tcp
    username: acme-trunk
    password_file: `+secret+`
    register: true
    register_expires: 120s
    priority: 10
    weight: 50
    probe: 30s
    max_calls: 100
    number_format: e164_no_plus
    fail_after: 1500ms
    did_from: to
    private: true
dns:
  servers: ["127.0.0.1:5353"]
  timeout: 500ms
`)
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if ps := c.Validate(); len(ps) > 0 {
		t.Fatalf("Validate() = %v, want no problems", ps)
	}
	want := []Trunk{
		{Name: "old-form", Address: "192.0.2.1:5060", InboundFrom: []string{"192.0.2.0/28"}},
		{Name: "carrier-a", Address: "sip.carrier-a.example", Transport: "tcp", Username: "acme-trunk",
			PasswordFile: secret, Register: true, RegisterExpires: 120 * time.Second, Priority: 10, Weight: 50,
			Probe: 30 * time.Second, MaxCalls: 100, NumberFormat: "e164_no_plus", FailAfter: 1500 * time.Millisecond,
			DIDFrom: "to", Private: true},
	}
	if diff := cmp.Diff(want, c.Trunks); diff != "" {
		t.Errorf("Trunks mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(DNSConfig{Servers: []string{"127.0.0.1:5353"}, Timeout: 500 * time.Millisecond}, c.DNS); diff != "" {
		t.Errorf("DNS mismatch (-want +got):\n%s", diff)
	}
	pw, err := c.Trunks[1].Password()
	if err != nil || pw != "s3cret" {
		t.Errorf("Password() = %q, %v, want s3cret", pw, err)
	}
}
