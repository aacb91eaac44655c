package routing

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/location"
)

const vmDirectory = `tenants:
  - domain: acme.example
    main_number: "+14155550100"
    users:
      - {id: alice, extensions: ["7001"], password: a}
      - id: vic
        extensions: ["7020"]
        password: v
        voicemail: {enabled: true, pin: "1234", after: 12s}
      - id: fred
        extensions: ["7021"]
        password: f
        voicemail: {enabled: true, pin: "1234"}
        forward: {number: "+14085550021", when: no_answer, after: 15s, screening: true}
    mailboxes:
      - {id: general, pin: "4321", notify: [alice]}
    numbers:
      "+14155550100": "voicemail:general"
      "+14155550120": "user:vic"
`

func TestVoicemailPlans(t *testing.T) {
	d, err := dialplan.Parse([]byte(vmDirectory), "vm.yaml", dialplan.LoadOptions{KeepPasswords: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := dialplan.Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	view, _ := s.Tenant("acme.example")
	alice, _ := view.User("alice")
	vic, _ := view.User("vic")
	phone := location.Binding{AOR: "vic@acme.example", Contact: "sip:vic@192.0.2.20:5060"}
	fredPhone := location.Binding{AOR: "fred@acme.example", Contact: "sip:fred@192.0.2.21:5060"}
	opts := func(bs ...location.Binding) Options {
		return Options{Trunks: []string{"carrier"}, DefaultRing: 30 * time.Second, Contacts: func(aor string) []location.Binding {
			var out []location.Binding
			for _, b := range bs {
				if b.AOR == aor {
					out = append(out, b)
				}
			}
			return out
		}}
	}
	vicBox := Voicemail{Mailbox: Mailbox{Owner: MailboxUser, ID: "vic"}}
	fredBox := Voicemail{Mailbox: Mailbox{Owner: MailboxUser, ID: "fred"}}
	tests := []struct {
		name   string
		caller Caller
		dial   string
		opts   Options
		want   []Step
	}{
		{"nobody registered: straight to voicemail", Caller{User: alice}, "7020", opts(), []Step{vicBox}},
		{"rings after, then voicemail on no answer, busy or unreachable", Caller{User: alice}, "7020", opts(phone), []Step{
			Ring{Contacts: []Contact{{AOR: "vic@acme.example", Binding: phone}}, Timeout: 12 * time.Second, ContinueOn: NoAnswer | Busy | Unavailable},
			vicBox}},
		{"carrier call to the direct number", Caller{Trunk: "carrier", Number: "+14085551234"}, "+14155550120", opts(), []Step{vicBox}},
		{"the forward first, voicemail after it (a declined screening too)", Caller{User: alice}, "7021", opts(fredPhone), []Step{
			Ring{Contacts: []Contact{{AOR: "fred@acme.example", Binding: fredPhone}}, Timeout: 15 * time.Second, ContinueOn: NoAnswer | Unavailable},
			Forward{Trunk: "carrier", Number: "+14085550021", Screening: true, DivertedBy: "7021", Reason: ReasonNoAnswer, ContinueOn: anyOutcome},
			fredBox}},
		{"voicemail:general", Caller{Trunk: "carrier", Number: "+14085551234"}, "+14155550100", opts(), []Step{
			Voicemail{Mailbox: Mailbox{Owner: MailboxShared, ID: "general"}}}},
		{"*97 with voicemail", Caller{User: vic}, "*97", opts(), []Step{VoicemailAccess{Own: true}}},
		{"*97 without voicemail", Caller{User: alice}, "*97", opts(), []Step{rejectNotFound}},
		{"*98", Caller{User: alice}, "*98", opts(), []Step{VoicemailAccess{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Decide(Call{Caller: tt.caller, Dialled: tt.dial}, view, tt.opts)
			// Caller IDs are covered by the golden table.
			for i, st := range p.Steps {
				if f, ok := st.(Forward); ok {
					f.CallerID = CallerID{}
					p.Steps[i] = f
				}
			}
			if diff := cmp.Diff(tt.want, p.Steps); diff != "" {
				t.Errorf("Decide(%s) steps (-want +got):\n%s", tt.dial, diff)
			}
		})
	}
}
