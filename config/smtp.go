package config

import (
	"fmt"
	"net/mail"
	"net/url"
	"strings"
)

// SMTPConfig is the mail server switchboard sends invitations through
// (POST …/users/{id}/invite). With no Server, invitations are off and
// that endpoint answers 503.
type SMTPConfig struct {
	// Server is the submission server's host:port, e.g. "smtp.example.com:587".
	Server string `yaml:"server"`
	// From is the sender address, "PBX <pbx@example.com>" or a bare address.
	From string `yaml:"from"`
	// Username, when set, signs in with AUTH PLAIN and the password in
	// PasswordFile; net/smtp sends it only over TLS or to localhost.
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file" config:"path"`
	// StartTLS upgrades the connection with STARTTLS before signing in or
	// sending, and fails the send when the server does not offer it.
	StartTLS bool `yaml:"starttls"`
}

// Enabled reports whether invitations can be sent.
func (s SMTPConfig) Enabled() bool { return s.Server != "" }

// Password reads PasswordFile (surrounding space trimmed); "" without one.
func (s SMTPConfig) Password() (string, error) {
	if s.PasswordFile == "" {
		return "", nil
	}
	pw, err := readToken(s.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("smtp password file %s: %w", s.PasswordFile, err)
	}
	return pw, nil
}

func (v *validator) smtp() {
	if u := v.c.HTTP.PublicURL; u != "" {
		if err := checkPublicURL(u); err != nil {
			v.add("http.public_url", "%v", err)
		}
	}
	s := v.c.SMTP
	if !s.Enabled() {
		if s.From != "" || s.Username != "" || s.PasswordFile != "" || s.StartTLS {
			v.add("smtp.server", "required when any other smtp setting is given (host:port, e.g. smtp.example.com:587)")
		}
		return
	}
	if err := checkHostPort(s.Server, true, false); err != nil {
		v.add("smtp.server", "%q: %v (e.g. smtp.example.com:587)", s.Server, err)
	}
	if s.From == "" {
		v.add("smtp.from", "required: the sender address of invitations, e.g. pbx@example.com")
	} else if _, err := mail.ParseAddress(s.From); err != nil {
		v.add("smtp.from", "%q: not an email address (want pbx@example.com or \"PBX <pbx@example.com>\")", s.From)
	}
	switch {
	case s.Username != "" && s.PasswordFile == "":
		v.add("smtp.password_file", "required with smtp.username")
	case s.Username == "" && s.PasswordFile != "":
		v.add("smtp.username", "required with smtp.password_file")
	case s.PasswordFile != "":
		switch pw, err := readToken(s.PasswordFile); {
		case err != nil:
			v.add("smtp.password_file", "cannot read: %s", pathErr(err))
		case pw == "":
			v.add("smtp.password_file", "%s is empty", s.PasswordFile)
		}
	}
}

// checkPublicURL accepts an http or https URL with a host and nothing after
// the path, since invitation links are built by appending to it.
func checkPublicURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("%q: not a URL (want e.g. https://pbx.example.com)", s)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: want an http:// or https:// URL", s)
	case u.Host == "":
		return fmt.Errorf("%q: the host is missing", s)
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "#"):
		return fmt.Errorf("%q: want no query or fragment", s)
	}
	return nil
}
