package config

import "time"

// VoicemailConfig configures recording and the message-waiting lamps.
type VoicemailConfig struct {
	// MaxMessage bounds one message; 0 = 3m.
	MaxMessage time.Duration `yaml:"max_message"`
	// Silence after speech that ends a message; 0 = 5s.
	Silence time.Duration `yaml:"silence"`
	// MaxMessages and MaxBytes cap each mailbox; 0 = 100 messages, 50 MiB.
	MaxMessages int `yaml:"max_messages"`
	MaxBytes    int `yaml:"max_bytes"`
	// UnsolicitedMWI sends message-summary NOTIFYs to the registered
	// devices of users whose phones never subscribe.
	UnsolicitedMWI bool `yaml:"unsolicited_mwi"`
}

func (v *validator) voicemail() {
	vm := v.c.Voicemail
	if vm.MaxMessage < 0 {
		v.add("voicemail.max_message", "%s: must not be negative", vm.MaxMessage)
	}
	if vm.Silence < 0 {
		v.add("voicemail.silence", "%s: must not be negative", vm.Silence)
	}
	if vm.MaxMessages < 0 {
		v.add("voicemail.max_messages", "%d: must not be negative", vm.MaxMessages)
	}
	if vm.MaxBytes < 0 {
		v.add("voicemail.max_bytes", "%d: must not be negative", vm.MaxBytes)
	}
}
