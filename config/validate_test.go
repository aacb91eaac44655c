package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestValidateEachProblem(t *testing.T) {
	tests := []struct {
		name   string
		yaml   string
		field  string
		line   int
		reason string // a part of Problem.Reason
	}{
		{"no listeners", "sip:\n  listen: []\n", "sip.listen", 2, "at least one"},
		{"listen scheme", "sip:\n  listen:\n    - udp://127.0.0.1:5060\n    - sctp://127.0.0.1:5060\n", "sip.listen[1]", 4, `unknown scheme "sctp"`},
		{"listen without scheme", "sip:\n  listen: [127.0.0.1:5060]\n", "sip.listen[0]", 2, "missing scheme"},
		{"listen without port", "sip:\n  listen:\n    - tcp://127.0.0.1\n", "sip.listen[0]", 3, "want host:port"},
		{"listen bad host", "sip:\n  listen: [\"udp://bad host:5060\"]\n", "sip.listen[0]", 2, "invalid host"},
		{"tls without cert", "sip:\n  listen: [tls://127.0.0.1:5061]\n  tls: {key: /dev/null}\n", "sip.tls.cert", 3, "required by the TLS listener sip.listen[0]"},
		{"wss without key", "sip:\n  listen: [wss://127.0.0.1:8443]\n  tls:\n    cert: /dev/null\n", "sip.tls.key", 3, "required by the TLS listener"},
		{"tls cert missing", "sip:\n  listen: [tls://127.0.0.1:5061]\n  tls:\n    cert: /nonexistent/cert.pem\n    key: /dev/null\n", "sip.tls.cert", 4, "no such file"},
		{"tls key without cert", "sip:\n  tls:\n    key: /dev/null\n", "sip.tls.cert", 2, "set without the other"},
		{"advertise with scheme", "sip:\n  advertise: sip://pbx.example.com\n", "sip.advertise", 2, "without a scheme"},
		{"advertise bad port", "sip:\n  advertise: pbx.example.com:99999\n", "sip.advertise", 2, "invalid port"},
		{"advertise bad host", "sip:\n  advertise: pbx..example.com\n", "sip.advertise", 2, "want host[:port]"},
		{"no auth algorithms", "sip:\n  auth_algorithms: []\n", "sip.auth_algorithms", 2, "at least one"},
		{"unknown auth algorithm", "sip:\n  auth_algorithms:\n    - MD5\n    - SHA-512\n", "sip.auth_algorithms[1]", 4, `unknown algorithm "SHA-512"`},
		{"duplicate auth algorithm", "sip:\n  auth_algorithms: [SHA-256, MD5, SHA-256]\n", "sip.auth_algorithms[2]", 2, "duplicate"},
		{"min_expires below 1s", "sip:\n  min_expires: 500ms\n", "sip.min_expires", 2, "at least 1s"},
		{"default below min", "sip:\n  min_expires: 120\n  default_expires: 60\n", "sip.default_expires", 3, "below min_expires"},
		{"max below default", "sip:\n  default_expires: 3600\n  max_expires: 1800\n", "sip.max_expires", 3, "below default_expires"},
		{"negative udp buffer", "sip:\n  udp_read_buffer: -1\n", "sip.udp_read_buffer", 2, "negative"},
		{"park slots negative", "sip:\n  park:\n    slots: -1\n", "sip.park.slots", 3, "0 (park off) to 100"},
		{"park slot one digit", "sip:\n  park:\n    first_slot: 1\n", "sip.park.first_slot", 3, "2-8 digits"},
		{"park timeout short", "sip:\n  park:\n    timeout: 500ms\n", "sip.park.timeout", 3, "between 1s and 1h"},
		{"media address not IP", "media:\n  address: localhost\n", "media.address", 2, "not an IP"},
		{"media ports syntax", "media:\n  ports: 20000\n", "media.ports", 2, "want lo-hi"},
		{"media ports reversed", "media:\n  ports: 30000-20001\n", "media.ports", 2, "lo < hi"},
		{"media ports privileged", "media:\n  ports: 80-1001\n", "media.ports", 2, "1024 <= lo"},
		{"media ports odd start", "media:\n  ports: 20001-20999\n", "media.ports", 2, "lo even"},
		{"media prompts missing", "media:\n  prompts: /nonexistent/prompts\n", "media.prompts", 2, "no such file"},
		{"media prompts not a folder", "media:\n  prompts: /dev/null\n", "media.prompts", 2, "not a folder"},
		{"http listen no port", "http:\n  listen: 127.0.0.1\n", "http.listen", 2, "want host:port"},
		{"admin token and file", "http:\n  admin_token: x\n  admin_token_file: testdata/admin.token\n", "http.admin_token", 2, "set only one"},
		{"admin token file not regular", "http:\n  admin_token_file: /dev/zero\n", "http.admin_token_file", 2, "not a regular file"},
		{"admin token file missing", "http:\n  admin_token_file: /nonexistent/token\n", "http.admin_token_file", 2, "cannot read"},
		{"redis scheme", "store:\n  redis: memcached://127.0.0.1:11211\n", "store.redis", 2, "unknown scheme"},
		{"redis no host", "store:\n  redis: \"redis:///0\"\n", "store.redis", 2, "host is missing"},
		{"redis bad db hides password", "store:\n  redis: redis://:hunter2@127.0.0.1:6379/x\n", "store.redis", 2, `"redis://:xxxxx@127.0.0.1:6379/x": database "x"`},
		{"redis unix no path", "store:\n  redis: unix://\n", "store.redis", 2, "socket path"},
		{"trunk without name", "trunks:\n  - address: 192.0.2.1:5060\n", "trunks[0].name", 2, "required"},
		{"trunk duplicate name", "trunks:\n  - name: a\n    address: 192.0.2.1:5060\n  - name: a\n    address: 192.0.2.2:5060\n", "trunks[1].name", 4, "duplicate trunk name"},
		{"trunk without address", "trunks:\n  - name: a\n", "trunks[0].address", 2, "required"},
		{"trunk address bad name", "trunks:\n  - name: a\n    address: carrier..example\n", "trunks[0].address", 3, "invalid host"},
		{"trunk address bad port", "trunks:\n  - name: a\n    address: carrier.example:0\n", "trunks[0].address", 3, "invalid port"},
		{"trunk transport", "trunks:\n  - name: a\n    address: carrier.example\n    transport: sctp\n", "trunks[0].transport", 4, `unknown transport "sctp"`},
		{"trunk username without password", "trunks:\n  - name: a\n    address: carrier.example\n    username: u\n", "trunks[0].password_file", 2, "required with username"},
		{"trunk password without username", "trunks:\n  - name: a\n    address: carrier.example\n    password_file: testdata/admin.token\n", "trunks[0].username", 2, "required with password_file"},
		{"trunk password file missing", "trunks:\n  - name: a\n    address: carrier.example\n    username: u\n    password_file: /nonexistent/secret\n", "trunks[0].password_file", 5, "cannot read"},
		{"trunk register without credentials", "trunks:\n  - name: a\n    address: carrier.example\n    register: true\n", "trunks[0].register", 4, "needs username"},
		{"trunk priority", "trunks:\n  - name: a\n    address: carrier.example\n    priority: -1\n", "trunks[0].priority", 4, "want 0 to 65535"},
		{"trunk weight", "trunks:\n  - name: a\n    address: carrier.example\n    weight: 70000\n", "trunks[0].weight", 4, "want 0 to 65535"},
		{"trunk probe", "trunks:\n  - name: a\n    address: carrier.example\n    probe: 10ms\n", "trunks[0].probe", 4, "between 100ms and 1h"},
		{"trunk max_calls", "trunks:\n  - name: a\n    address: carrier.example\n    max_calls: -3\n", "trunks[0].max_calls", 4, "negative"},
		{"trunk number_format", "trunks:\n  - name: a\n    address: carrier.example\n    number_format: e123\n", "trunks[0].number_format", 4, `unknown format "e123"`},
		{"trunk fail_after", "trunks:\n  - name: a\n    address: carrier.example\n    fail_after: 2m\n", "trunks[0].fail_after", 4, "between 50ms and 60s"},
		{"trunk did_from", "trunks:\n  - name: a\n    address: carrier.example\n    did_from: from\n", "trunks[0].did_from", 4, `unknown source "from"`},
		{"trunk register_expires", "trunks:\n  - name: a\n    address: carrier.example\n    register_expires: 1s\n", "trunks[0].register_expires", 4, "between 2s and 24h"},
		{"dns server", "dns:\n  servers: [\"not a server\"]\n", "dns.servers[0]", 2, "want an IP or IP:port"},
		{"dns timeout", "dns:\n  timeout: 1m\n", "dns.timeout", 2, "between 0"},
		{"trunk address no host", "trunks:\n  - name: a\n    address: :5060\n", "trunks[0].address", 3, "host is missing"},
		{"trunk bad CIDR", "trunks:\n  - name: a\n    address: 192.0.2.1:5060\n    inbound_from:\n      - 192.0.2.0/24\n      - 10.0.0.0/33\n", "trunks[0].inbound_from[1]", 6, "not a CIDR"},
		{"log level", "log:\n  level: verbose\n", "log.level", 2, `unknown level "verbose"`},
		{"log format", "log: {format: xml}\n", "log.format", 1, `unknown format "xml"`},
		{"negative shutdown timeout", "shutdown_timeout: -5s\n", "shutdown_timeout", 1, "negative"},
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
			if p.File != path || p.Line != tt.line || p.Field != tt.field || !strings.Contains(p.Reason, tt.reason) {
				t.Errorf("Validate() = %q, want %s:%d: %s: …%s…", p, path, tt.line, tt.field, tt.reason)
			}
		})
	}
}

func TestValidateValid(t *testing.T) {
	tests := []struct{ name, yaml string }{
		{"ipv6 everywhere", "sip:\n  listen: [\"udp://[::1]:5060\"]\n  advertise: \"::1\"\nmedia: {address: \"::1\"}\nhttp: {listen: \"[::1]:0\"}\n"},
		{"advertise bracketed IPv6 with port", "sip: {advertise: \"[2001:db8::1]:5060\"}\n"},
		{"advertise host name", "sip: {advertise: pbx.example.com}\n"},
		{"expires all equal", "sip: {min_expires: 300, default_expires: 5m, max_expires: 300s}\n"},
		{"redis URLs", "store: {redis: \"rediss://user:pw@redis.example:6380/1\"}\n"},
		{"redis sentinel", "store: {redis: \"redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster\"}\n"},
		{"redis unix", "store: {redis: \"unix:///run/redis.sock\"}\n"},
		{"redis cluster", "store: {redis: \"redis-cluster://u:pw@10.0.0.1:6379,10.0.0.2:6379\"}\n"},
		{"trunk with IPv6 and bare IPs", "trunks:\n  - name: a\n    address: \"[2001:db8::5]:5060\"\n    inbound_from: [192.0.2.7, \"2001:db8::/32\"]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(writeConfig(t, tt.yaml))
			if err != nil {
				t.Fatalf("Load = %v", err)
			}
			if probs := c.Validate(); len(probs) != 0 {
				t.Errorf("Validate() = %v, want no problems", probs)
			}
		})
	}
}

func TestValidateSeveral(t *testing.T) {
	const f = "testdata/several.yaml"
	c, err := Load(f)
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	want := Problems{
		{File: f, Line: 4, Field: "sip.listen[1]", Reason: `listen URL "sctp://127.0.0.1:5060": unknown scheme "sctp" (want udp, tcp, tls, ws or wss)`},
		{File: f, Line: 5, Field: "sip.auth_algorithms[1]", Reason: `unknown algorithm "SHA-512" (want MD5 or SHA-256)`},
		{File: f, Line: 6, Field: "sip.min_expires", Reason: "must be at least 1s, got 0s"},
		{File: f, Line: 8, Field: "media.address", Reason: `"localhost" is not an IP address`},
		{File: f, Line: 9, Field: "media.ports", Reason: `port range "20000-10000": want 1024 <= lo < hi <= 65535`},
		{File: f, Line: 11, Field: "http.listen", Reason: `"127.0.0.1": want host:port`},
		{File: f, Line: 13, Field: "store.redis", Reason: `"memcached://127.0.0.1": unknown scheme "memcached" (want redis, rediss, redis-sentinel, redis-cluster or unix)`},
		{File: f, Line: 16, Field: "trunks[0].address", Reason: `"carrier..example": invalid host "carrier..example"`},
		{File: f, Line: 17, Field: "trunks[0].inbound_from[0]", Reason: `"10.0.0.0/33" is not a CIDR or IP address`},
		{File: f, Line: 18, Field: "trunks[1].name", Reason: `duplicate trunk name "carrier" (also trunks[0])`},
		{File: f, Line: 21, Field: "log.level", Reason: `unknown level "verbose" (want debug, info, warn or error)`},
		{File: f, Line: 22, Field: "log.format", Reason: `unknown format "xml" (want text or json)`},
	}
	if diff := cmp.Diff(want, c.Validate()); diff != "" {
		t.Errorf("Validate() mismatch (-want +got):\n%s", diff)
	}
}

func TestValidateSecurity(t *testing.T) {
	path := writeConfig(t, `security:
  window: 0s
  ban: 15m
  auth_failures_per_user: -1
  requests_per_second: -5
  scanners: ["friendly-scanner", ""]
`)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Validate().Error()
	for _, want := range []string{
		path + ":2: security.window: must be at least 1s",
		path + ":4: security.auth_failures_per_user: must not be negative",
		path + ":5: security.requests_per_second: must not be negative",
		"security.scanners[1]: an empty substring",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Validate() = %s\nwant it to contain %q", got, want)
		}
	}
	if c.Security.Ban != 15*time.Minute || c.Security.AuthFailureUsersPerIP != 10 {
		t.Errorf("Security = %+v, want ban 15m and the default users-per-IP", c.Security)
	}
}
