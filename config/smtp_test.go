package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateSMTP(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "smtp.secret")
	if err := os.WriteFile(secret, []byte("  s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		yaml   string
		field  string // "" = valid
		line   int
		reason string // a part of Problem.Reason
	}{
		{"off", "smtp: {}\n", "", 0, ""},
		{"plain relay", "smtp:\n  server: 127.0.0.1:25\n  from: pbx@example.com\n", "", 0, ""},
		{"authenticated", "smtp:\n  server: smtp.example.com:587\n  from: \"PBX <pbx@example.com>\"\n  username: pbx\n  password_file: " + secret + "\n  starttls: true\nhttp: {public_url: \"https://pbx.example.com/\"}\n", "", 0, ""},
		{"from without server", "smtp:\n  from: pbx@example.com\n", "smtp.server", 1, "required when any other smtp setting"},
		{"server without port", "smtp:\n  server: smtp.example.com\n  from: pbx@example.com\n", "smtp.server", 2, "want host:port"},
		{"server without host", "smtp:\n  server: \":25\"\n  from: pbx@example.com\n", "smtp.server", 2, "host is missing"},
		{"missing from", "smtp:\n  server: smtp.example.com:587\n", "smtp.from", 1, "required"},
		{"bad from", "smtp:\n  server: smtp.example.com:587\n  from: not an address\n", "smtp.from", 3, "not an email address"},
		{"username without password", "smtp:\n  server: smtp.example.com:587\n  from: pbx@example.com\n  username: pbx\n", "smtp.password_file", 1, "required with smtp.username"},
		{"password without username", "smtp:\n  server: smtp.example.com:587\n  from: pbx@example.com\n  password_file: " + secret + "\n", "smtp.username", 1, "required with smtp.password_file"},
		{"unreadable password file", "smtp:\n  server: smtp.example.com:587\n  from: pbx@example.com\n  username: pbx\n  password_file: /nonexistent/smtp.secret\n", "smtp.password_file", 5, "cannot read"},
		{"public url without scheme", "http:\n  public_url: pbx.example.com\n", "http.public_url", 2, "want an http:// or https:// URL"},
		{"public url with fragment", "http:\n  public_url: \"https://pbx.example.com/#x\"\n", "http.public_url", 2, "no query or fragment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.yaml)
			c, err := Load(path)
			if err != nil {
				t.Fatalf("Load = %v", err)
			}
			probs := c.Validate()
			if tt.field == "" {
				if len(probs) != 0 {
					t.Errorf("Validate() = %v, want no problems", probs)
				}
				return
			}
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

func TestSMTPPassword(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "smtp.secret")
	if err := os.WriteFile(secret, []byte("  s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if pw, err := (SMTPConfig{PasswordFile: secret}).Password(); err != nil || pw != "s3cret" {
		t.Errorf("Password() = %q, %v, want s3cret", pw, err)
	}
	if pw, err := (SMTPConfig{}).Password(); err != nil || pw != "" {
		t.Errorf("Password() without a file = %q, %v, want empty", pw, err)
	}
	if _, err := (SMTPConfig{PasswordFile: "/nonexistent/x"}).Password(); err == nil {
		t.Error("Password() of a missing file = nil error")
	}
}
