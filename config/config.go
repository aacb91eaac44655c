package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Config is the whole switchboard configuration. Its shape is the config file's
// YAML (see DESIGN.md, "Config file, YAML"); the zero value is not useful, start
// from Default or Load.
type Config struct {
	SIP   SIPConfig   `yaml:"sip"`
	Media MediaConfig `yaml:"media"`
	// Voicemail configures recording and MWI (voicemail.go).
	Voicemail VoicemailConfig `yaml:"voicemail"`
	HTTP      HTTPConfig      `yaml:"http"`
	Store     StoreConfig     `yaml:"store"`
	// Directory is the directory YAML file loaded at start; "" = none. A
	// relative path in the config file is resolved against the file's folder.
	Directory string    `yaml:"directory" config:"path"`
	Trunks    []Trunk   `yaml:"trunks"`
	DNS       DNSConfig `yaml:"dns"`
	Log       LogConfig `yaml:"log"`
	// ShutdownTimeout bounds how long a draining instance keeps relaying the
	// calls it carries before it ends them and exits (default 30s).
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// Security configures bans and flood limits at the SIP edge.
	Security SecurityConfig `yaml:"security"`
	// SMTP is the mail server invitations are sent through (smtp.go).
	SMTP SMTPConfig `yaml:"smtp"`

	// File is the config file the values were loaded from; "" when none.
	File string `yaml:"-"`

	origins map[string]origin // field path -> where its value came from
	token   tokenRead         // admin token read from HTTP.AdminTokenFile
}

// SIPConfig configures the SIP server.
type SIPConfig struct {
	// Listen holds listen URLs: udp://, tcp://, tls://, ws:// or wss:// with host:port.
	Listen []string `yaml:"listen"`
	// Advertise is the host[:port] put in Via, Record-Route and Contact;
	// "" = the listen address.
	Advertise string    `yaml:"advertise"`
	TLS       TLSConfig `yaml:"tls"`
	// Realm is the digest realm; "" = the tenant's domain.
	Realm string `yaml:"realm"`
	// DefaultTenant is the tenant domain for requests addressed to the
	// server's own IP or host name.
	DefaultTenant string `yaml:"default_tenant"`
	// AuthAlgorithms lists the digest algorithms offered in challenges, most
	// preferred first: "MD5" and/or "SHA-256".
	AuthAlgorithms []string `yaml:"auth_algorithms"`
	// MinExpires, MaxExpires and DefaultExpires bound REGISTER expirations.
	// In the file they are written "60s" or as a bare number of seconds.
	MinExpires     time.Duration `yaml:"min_expires"`
	MaxExpires     time.Duration `yaml:"max_expires"`
	DefaultExpires time.Duration `yaml:"default_expires"`
	// UDPReadBuffer is the UDP socket receive buffer in bytes (written as a
	// number or with a KiB/MiB/GiB suffix); 0 = the operating system's default.
	UDPReadBuffer int `yaml:"udp_read_buffer"`
	// Keepalive is how often phones registered over UDP get an OPTIONS
	// that keeps their NAT pinhole open; one that misses two in a row is
	// unregistered. 0 = off.
	Keepalive time.Duration `yaml:"keepalive"`
	// Park configures call park (*70) and its slots.
	Park ParkConfig `yaml:"park"`
}

// ParkConfig configures call park: a call parked with *70 waits on the
// tenant's lowest free slot first_slot … first_slot+slots-1 (a slot that
// is also an extension of the tenant is skipped) until someone dials the
// slot, or timeout rings the parker back. Slots 0 turns park off.
type ParkConfig struct {
	Timeout   time.Duration `yaml:"timeout"`
	FirstSlot int           `yaml:"first_slot"`
	Slots     int           `yaml:"slots"`
}

// TLSConfig names the certificate and key for tls:// and wss:// listeners.
type TLSConfig struct {
	Cert string `yaml:"cert" config:"path"`
	Key  string `yaml:"key" config:"path"`
}

// MediaConfig configures RTP media.
type MediaConfig struct {
	// Address is the RTP bind address and the SDP c= address.
	Address string `yaml:"address"`
	// Ports is the RTP port range "lo-hi"; lo even, hi odd (RTP/RTCP pairs).
	Ports string `yaml:"ports"`
	// Prompts is a folder of prompt WAV files; "" = built-in prompts.
	Prompts string `yaml:"prompts" config:"path"`
	// Inactivity ends an attendant or screened call whose peer sends no
	// RTP for this long; 0 = 30s, negative = never.
	Inactivity time.Duration `yaml:"inactivity"`
	// ScreeningTimeout is how long a screened forward's far end has to
	// press a key after the prompt; 0 = 10s.
	ScreeningTimeout time.Duration `yaml:"screening_timeout"`
	// ScreeningRing is how long a screened forward rings when the forward
	// has no timeout of its own; 0 = 30s.
	ScreeningRing time.Duration `yaml:"screening_ring"`
}

// HTTPConfig configures the admin API and ops endpoints.
type HTTPConfig struct {
	Listen string `yaml:"listen"`
	// AdminToken is the bearer token of the admin API; "" = admin API
	// disabled. Loading fills it from AdminTokenFile when that is set.
	AdminToken string `yaml:"admin_token"`
	// AdminTokenFile is a file holding the admin token (surrounding space
	// trimmed); mutually exclusive with an explicit AdminToken.
	AdminTokenFile string `yaml:"admin_token_file" config:"path"`
	// PublicURL is where users reach this server's console from outside
	// ("https://pbx.example.com"), the base of invitation links; "" = the
	// host the inviting request came to.
	PublicURL string `yaml:"public_url"`
}

// StoreConfig selects the directory and registration store.
type StoreConfig struct {
	// Redis is "" for the embedded memory store, or a redis://, rediss://,
	// redis-sentinel:// or unix:// URL.
	Redis string `yaml:"redis"`
	// Timeout bounds each Redis dial, read and write (0: 100ms); a store
	// call on the SIP path gets 1.5 times it, retry included.
	Timeout time.Duration `yaml:"timeout"`
}

// LogConfig configures logging.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn or error
	Format string `yaml:"format"` // text or json
}

// Listener is one parsed SIP listen URL.
type Listener struct {
	Network string // udp, tcp, tls, ws or wss
	Addr    string // host:port
}

// Default returns the configuration used when nothing else is given: the
// embedded demo's SIP on udp and tcp 127.0.0.1:5060 and HTTP on 127.0.0.1:8080.
func Default() Config {
	return Config{
		SIP: SIPConfig{
			Listen:         []string{"udp://127.0.0.1:5060", "tcp://127.0.0.1:5060"},
			AuthAlgorithms: []string{"MD5"},
			MinExpires:     60 * time.Second,
			MaxExpires:     3600 * time.Second,
			DefaultExpires: 3600 * time.Second,
			Park:           ParkConfig{Timeout: 45 * time.Second, FirstSlot: 701, Slots: 20},
			UDPReadBuffer:  4 << 20,
		},
		Media: MediaConfig{
			Address: "127.0.0.1",
			Ports:   "20000-20999",
		},
		HTTP:            HTTPConfig{Listen: "127.0.0.1:8080"},
		DNS:             DNSConfig{Timeout: time.Second},
		Log:             LogConfig{Level: "info", Format: "text"},
		ShutdownTimeout: 30 * time.Second,
		Security:        defaultSecurity(),
	}
}

// Listeners parses Listen. It returns the first malformed URL's error;
// Validate reports all of them.
func (s SIPConfig) Listeners() ([]Listener, error) {
	ls := make([]Listener, 0, len(s.Listen))
	for _, u := range s.Listen {
		l, err := parseListener(u)
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
	}
	return ls, nil
}

func parseListener(s string) (Listener, error) {
	scheme, addr, ok := strings.Cut(s, "://")
	if !ok {
		return Listener{}, fmt.Errorf("listen URL %q: missing scheme (want udp://, tcp://, tls://, ws:// or wss://)", s)
	}
	network := strings.ToLower(scheme)
	switch network {
	case "udp", "tcp", "tls", "ws", "wss":
	default:
		return Listener{}, fmt.Errorf("listen URL %q: unknown scheme %q (want udp, tcp, tls, ws or wss)", s, scheme)
	}
	if err := checkHostPort(addr, false, true); err != nil {
		return Listener{}, fmt.Errorf("listen URL %q: %w", s, err)
	}
	return Listener{Network: network, Addr: addr}, nil
}

// PortRange parses Ports ("lo-hi") and checks 1024 <= lo < hi <= 65535, lo
// even and hi odd, so the range holds whole RTP/RTCP port pairs.
func (m MediaConfig) PortRange() (lo, hi int, err error) {
	l, h, ok := strings.Cut(m.Ports, "-")
	if !ok {
		return 0, 0, fmt.Errorf("port range %q: want lo-hi, e.g. 20000-20999", m.Ports)
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(l))
	hi, err2 := strconv.Atoi(strings.TrimSpace(h))
	switch {
	case err1 != nil || err2 != nil:
		return 0, 0, fmt.Errorf("port range %q: want lo-hi, e.g. 20000-20999", m.Ports)
	case lo < 1024 || hi > 65535 || lo >= hi:
		return 0, 0, fmt.Errorf("port range %q: want 1024 <= lo < hi <= 65535", m.Ports)
	case lo%2 != 0 || hi%2 != 1:
		return 0, 0, fmt.Errorf("port range %q: want lo even and hi odd (whole RTP/RTCP pairs)", m.Ports)
	}
	return lo, hi, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR or IP address", s)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR or IP address", s)
	}
	return p.Masked(), nil
}
