package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// The TLS files are checked as a handshake would use them; each problem
// names its field and line (testdata/tls: a self-signed pair for
// pbx.example.com valid for a century, and a key of another pair).
func TestValidateTLSFiles(t *testing.T) {
	abs := func(p string) string {
		a, err := filepath.Abs(filepath.Join("testdata", p))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	cert, key, other, token := abs("tls/cert.pem"), abs("tls/key.pem"), abs("tls/other.key"), abs("admin.token")
	listen := "sip:\n  listen: [tls://127.0.0.1:5061]\n"
	pair := func(c, k string) string { return fmt.Sprintf("  tls:\n    cert: %s\n    key: %s\n", c, k) }
	tests := []struct {
		name, yaml, field string
		line              int
		reason            string
	}{
		{"key not matching", listen + pair(cert, other), "sip.tls.key", 5, "does not match the certificate"},
		{"key not PEM", listen + pair(cert, token), "sip.tls.key", 5, "no PEM private key"},
		{"cert not PEM", listen + pair(token, key), "sip.tls.cert", 4, "no PEM certificate"},
		{"advertise not named", listen + "  advertise: sip.other.example:5061\n" + pair(cert, key), "sip.tls.cert", 5, `does not name sip.advertise host "sip.other.example"`},
		{"trunk tls_ca with udp", fmt.Sprintf("trunks:\n  - name: a\n    address: carrier.example\n    transport: udp\n    tls_ca: %s\n", cert), "trunks[0].tls_ca", 5, `transport is "udp"`},
		{"trunk tls_ca missing", "trunks:\n  - name: a\n    address: carrier.example\n    transport: tls\n    tls_ca: /nonexistent/ca.pem\n", "trunks[0].tls_ca", 5, "no such file"},
		{"trunk tls_ca not PEM", fmt.Sprintf("trunks:\n  - name: a\n    address: carrier.example\n    transport: tls\n    tls_ca: %s\n", token), "trunks[0].tls_ca", 5, "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.yaml)
			c, err := Load(path)
			if err != nil {
				t.Fatalf("Load = %v", err)
			}
			probs := c.Validate()
			if len(probs) != 1 {
				t.Fatalf("Validate() = %d problems, want 1:\n%v", len(probs), probs)
			}
			p := probs[0]
			if p.Line != tt.line || p.Field != tt.field || !strings.Contains(p.Reason, tt.reason) {
				t.Errorf("Validate() = %q, want line %d: %s: …%s…", p, tt.line, tt.field, tt.reason)
			}
		})
	}
	t.Run("valid pair, advertise named", func(t *testing.T) {
		c, err := Load(writeConfig(t, listen+"  advertise: pbx.example.com\n"+pair(cert, key)))
		if err != nil {
			t.Fatal(err)
		}
		if probs := c.Validate(); len(probs) != 0 {
			t.Errorf("Validate() = %v, want none", probs)
		}
	})
}
