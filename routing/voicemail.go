package routing

import "github.com/switchboard/switchboard/dialplan"

// Mailbox names a mailbox of a tenant: a user's own or a shared one.
type Mailbox struct {
	Owner string // MailboxUser or MailboxShared
	ID    string // the user id or the tenant mailbox id
}

// Mailbox owners.
const (
	MailboxUser   = "user"
	MailboxShared = "mailbox"
)

// String is "user:john" or "mailbox:general", the key messages are stored under.
func (m Mailbox) String() string { return m.Owner + ":" + m.ID }

// Voicemail answers the call and records a message in a mailbox.
type Voicemail struct {
	Mailbox Mailbox
}

// VoicemailAccess answers a user's call to the feature codes and plays the
// retrieval menu: Own (*97) opens the caller's mailbox after its PIN, else
// (*98) the caller names a mailbox by its extension, then its PIN.
type VoicemailAccess struct {
	Own bool
}

func (Voicemail) step()       {}
func (VoicemailAccess) step() {}

// KindVoicemail labels plans that go straight to a mailbox or its menu.
const KindVoicemail = "voicemail"

// Feature codes a user dials.
const (
	CodeOwnMailbox = "*97"
	CodeAnyMailbox = "*98"
)

// featureCode plans the voicemail feature codes; ok is false for any other
// dialled string.
func (d *decider) featureCode() (Plan, bool) {
	switch d.call.Dialled {
	case CodeOwnMailbox:
		if vm := d.call.Caller.User.Voicemail; vm == nil || !vm.Enabled {
			return only(KindReject, rejectNotFound), true
		}
		return only(KindVoicemail, VoicemailAccess{Own: true}), true
	case CodeAnyMailbox:
		return only(KindVoicemail, VoicemailAccess{}), true
	}
	return Plan{}, false
}

// voicemailOf returns the user's mailbox step when its voicemail is on.
func voicemailOf(u *dialplan.User) (Step, bool) {
	if u.Voicemail == nil || !u.Voicemail.Enabled {
		return nil, false
	}
	return Voicemail{Mailbox: Mailbox{Owner: MailboxUser, ID: u.ID}}, true
}

// voicemailTarget plans a voicemail:ID target: a tenant mailbox first, else
// a user with voicemail.
func (d *decider) voicemailTarget(id string) (planned, bool) {
	if m, ok := d.view.Mailbox(id); ok {
		return planned{KindVoicemail, []Step{Voicemail{Mailbox: Mailbox{Owner: MailboxShared, ID: m.ID}}}}, true
	}
	if u, ok := d.view.User(id); ok {
		if st, ok := voicemailOf(u); ok {
			return planned{KindVoicemail, []Step{st}}, true
		}
	}
	return planned{}, false
}

// withVoicemail ends a user's plan in its mailbox instead of 480: the
// closing Reject becomes the Voicemail step, and a Ring that closed the
// plan also goes on when busy and rings for voicemail.after.
func withVoicemail(u *dialplan.User, p planned, forwarding bool) planned {
	st, ok := voicemailOf(u)
	if !ok {
		return p
	}
	steps := make([]Step, 0, len(p.steps))
	for _, s := range p.steps {
		if _, reject := s.(Reject); reject {
			s = st
		}
		if r, ring := s.(Ring); ring && !forwarding {
			r.ContinueOn |= NoAnswer | Busy | Unavailable
			r.Timeout = u.Voicemail.After.D()
			if r.Timeout == 0 {
				r.Timeout = dialplan.DefaultVoicemailAfter.D()
			}
			s = r
		}
		steps = append(steps, s)
	}
	return planned{p.kind, steps}
}
