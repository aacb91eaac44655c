package main

import (
	"github.com/switchboard/switchboard/admin"
	"github.com/switchboard/switchboard/config"
)

// inviteConfig turns the smtp: and http.public_url settings into what the
// admin API sends invitations with; without smtp.server they stay off.
func inviteConfig(cfg config.Config) (admin.InviteConfig, error) {
	ic := admin.InviteConfig{PublicURL: cfg.HTTP.PublicURL, SIPServer: cfg.SIP.Advertise}
	s := cfg.SMTP
	if !s.Enabled() {
		return ic, nil
	}
	pw, err := s.Password()
	if err != nil {
		return ic, err
	}
	m, err := admin.NewSMTPMailer(admin.SMTPConfig{Server: s.Server, From: s.From, Username: s.Username, Password: pw, StartTLS: s.StartTLS})
	if err != nil {
		return ic, err
	}
	ic.Mailer = m
	return ic, nil
}
