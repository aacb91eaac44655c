package config

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestEnvVars(t *testing.T) {
	want := []string{
		"SWITCHBOARD_SIP_LISTEN", "SWITCHBOARD_SIP_ADVERTISE", "SWITCHBOARD_SIP_TLS_CERT", "SWITCHBOARD_SIP_TLS_KEY",
		"SWITCHBOARD_SIP_REALM", "SWITCHBOARD_SIP_DEFAULT_TENANT", "SWITCHBOARD_SIP_AUTH_ALGORITHMS",
		"SWITCHBOARD_SIP_MIN_EXPIRES", "SWITCHBOARD_SIP_MAX_EXPIRES", "SWITCHBOARD_SIP_DEFAULT_EXPIRES",
		"SWITCHBOARD_SIP_UDP_READ_BUFFER",
		"SWITCHBOARD_SIP_KEEPALIVE",
		"SWITCHBOARD_SIP_PARK_TIMEOUT",
		"SWITCHBOARD_SIP_PARK_FIRST_SLOT",
		"SWITCHBOARD_SIP_PARK_SLOTS",
		"SWITCHBOARD_MEDIA_ADDRESS", "SWITCHBOARD_MEDIA_PORTS", "SWITCHBOARD_MEDIA_PROMPTS",
		"SWITCHBOARD_MEDIA_INACTIVITY", "SWITCHBOARD_MEDIA_SCREENING_TIMEOUT", "SWITCHBOARD_MEDIA_SCREENING_RING",
		"SWITCHBOARD_VOICEMAIL_MAX_MESSAGE", "SWITCHBOARD_VOICEMAIL_SILENCE", "SWITCHBOARD_VOICEMAIL_MAX_MESSAGES", "SWITCHBOARD_VOICEMAIL_MAX_BYTES", "SWITCHBOARD_VOICEMAIL_UNSOLICITED_MWI",
		"SWITCHBOARD_HTTP_LISTEN", "SWITCHBOARD_HTTP_ADMIN_TOKEN", "SWITCHBOARD_HTTP_ADMIN_TOKEN_FILE", "SWITCHBOARD_HTTP_PUBLIC_URL",
		"SWITCHBOARD_STORE_REDIS", "SWITCHBOARD_STORE_TIMEOUT", "SWITCHBOARD_DIRECTORY",
		"SWITCHBOARD_DNS_SERVERS", "SWITCHBOARD_DNS_TIMEOUT",
		"SWITCHBOARD_LOG_LEVEL", "SWITCHBOARD_LOG_FORMAT", "SWITCHBOARD_SHUTDOWN_TIMEOUT",
		"SWITCHBOARD_SECURITY_WINDOW", "SWITCHBOARD_SECURITY_BAN", "SWITCHBOARD_SECURITY_AUTH_FAILURES_PER_USER",
		"SWITCHBOARD_SECURITY_AUTH_FAILURE_USERS_PER_IP", "SWITCHBOARD_SECURITY_REQUESTS_PER_SECOND",
		"SWITCHBOARD_SECURITY_SCANNERS",
		"SWITCHBOARD_SMTP_SERVER", "SWITCHBOARD_SMTP_FROM", "SWITCHBOARD_SMTP_USERNAME", "SWITCHBOARD_SMTP_PASSWORD_FILE", "SWITCHBOARD_SMTP_STARTTLS",
	}
	if diff := cmp.Diff(want, EnvVars()); diff != "" {
		t.Errorf("EnvVars() mismatch (-want +got):\n%s", diff)
	}
}

func TestApplyEnv(t *testing.T) {
	base, err := Load("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		env   []string
		check func(c Config) (got, want any)
	}{
		{"list", []string{"SWITCHBOARD_SIP_LISTEN= udp://0.0.0.0:5060 ,tcp://0.0.0.0:5060,"},
			func(c Config) (any, any) { return c.SIP.Listen, []string{"udp://0.0.0.0:5060", "tcp://0.0.0.0:5060"} }},
		{"realm", []string{"SWITCHBOARD_SIP_REALM=acme.example"}, func(c Config) (any, any) { return c.SIP.Realm, "acme.example" }},
		{"default tenant", []string{"SWITCHBOARD_SIP_DEFAULT_TENANT=acme.example"}, func(c Config) (any, any) { return c.SIP.DefaultTenant, "acme.example" }},
		{"auth algorithms", []string{"SWITCHBOARD_SIP_AUTH_ALGORITHMS=MD5"}, func(c Config) (any, any) { return c.SIP.AuthAlgorithms, []string{"MD5"} }},
		{"duration, seconds", []string{"SWITCHBOARD_SIP_MAX_EXPIRES=600"}, func(c Config) (any, any) { return c.SIP.MaxExpires, 10 * time.Minute }},
		{"bytes", []string{"SWITCHBOARD_SIP_UDP_READ_BUFFER=1MiB"}, func(c Config) (any, any) { return c.SIP.UDPReadBuffer, 1 << 20 }},
		{"redis", []string{"SWITCHBOARD_STORE_REDIS=redis://127.0.0.1:6379/0"}, func(c Config) (any, any) { return c.Store.Redis, "redis://127.0.0.1:6379/0" }},
		{"media address", []string{"SWITCHBOARD_MEDIA_ADDRESS=10.0.0.5"}, func(c Config) (any, any) { return c.Media.Address, "10.0.0.5" }},
		{"log", []string{"SWITCHBOARD_LOG_LEVEL=debug", "SWITCHBOARD_LOG_FORMAT=json"}, func(c Config) (any, any) { return c.Log, LogConfig{"debug", "json"} }},
		{"empty clears", []string{"SWITCHBOARD_DIRECTORY="}, func(c Config) (any, any) { return c.Directory, "" }},
		{"other variables ignored", []string{"PATH=/bin", "SWITCHBOARD_NOPE=1", "SWITCHBOARD", "HOME"}, func(c Config) (any, any) { return c.SIP.Realm, "" }},
		{"last one wins", []string{"SWITCHBOARD_LOG_LEVEL=debug", "SWITCHBOARD_LOG_LEVEL=warn"}, func(c Config) (any, any) { return c.Log.Level, "warn" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			c.origins = nil // share nothing with base
			if err := ApplyEnv(&c, tt.env); err != nil {
				t.Fatalf("ApplyEnv = %v", err)
			}
			got, want := tt.check(c)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("after ApplyEnv(%q) mismatch (-want +got):\n%s", tt.env, diff)
			}
		})
	}
}

func TestApplyEnvProblems(t *testing.T) {
	c := Default()
	err := ApplyEnv(&c, []string{"SWITCHBOARD_SIP_MIN_EXPIRES=soon", "SWITCHBOARD_SHUTDOWN_TIMEOUT=5x", "SWITCHBOARD_LOG_LEVEL=debug"})
	want := Problems{
		{File: "env SWITCHBOARD_SIP_MIN_EXPIRES", Line: 0, Field: "sip.min_expires", Reason: `invalid duration "soon" (want e.g. 60s or a number of seconds)`},
		{File: "env SWITCHBOARD_SHUTDOWN_TIMEOUT", Line: 0, Field: "shutdown_timeout", Reason: `invalid duration "5x" (want e.g. 60s or a number of seconds)`},
	}
	if diff := cmp.Diff(want, problemsOf(t, err)); diff != "" {
		t.Errorf("ApplyEnv problems mismatch (-want +got):\n%s", diff)
	}
	if c.Log.Level != "debug" {
		t.Errorf("Log.Level = %q, want the valid variable applied too", c.Log.Level)
	}
}

// TestEnvOverridesFile checks that a value from the environment replaces the
// file's and that its problems then name the variable, not the file's line.
func TestEnvOverridesFile(t *testing.T) {
	path := writeConfig(t, "sip:\n  listen:\n    - udp://127.0.0.1:5060\n    - bad://x:1\nlog:\n  level: info\n  format: json\n")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := ApplyEnv(&c, []string{"SWITCHBOARD_SIP_LISTEN=tcp://127.0.0.1:5070,nope://y:2", "SWITCHBOARD_LOG_LEVEL=trace"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"tcp://127.0.0.1:5070", "nope://y:2"}, c.SIP.Listen); diff != "" {
		t.Errorf("SIP.Listen mismatch (-want +got):\n%s", diff)
	}
	want := Problems{
		{File: "env SWITCHBOARD_SIP_LISTEN", Line: 0, Field: "sip.listen[1]", Reason: `listen URL "nope://y:2": unknown scheme "nope" (want udp, tcp, tls, ws or wss)`},
		{File: "env SWITCHBOARD_LOG_LEVEL", Line: 0, Field: "log.level", Reason: `unknown level "trace" (want debug, info, warn or error)`},
	}
	if diff := cmp.Diff(want, c.Validate()); diff != "" {
		t.Errorf("Validate() mismatch (-want +got):\n%s", diff)
	}
	if c.Log.Format != "json" {
		t.Errorf("Log.Format = %q, want the file's json kept", c.Log.Format)
	}
}

func newFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func TestFromArgs(t *testing.T) {
	file := writeConfig(t, "sip:\n  realm: file.example\n  listen: [udp://127.0.0.1:5060]\nlog: {level: warn, format: json}\nstore: {redis: \"redis://file:6379\"}\n")
	tests := []struct {
		name string
		args []string
		env  []string
		want func(c *Config) // edits Default() into the expected Config
	}{
		{"no config: defaults", nil, nil, func(c *Config) {}},
		{"file", []string{"-config", file}, nil, func(c *Config) {
			c.File = file
			c.SIP.Realm = "file.example"
			c.SIP.Listen = []string{"udp://127.0.0.1:5060"}
			c.Log = LogConfig{"warn", "json"}
			c.Store.Redis = "redis://file:6379"
		}},
		{"env overrides file", []string{"-config", file}, []string{"SWITCHBOARD_SIP_REALM=env.example", "SWITCHBOARD_LOG_LEVEL=error"}, func(c *Config) {
			c.File = file
			c.SIP.Realm = "env.example"
			c.SIP.Listen = []string{"udp://127.0.0.1:5060"}
			c.Log = LogConfig{"error", "json"}
			c.Store.Redis = "redis://file:6379"
		}},
		{"flags override env", []string{"-config", file, "-realm", "flag.example", "-log-level=debug", "-sip-listen", "tcp://0.0.0.0:5060,ws://0.0.0.0:8088", "-redis="},
			[]string{"SWITCHBOARD_SIP_REALM=env.example", "SWITCHBOARD_LOG_LEVEL=error", "SWITCHBOARD_LOG_FORMAT=text"}, func(c *Config) {
				c.File = file
				c.SIP.Realm = "flag.example"
				c.SIP.Listen = []string{"tcp://0.0.0.0:5060", "ws://0.0.0.0:8088"}
				c.Log = LogConfig{"debug", "text"}
			}},
		{"every flag", []string{"-sip-listen=udp://:5060", "-advertise=pbx.example.com", "-realm=r", "-default-tenant=acme.example",
			"-media-address=10.0.0.1", "-http-listen=:9090", "-admin-token=t", "-redis=redis://r:6379", "-directory=d.yaml",
			"-log-level=error", "-log-format=json"}, nil, func(c *Config) {
			c.SIP.Listen = []string{"udp://:5060"}
			c.SIP.Advertise = "pbx.example.com"
			c.SIP.Realm = "r"
			c.SIP.DefaultTenant = "acme.example"
			c.Media.Address = "10.0.0.1"
			c.HTTP = HTTPConfig{Listen: ":9090", AdminToken: "t"}
			c.Store.Redis = "redis://r:6379"
			c.Directory = "d.yaml"
			c.Log = LogConfig{"error", "json"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromArgs(newFlagSet(), tt.args, tt.env)
			if err != nil {
				t.Fatalf("FromArgs = %v", err)
			}
			want := Default()
			tt.want(&want)
			if diff := cmp.Diff(want, got, ignoreOrigins); diff != "" {
				t.Errorf("FromArgs(%q) mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func TestFromArgsProblems(t *testing.T) {
	file := writeConfig(t, "sip:\n  listen: [udp://127.0.0.1:5060]\n  lisen: []\nlog:\n  level: loud\nmedia:\n  ports: 1-2\n")
	_, err := FromArgs(newFlagSet(), []string{"-config", file, "-log-format", "xml"},
		[]string{"SWITCHBOARD_SIP_LISTEN=udp://127.0.0.1:5060,bad", "SWITCHBOARD_SIP_MIN_EXPIRES=never"})
	want := []string{
		file + ":3: sip.lisen: unknown field (did you mean listen?)",
		file + ":5: log.level: unknown level \"loud\" (want debug, info, warn or error)",
		file + ":7: media.ports: port range \"1-2\": want 1024 <= lo < hi <= 65535",
		"env SWITCHBOARD_SIP_LISTEN: sip.listen[1]: listen URL \"bad\": missing scheme (want udp://, tcp://, tls://, ws:// or wss://)",
		"env SWITCHBOARD_SIP_MIN_EXPIRES: sip.min_expires: invalid duration \"never\" (want e.g. 60s or a number of seconds)",
		"flag -log-format: log.format: unknown format \"xml\" (want text or json)",
	}
	if err == nil {
		t.Fatal("FromArgs = nil error, want problems")
	}
	if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("FromArgs problems mismatch (-want +got):\n%s", diff)
	}
}

func TestFromArgsFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-nope"}, "flag provided but not defined: -nope"},
		{"help", []string{"-h"}, flag.ErrHelp.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromArgs(newFlagSet(), tt.args, nil)
			if err == nil || err.Error() != tt.want {
				t.Errorf("FromArgs(%q) = %v, want %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestFromArgsExistingConfigFlag(t *testing.T) {
	fs := newFlagSet()
	path := fs.String("config", "", "")
	c, err := FromArgs(fs, []string{"-config", "testdata/example.yaml", "extra"}, nil)
	if err != nil {
		t.Fatalf("FromArgs = %v", err)
	}
	if c.File != *path || c.File != "testdata/example.yaml" {
		t.Errorf("File = %q, want the caller's -config %q", c.File, *path)
	}
	if diff := cmp.Diff([]string{"extra"}, fs.Args()); diff != "" {
		t.Errorf("fs.Args() mismatch (-want +got):\n%s", diff)
	}
}

func TestBindFlagsHelp(t *testing.T) {
	c := Default()
	fs := newFlagSet()
	c.BindFlags(fs)
	var b strings.Builder
	fs.SetOutput(&b)
	fs.PrintDefaults()
	for _, want := range []string{"-sip-listen URLs", "(default udp://127.0.0.1:5060,tcp://127.0.0.1:5060)", "-log-level level", "-admin-token token"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("PrintDefaults() = %s\nwant it to contain %q", b.String(), want)
		}
	}
}
