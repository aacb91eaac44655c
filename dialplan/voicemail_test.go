package dialplan

import (
	"errors"
	"strings"
	"testing"
)

func TestVoicemailProblems(t *testing.T) {
	const tp = "tenants[acme.example]"
	tests := []struct {
		name      string
		yaml      string
		wantLine  int
		wantField string
		wantIn    string
	}{
		{"pin required", "        voicemail: {enabled: true}\n", 8, tp + ".users[alice].voicemail.pin", "required"},
		{"pin digits", "        voicemail: {enabled: true, pin: 12ab}\n", 8, tp + ".users[alice].voicemail.pin", "4-10 digits"},
		{"mailbox notify", "    mailboxes:\n      - id: general\n        pin: \"1234\"\n        notify: [bob]\n", 11, tp + ".mailboxes[general].notify[0]", `"bob" is not a user id`},
		{"mailbox is a user id", "    mailboxes:\n      - id: alice\n        pin: \"1234\"\n", 9, tp + ".mailboxes[alice].id", "already a user id"},
		{"voicemail target unknown", "    numbers:\n      \"+14155550100\": voicemail:nobody\n", 9, tp + ".numbers[+14155550100]", `no voicemail "nobody"`},
		{"voicemail target disabled", "        voicemail: {enabled: false}\n    numbers:\n      \"+14155550100\": voicemail:alice\n", 10, tp + ".numbers[+14155550100]", `no voicemail "alice"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(base+tt.yaml), "dir.yaml", LoadOptions{})
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Parse() error = %v, want Problems", err)
			}
			for _, p := range ps {
				if p.Field == tt.wantField && p.Line == tt.wantLine && strings.Contains(p.Reason, tt.wantIn) {
					return
				}
			}
			t.Errorf("Parse() = %v\nwant line %d %s: …%s…", ps, tt.wantLine, tt.wantField, tt.wantIn)
		})
	}
}

func TestVoicemailValidAndHashed(t *testing.T) {
	d, err := Parse([]byte(base+"        voicemail: {enabled: true, pin: \"4321\", after: 15s}\n"+
		"    mailboxes:\n      - id: general\n        pin: \"1234\"\n        notify: [alice]\n"+
		"    numbers:\n      \"+14155550100\": voicemail:general\n      \"+14155550199\": voicemail:alice\n"), "dir.yaml", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tn := d.Tenants[0]
	vm, mb := tn.Users[0].Voicemail, tn.Mailboxes[0]
	if vm.PIN != "" || mb.PIN != "" {
		t.Errorf("plaintext PINs kept: %q %q", vm.PIN, mb.PIN)
	}
	if !CheckPIN("acme.example", "user:alice", "4321", vm.PINHash) || CheckPIN("acme.example", "user:alice", "1234", vm.PINHash) {
		t.Errorf("user PIN hash %q does not check 4321 (only)", vm.PINHash)
	}
	if !CheckPIN("acme.example", "mailbox:general", "1234", mb.PINHash) {
		t.Errorf("mailbox PIN hash %q does not check", mb.PINHash)
	}
	if tg, err := ParseTarget("voicemail:general"); err != nil || tg.Kind != TargetVoicemail {
		t.Errorf("ParseTarget(voicemail:general) = %v, %v", tg, err)
	}
	if vm.After.D().Seconds() != 15 {
		t.Errorf("after = %v, want 15s", vm.After)
	}
}
