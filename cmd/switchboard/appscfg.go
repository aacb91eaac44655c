package main

import (
	"github.com/switchboard/switchboard/apps"
	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/mailbox"
)

// appsConfig is what the B2BUA applications take from the configuration.
func appsConfig(cfg config.Config, mail mailbox.Store) apps.Config {
	vm := cfg.Voicemail
	return apps.Config{
		Prompts:          cfg.Media.Prompts,
		ScreeningTimeout: cfg.Media.ScreeningTimeout,
		Mailboxes:        mail,
		Voicemail: apps.VoicemailConfig{
			MaxMessage: vm.MaxMessage,
			Silence:    vm.Silence,
			Limits:     mailbox.Limits{MaxMessages: vm.MaxMessages, MaxBytes: int64(vm.MaxBytes)},
		},
	}
}
