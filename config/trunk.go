package config

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Trunk is a SIP trunk to a carrier. The short form {name, address,
// inbound_from} of earlier versions keeps working: every other field has a
// default that behaves as before (UDP, no credentials, no registration, no
// probes, no call limit, E.164 numbers).
type Trunk struct {
	Name string `yaml:"name"`
	// Address is where outbound calls and screened forwards go: an IP
	// address with or without a port, or a DNS name resolved per RFC 3263
	// (NAPTR → SRV → A/AAAA; a name with a port is only looked up as A/AAAA).
	Address string `yaml:"address"`
	// Transport is udp, tcp or tls; "" = what NAPTR offers, else udp.
	Transport string `yaml:"transport"`
	// TLSCA is a PEM file of CA certificates the carrier's certificate may
	// chain to when transport is tls, besides the system roots (a carrier
	// with a private CA); "" = the system roots only.
	TLSCA string `yaml:"tls_ca" config:"path"`
	// Username and PasswordFile are the digest credentials answered to the
	// carrier's 401/407 (and used to register). The password is the file's
	// content with surrounding space trimmed.
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file" config:"path"`
	// Register keeps a registration at the carrier so it can deliver
	// inbound calls to us.
	Register bool `yaml:"register"`
	// RegisterExpires is the expiry asked for in REGISTER (default 600s);
	// the registration is refreshed before the granted expiry runs out.
	RegisterExpires time.Duration `yaml:"register_expires"`
	// InboundFrom lists the CIDRs (or bare IPs) trusted to send calls to
	// tenant numbers. Calls from a carrier this instance registered to are
	// recognised by the registration's flow as well (and, when this is
	// empty, from every address the trunk's address resolved to).
	InboundFrom []string `yaml:"inbound_from"`
	// Priority orders the hunt (lower first); equal priorities share the
	// calls by Weight (RFC 2782 style; 0 weights are picked rarely).
	Priority int `yaml:"priority"`
	Weight   int `yaml:"weight"`
	// Probe is the OPTIONS keepalive interval; 0 = no probes. A trunk that
	// fails 3 probes in a row is down (skipped) until one succeeds.
	Probe time.Duration `yaml:"probe"`
	// MaxCalls bounds concurrent calls through the trunk; 0 = no limit.
	MaxCalls int `yaml:"max_calls"`
	// NumberFormat is how the carrier wants numbers in R-URI, From and
	// P-Asserted-Identity: e164 (default, +14155550100), e164_no_plus
	// (14155550100) or national (4155550100 in the tenant's country).
	NumberFormat string `yaml:"number_format"`
	// FailAfter is how long an attempt may go without a provisional
	// response before the next trunk is tried (default 2s).
	FailAfter time.Duration `yaml:"fail_after"`
	// DIDFrom says where an inbound call from this trunk names the dialled
	// number: ruri (default), to, p-called-party-id or diversion.
	DIDFrom string `yaml:"did_from"`
	// Private trunks are only used by tenants that name them in
	// tenants[].trunks (bring-your-own-carrier); the others are the
	// provider's defaults every tenant falls back to.
	Private bool `yaml:"private"`
}

// Trunk transports, number formats and DID sources accepted in the config.
var (
	TrunkTransports    = []string{"udp", "tcp", "tls"}
	TrunkNumberFormats = []string{"e164", "national", "e164_no_plus"}
	TrunkDIDSources    = []string{"ruri", "to", "p-called-party-id", "diversion"}
)

// DNSConfig configures the resolver used for trunk addresses.
type DNSConfig struct {
	// Servers are the DNS servers asked (host:port or IP); empty = the
	// nameservers of /etc/resolv.conf.
	Servers []string `yaml:"servers"`
	// Timeout bounds one resolution on the call path (default 1s); a stale
	// cached answer is used while a refresh runs.
	Timeout time.Duration `yaml:"timeout"`
}

// Prefixes parses InboundFrom, a bare IP meaning a /32 or /128. Entries that
// do not parse are skipped; Validate reports them.
func (t Trunk) Prefixes() []netip.Prefix {
	ps := make([]netip.Prefix, 0, len(t.InboundFrom))
	for _, s := range t.InboundFrom {
		if p, err := parsePrefix(s); err == nil {
			ps = append(ps, p)
		}
	}
	return ps
}

// Password reads the trunk's password from PasswordFile; "" when none is
// configured.
func (t Trunk) Password() (string, error) {
	if t.PasswordFile == "" {
		return "", nil
	}
	p, err := readToken(t.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("trunk %s password_file: %w", t.Name, err)
	}
	return p, nil
}

func (v *validator) trunks() {
	names := make(map[string]int)
	for i, t := range v.c.Trunks {
		p := fmt.Sprintf("trunks[%d]", i)
		if t.Name == "" {
			v.add(p+".name", "is required")
		} else if first, dup := names[t.Name]; dup {
			v.add(p+".name", "duplicate trunk name %q (also trunks[%d])", t.Name, first)
		} else {
			names[t.Name] = i
		}
		if t.Address == "" {
			v.add(p+".address", "is required (host[:port] or a DNS name)")
		} else if err := checkTrunkAddress(t.Address); err != nil {
			v.add(p+".address", "%q: %v", t.Address, err)
		}
		if t.Transport != "" && !slices.Contains(TrunkTransports, t.Transport) {
			v.add(p+".transport", "unknown transport %q (want udp, tcp or tls)", t.Transport)
		}
		if t.TLSCA != "" {
			if t.Transport != "tls" && t.Transport != "" { // "": NAPTR may offer TLS
				v.add(p+".tls_ca", "set but transport is %q, not tls", t.Transport)
			}
			v.caFile(p+".tls_ca", t.TLSCA) // tlscheck.go
		}
		for j, s := range t.InboundFrom {
			if _, err := parsePrefix(s); err != nil {
				v.add(fmt.Sprintf("%s.inbound_from[%d]", p, j), "%v", err)
			}
		}
		v.trunkCredentials(p, t)
		if t.Priority < 0 || t.Priority > 65535 {
			v.add(p+".priority", "%d: want 0 to 65535", t.Priority)
		}
		if t.Weight < 0 || t.Weight > 65535 {
			v.add(p+".weight", "%d: want 0 to 65535", t.Weight)
		}
		if t.Probe != 0 && (t.Probe < 100*time.Millisecond || t.Probe > time.Hour) {
			v.add(p+".probe", "%s: want between 100ms and 1h, or 0 for no probes", t.Probe)
		}
		if t.MaxCalls < 0 {
			v.add(p+".max_calls", "%d: must not be negative (0 = no limit)", t.MaxCalls)
		}
		if t.NumberFormat != "" && !slices.Contains(TrunkNumberFormats, t.NumberFormat) {
			v.add(p+".number_format", "unknown format %q (want e164, national or e164_no_plus)", t.NumberFormat)
		}
		if t.FailAfter != 0 && (t.FailAfter < 50*time.Millisecond || t.FailAfter > 60*time.Second) {
			v.add(p+".fail_after", "%s: want between 50ms and 60s (default 2s)", t.FailAfter)
		}
		if t.DIDFrom != "" && !slices.Contains(TrunkDIDSources, t.DIDFrom) {
			v.add(p+".did_from", "unknown source %q (want ruri, to, p-called-party-id or diversion)", t.DIDFrom)
		}
		if t.RegisterExpires != 0 && (t.RegisterExpires < 2*time.Second || t.RegisterExpires > 24*time.Hour) {
			v.add(p+".register_expires", "%s: want between 2s and 24h (default 600s)", t.RegisterExpires)
		}
	}
}

func (v *validator) trunkCredentials(p string, t Trunk) {
	switch {
	case t.Username != "" && t.PasswordFile == "":
		v.add(p+".password_file", "is required with username")
	case t.Username == "" && t.PasswordFile != "":
		v.add(p+".username", "is required with password_file")
	case t.PasswordFile != "":
		switch pw, err := readToken(t.PasswordFile); {
		case err != nil:
			v.add(p+".password_file", "cannot read: %s", pathErr(err))
		case pw == "":
			v.add(p+".password_file", "%s is empty", t.PasswordFile)
		}
	}
	if t.Register && t.Username == "" {
		v.add(p+".register", "needs username and password_file (the carrier's registrar challenges)")
	}
	if t.Username != "" && strings.ContainsAny(t.Username, " \t\"<>@") {
		v.add(p+".username", "%q: must not contain spaces, quotes, <, > or @", t.Username)
	}
}

// checkTrunkAddress accepts host, host:port, [v6], [v6]:port, where host is
// an IP address or a DNS name.
func checkTrunkAddress(s string) error {
	host, port := s, ""
	if h, pt, err := net.SplitHostPort(s); err == nil {
		host, port = h, pt
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	}
	if host == "" {
		return fmt.Errorf("want host[:port], the host is missing")
	}
	if err := checkHost(host); err != nil {
		return err
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("invalid port %q", port)
		}
	}
	return nil
}

func (v *validator) dns() {
	d := v.c.DNS
	for i, s := range d.Servers {
		if _, err := netip.ParseAddr(s); err == nil {
			continue
		}
		if err := checkHostPort(s, true, false); err != nil {
			v.add(fmt.Sprintf("dns.servers[%d]", i), "%q: %v (want an IP or IP:port)", s, err)
		}
	}
	if d.Timeout < 0 || d.Timeout > 30*time.Second {
		v.add("dns.timeout", "%s: want between 0 (default 1s) and 30s", d.Timeout)
	}
}
