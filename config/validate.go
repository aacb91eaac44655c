package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Auth algorithm names accepted in sip.auth_algorithms.
var authAlgorithms = []string{"MD5", "SHA-256"}

// Validate checks every field and returns all problems found, each naming the
// field and, when known, the file and line or the environment variable or
// flag it came from. It reads the file system to check that the TLS
// certificate and key and the admin token file exist.
func (c Config) Validate() Problems {
	v := validator{c: &c}
	v.sip()
	v.media()
	v.voicemail()
	v.http()
	v.store()
	v.trunks()
	v.dns()
	v.log()
	v.security()
	v.smtp() // smtp.go
	if c.ShutdownTimeout < 0 {
		v.add("shutdown_timeout", "must not be negative, got %s", c.ShutdownTimeout)
	}
	return v.probs
}

type validator struct {
	c     *Config
	probs Problems
}

func (v *validator) add(path, format string, args ...any) {
	v.probs = append(v.probs, v.c.problem(path, format, args...))
}

func (v *validator) sip() {
	s := v.c.SIP
	if len(s.Listen) == 0 {
		v.add("sip.listen", "at least one listen URL is required")
	}
	needTLS := ""
	for i, u := range s.Listen {
		l, err := parseListener(u)
		if err != nil {
			v.add(fmt.Sprintf("sip.listen[%d]", i), "%v", err)
			continue
		}
		if needTLS == "" && (l.Network == "tls" || l.Network == "wss") {
			needTLS = fmt.Sprintf("sip.listen[%d]", i)
		}
	}
	if needTLS != "" || s.TLS.Cert != "" || s.TLS.Key != "" {
		v.file("sip.tls.cert", s.TLS.Cert, needTLS)
		v.file("sip.tls.key", s.TLS.Key, needTLS)
		if s.TLS.Cert != "" && s.TLS.Key != "" && exists(s.TLS.Cert) && exists(s.TLS.Key) {
			v.tlsPair(s.TLS.Cert, s.TLS.Key, s.Advertise, time.Now()) // tlscheck.go
		}
	}
	if s.Advertise != "" {
		if err := checkAdvertise(s.Advertise); err != nil {
			v.add("sip.advertise", "%v", err)
		}
	}

	if len(s.AuthAlgorithms) == 0 {
		v.add("sip.auth_algorithms", "at least one algorithm is required (MD5, SHA-256)")
	}
	for i, a := range s.AuthAlgorithms {
		p := fmt.Sprintf("sip.auth_algorithms[%d]", i)
		switch {
		case !slices.Contains(authAlgorithms, a):
			v.add(p, "unknown algorithm %q (want MD5 or SHA-256)", a)
		case slices.Index(s.AuthAlgorithms, a) < i:
			v.add(p, "duplicate algorithm %q", a)
		}
	}

	if s.MinExpires < time.Second {
		v.add("sip.min_expires", "must be at least 1s, got %s", s.MinExpires)
	}
	if s.DefaultExpires < s.MinExpires {
		v.add("sip.default_expires", "must not be below min_expires (%s), got %s", s.MinExpires, s.DefaultExpires)
	}
	if s.MaxExpires < s.DefaultExpires {
		v.add("sip.max_expires", "must not be below default_expires (%s), got %s", s.DefaultExpires, s.MaxExpires)
	}
	if s.Keepalive != 0 && s.Keepalive < 5*time.Second {
		v.add("sip.keepalive", "must be 0 (off) or at least 5s, got %s", s.Keepalive)
	}
	if s.UDPReadBuffer < 0 {
		v.add("sip.udp_read_buffer", "must not be negative, got %d", s.UDPReadBuffer)
	}
	v.park(s.Park)
}

// park checks the park slots: digits like an extension (2-8, no leading
// zero), a bounded count, and a timeout a parked caller can wait out.
func (v *validator) park(p ParkConfig) {
	if p.Slots == 0 {
		return
	}
	if p.Slots < 0 || p.Slots > 100 {
		v.add("sip.park.slots", "must be 0 (park off) to 100, got %d", p.Slots)
	}
	if last := p.FirstSlot + p.Slots - 1; p.FirstSlot < 10 || last > 99999999 {
		v.add("sip.park.first_slot", "slots are 2-8 digits (10 to 99999999), got %d to %d", p.FirstSlot, last)
	}
	if p.Timeout < time.Second || p.Timeout > time.Hour {
		v.add("sip.park.timeout", "must be between 1s and 1h, got %s", p.Timeout)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// file checks that the file at path, named by field, is set when required
// (by the field named in requiredBy) and exists when set.
func (v *validator) file(field, path, requiredBy string) {
	if path == "" {
		if requiredBy != "" {
			v.add(field, "required by the TLS listener %s", requiredBy)
		} else {
			v.add(field, "set without the other of sip.tls.cert and sip.tls.key")
		}
		return
	}
	if _, err := os.Stat(path); err != nil {
		v.add(field, "%s: %s", path, pathErr(err))
	}
}

func (v *validator) media() {
	m := v.c.Media
	if _, err := netip.ParseAddr(m.Address); err != nil {
		v.add("media.address", "%q is not an IP address", m.Address)
	}
	if _, _, err := m.PortRange(); err != nil {
		v.add("media.ports", "%v", err)
	}
	if m.Prompts != "" {
		if fi, err := os.Stat(m.Prompts); err != nil {
			v.add("media.prompts", "%s: %s", m.Prompts, pathErr(err))
		} else if !fi.IsDir() {
			v.add("media.prompts", "%s is not a folder", m.Prompts)
		}
	}
}

func (v *validator) http() {
	h := v.c.HTTP
	if err := checkHostPort(h.Listen, false, true); err != nil {
		v.add("http.listen", "%q: %v", h.Listen, err)
	}
	if h.AdminTokenFile == "" {
		return
	}
	if h.AdminToken != "" && !v.c.tokenFromFile() {
		v.add("http.admin_token", "set together with http.admin_token_file (%s); set only one", v.c.where("http.admin_token_file").String())
		return
	}
	switch tok, err := readToken(h.AdminTokenFile); {
	case err != nil:
		v.add("http.admin_token_file", "cannot read: %s", pathErr(err))
	case tok == "":
		v.add("http.admin_token_file", "%s is empty", h.AdminTokenFile)
	}
}

func (v *validator) store() {
	if t := v.c.Store.Timeout; t < 0 || t > 10*time.Second {
		v.add("store.timeout", "%v: want between 0 (default 100ms) and 10s", t)
	}
	if v.c.Store.Redis == "" {
		return
	}
	if err := checkRedisURL(v.c.Store.Redis); err != nil {
		v.add("store.redis", "%v", err)
	}
}

func (v *validator) log() {
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, v.c.Log.Level) {
		v.add("log.level", "unknown level %q (want debug, info, warn or error)", v.c.Log.Level)
	}
	if !slices.Contains([]string{"text", "json"}, v.c.Log.Format) {
		v.add("log.format", "unknown format %q (want text or json)", v.c.Log.Format)
	}
}

func (o origin) String() string {
	if o.line > 0 {
		return fmt.Sprintf("%s:%d", o.file, o.line)
	}
	if o.file == "" {
		return "unknown origin"
	}
	return o.file
}

// checkHostPort checks a host:port address. The host may be empty (all
// interfaces) unless needHost; port 0 (any free port) only when zeroPort.
func checkHostPort(s string, needHost, zeroPort bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("want host:port")
	}
	if host == "" && needHost {
		return fmt.Errorf("want host:port, the host is missing")
	}
	if err := checkHost(host); host != "" && err != nil {
		return err
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (n == 0 && !zeroPort) {
		return fmt.Errorf("invalid port %q", port)
	}
	return nil
}

// checkHost accepts an IP address or a DNS name.
func checkHost(h string) error {
	if _, err := netip.ParseAddr(h); err == nil {
		return nil
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return fmt.Errorf("invalid host %q", h)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("invalid host %q", h)
			}
		}
	}
	return nil
}

// checkAdvertise accepts host or host:port, an IPv6 host bracketed or bare.
func checkAdvertise(s string) error {
	if strings.Contains(s, "://") {
		return fmt.Errorf("%q: want host[:port], without a scheme", s)
	}
	if _, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return nil
	}
	if _, _, err := net.SplitHostPort(s); err == nil {
		if err := checkHostPort(s, true, false); err != nil {
			return fmt.Errorf("%q: %w", s, err)
		}
		return nil
	}
	if err := checkHost(s); err != nil {
		return fmt.Errorf("%q: want host[:port]", s)
	}
	return nil
}

// checkRedisURL accepts the URL forms the Redis store understands. Errors
// show the URL with its password redacted.
func checkRedisURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL (want e.g. redis://host:6379/0)")
	}
	shown := u.Redacted()
	switch u.Scheme {
	case "redis", "rediss":
		if u.Host == "" {
			return fmt.Errorf("%q: the host is missing", shown)
		}
		if db := strings.TrimPrefix(u.Path, "/"); db != "" {
			if _, err := strconv.Atoi(db); err != nil {
				return fmt.Errorf("%q: database %q is not a number", shown, db)
			}
		}
	case "redis-sentinel":
		if u.Host == "" {
			return fmt.Errorf("%q: the sentinel hosts are missing", shown)
		}
	case "redis-cluster":
		if u.Host == "" {
			return fmt.Errorf("%q: the cluster nodes are missing", shown)
		}
		if p := strings.Trim(u.Path, "/"); p != "" {
			return fmt.Errorf("%q: a cluster has no database (%q)", shown, p)
		}
	case "unix":
		if u.Path == "" {
			return fmt.Errorf("%q: the socket path is missing", shown)
		}
	default:
		return fmt.Errorf("%q: unknown scheme %q (want redis, rediss, redis-sentinel, redis-cluster or unix)", shown, u.Scheme)
	}
	return nil
}
