package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var ignoreOrigins = cmpopts.IgnoreUnexported(Config{})

// writeConfig writes a config file into a fresh folder and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "switchboard.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefault(t *testing.T) {
	c := Default()
	want := Config{
		SIP: SIPConfig{
			Listen:         []string{"udp://127.0.0.1:5060", "tcp://127.0.0.1:5060"},
			AuthAlgorithms: []string{"MD5"},
			MinExpires:     60 * time.Second,
			MaxExpires:     time.Hour,
			DefaultExpires: time.Hour,
			UDPReadBuffer:  4 << 20,
			Park:           ParkConfig{Timeout: 45 * time.Second, FirstSlot: 701, Slots: 20},
		},
		Media:           MediaConfig{Address: "127.0.0.1", Ports: "20000-20999"},
		HTTP:            HTTPConfig{Listen: "127.0.0.1:8080"},
		DNS:             DNSConfig{Timeout: time.Second},
		Log:             LogConfig{Level: "info", Format: "text"},
		ShutdownTimeout: 30 * time.Second,
		Security: SecurityConfig{Window: time.Minute, Ban: 15 * time.Minute, AuthFailuresPerUser: 5,
			AuthFailureUsersPerIP: 10, RequestsPerSecond: 200,
			Scanners: []string{"friendly-scanner", "sipvicious", "sipcli", "VaxSIPUserAgent", "pplsip"}},
	}
	if diff := cmp.Diff(want, c, ignoreOrigins); diff != "" {
		t.Errorf("Default() mismatch (-want +got):\n%s", diff)
	}
	if probs := c.Validate(); len(probs) != 0 {
		t.Errorf("Default().Validate() = %v, want no problems", probs)
	}
}

func TestLoadExample(t *testing.T) {
	c, err := Load("testdata/example.yaml")
	if err != nil {
		t.Fatalf("Load(example) = %v", err)
	}
	want := Default()
	want.File = "testdata/example.yaml"
	want.SIP.AuthAlgorithms = []string{"SHA-256", "MD5"}
	want.SIP.MaxExpires = 2 * time.Hour
	want.SIP.UDPReadBuffer = 8 << 20
	want.Directory = filepath.Join("testdata", "directory.yaml")
	want.Trunks = []Trunk{{Name: "carrier", Address: "127.0.0.1:5080", InboundFrom: []string{"127.0.0.1/32"}}}
	want.ShutdownTimeout = 15 * time.Second
	if diff := cmp.Diff(want, c, ignoreOrigins); diff != "" {
		t.Errorf("Load(example) mismatch (-want +got):\n%s", diff)
	}
	if probs := c.Validate(); len(probs) != 0 {
		t.Errorf("Validate() = %v, want no problems", probs)
	}
}

func TestLoadTLSExample(t *testing.T) {
	c, err := Load("testdata/tls.yaml")
	if err != nil {
		t.Fatalf("Load(tls) = %v", err)
	}
	if probs := c.Validate(); len(probs) != 0 {
		t.Errorf("Validate() = %v, want no problems", probs)
	}
	if got, want := c.SIP.TLS, (TLSConfig{Cert: "testdata/tls/cert.pem", Key: "testdata/tls/key.pem"}); got != want {
		t.Errorf("SIP.TLS = %+v, want %+v", got, want)
	}
	if got, want := c.HTTP.AdminToken, "s3cret-token"; got != want {
		t.Errorf("HTTP.AdminToken = %q, want %q", got, want)
	}
}

func TestLoadEmptyFile(t *testing.T) {
	c, err := Load(writeConfig(t, "# nothing here\n"))
	if err != nil {
		t.Fatalf("Load(empty) = %v", err)
	}
	if diff := cmp.Diff(Default(), c, ignoreOrigins, cmpopts.IgnoreFields(Config{}, "File")); diff != "" {
		t.Errorf("Load(empty) mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadNullKeepsDefault(t *testing.T) {
	c, err := Load(writeConfig(t, "sip:\n  listen:\nmedia:\n"))
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	if diff := cmp.Diff(Default().SIP.Listen, c.SIP.Listen); diff != "" {
		t.Errorf("SIP.Listen mismatch (-want +got):\n%s", diff)
	}
	if got, want := c.Media, Default().Media; got != want {
		t.Errorf("Media = %+v, want %+v", got, want)
	}
}

func TestListeners(t *testing.T) {
	tests := []struct {
		name    string
		listen  []string
		want    []Listener
		wantErr string
	}{
		{"default", Default().SIP.Listen, []Listener{{"udp", "127.0.0.1:5060"}, {"tcp", "127.0.0.1:5060"}}, ""},
		{"all schemes, upper case", []string{"UDP://[::1]:5060", "tls://0.0.0.0:5061", "ws://:8080", "wss://pbx.example.com:8443"},
			[]Listener{{"udp", "[::1]:5060"}, {"tls", "0.0.0.0:5061"}, {"ws", ":8080"}, {"wss", "pbx.example.com:8443"}}, ""},
		{"no scheme", []string{"127.0.0.1:5060"}, nil, "missing scheme"},
		{"bad scheme", []string{"sctp://127.0.0.1:5060"}, nil, `unknown scheme "sctp"`},
		{"no port", []string{"udp://127.0.0.1"}, nil, "want host:port"},
		{"path", []string{"ws://127.0.0.1:80/ws"}, nil, "invalid port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SIPConfig{Listen: tt.listen}.Listeners()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Listeners() error = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Listeners() = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Listeners() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPortRange(t *testing.T) {
	tests := []struct {
		ports  string
		lo, hi int
		ok     bool
	}{
		{"20000-20999", 20000, 20999, true},
		{"1024-1025", 1024, 1025, true},
		{" 30000 - 30099 ", 30000, 30099, true},
		{"20000", 0, 0, false},
		{"a-b", 0, 0, false},
		{"1000-1999", 0, 0, false},
		{"20000-70001", 0, 0, false},
		{"20999-20000", 0, 0, false},
		{"20001-20999", 0, 0, false},
		{"20000-21000", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.ports, func(t *testing.T) {
			lo, hi, err := MediaConfig{Ports: tt.ports}.PortRange()
			if (err == nil) != tt.ok || lo != tt.lo || hi != tt.hi {
				t.Errorf("PortRange(%q) = %d, %d, %v; want %d, %d, ok=%v", tt.ports, lo, hi, err, tt.lo, tt.hi, tt.ok)
			}
		})
	}
}

func TestPrefixes(t *testing.T) {
	tr := Trunk{InboundFrom: []string{"10.1.2.3/8", "192.0.2.7", "2001:db8::1", "2001:db8::/32", "junk"}}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("2001:db8::1/128"),
		netip.MustParsePrefix("2001:db8::/32"),
	}
	if diff := cmp.Diff(want, tr.Prefixes(), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("Prefixes() mismatch (-want +got):\n%s", diff)
	}
}
