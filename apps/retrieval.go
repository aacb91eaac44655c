package apps

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/mailbox"
	"github.com/switchboard/switchboard/media"
	"github.com/switchboard/switchboard/routing"
	"github.com/switchboard/switchboard/sip"
)

// pinTries is how many wrong PINs (or unknown mailbox numbers) a caller
// gets before being hung up.
const pinTries = 3

// keyTimeout is how long the retrieval menu waits for a key after a prompt,
// and between the digits of a PIN or mailbox number.
const keyTimeout = 6 * time.Second

// maxGreeting bounds a greeting recorded from the phone.
const maxGreeting = time.Minute

// retrieve is the mailbox menu of *97 (own mailbox) and *98 (any mailbox:
// its extension, then its PIN): "You have N new messages", then 1 play,
// 7 delete, 9 save, # next, 0 record greeting, * exit.
func (a *Apps) retrieve(ctx context.Context, c *sip.Call, st routing.VoicemailAccess) string {
	if a.mail == nil {
		a.playFully(ctx, c.Leg, "goodbye")
		return "no_mailbox"
	}
	view := c.View
	var m routing.Mailbox
	switch u := c.Caller.Caller.User; {
	case st.Own && u != nil:
		m = routing.Mailbox{Owner: routing.MailboxUser, ID: u.ID}
	default:
		for tries := 0; ; tries++ {
			if tries == pinTries {
				a.playFully(ctx, c.Leg, "goodbye")
				return "no_mailbox"
			}
			digits, end := a.collect(ctx, c.Leg, "vm-enter-mailbox")
			if end != "" {
				return end
			}
			if found, ok := mailboxByExtension(view, digits); ok {
				m = found
				break
			}
			if !a.playFully(ctx, c.Leg, "invalid") {
				return endReason(ctx, c.Leg)
			}
		}
	}
	box, _, _, ok := mailboxOf(view, m)
	if !ok {
		a.playFully(ctx, c.Leg, "goodbye")
		return "no_mailbox"
	}
	hash := pinHash(view, m)
	for tries := 0; ; tries++ {
		if tries == pinTries {
			a.log.Info("voicemail: wrong PIN, hanging up", "tenant", box.Tenant)
			a.playFully(ctx, c.Leg, "goodbye")
			return "wrong_pin"
		}
		pin, end := a.collect(ctx, c.Leg, "vm-enter-pin")
		if end != "" {
			return end
		}
		if dialplan.CheckPIN(box.Tenant, m.String(), pin, hash) {
			break
		}
		if !a.playFully(ctx, c.Leg, "vm-wrong-pin") {
			return endReason(ctx, c.Leg)
		}
	}
	return a.messages(ctx, c.Leg, box)
}

// messages runs the menu over a mailbox's messages, new ones first.
func (a *Apps) messages(ctx context.Context, l *sip.Leg, box mailbox.Box) string {
	msgs, err := a.mail.List(ctx, box)
	if err != nil {
		a.log.Warn("voicemail store unavailable", "tenant", box.Tenant, "error", err)
		a.playFully(ctx, l, "goodbye")
		return "store_error"
	}
	slices.SortStableFunc(msgs, func(x, y mailbox.Message) int {
		switch {
		case x.New == y.New:
			return 0
		case x.New:
			return -1
		}
		return 1
	})
	if !a.playSource(ctx, l, a.count(mailbox.CountsOf(msgs).New)) {
		return endReason(ctx, l)
	}
	var pending byte // a key pressed during a message, taken as the next choice
	for i, idle := 0, 0; ; {
		key := pending
		pending = 0
		if key == 0 {
			if i >= len(msgs) && !a.playFully(ctx, l, "vm-no-more") {
				return endReason(ctx, l)
			}
			pl := l.Play(ctx, a.prompt("vm-menu", "vm-menu"))
			k, res := waitKey(ctx, l, pl, keyTimeout)
			pl.Stop()
			switch res {
			case callerGone:
				return endReason(ctx, l)
			case timedOut:
				if idle++; idle == pinTries {
					a.playFully(ctx, l, "goodbye")
					return "voicemail_timeout"
				}
				continue
			}
			idle, key = 0, k
		}
		cur := i < len(msgs)
		switch {
		case key == '1' && cur:
			wav, err := a.mail.Audio(ctx, box, msgs[i].ID)
			if err != nil {
				a.log.Warn("voicemail message unreadable", "tenant", box.Tenant, "error", err)
				msgs = slices.Delete(msgs, i, i+1)
				continue
			}
			pcm, err := media.ReadWAV(bytes.NewReader(wav))
			if err != nil {
				a.log.Warn("voicemail message unreadable", "tenant", box.Tenant, "error", err)
				i++
				continue
			}
			pl := l.Play(ctx, media.NewPrompt("message", pcm))
			k, res := waitKey(ctx, l, pl, 0)
			pl.Stop()
			if res == callerGone {
				return endReason(ctx, l)
			}
			if res == gotKey {
				pending = k
			}
			if msgs[i].New {
				msgs[i].New = false
				a.mark(ctx, box, msgs[i].ID)
			}
		case key == '7' && cur:
			if err := a.mail.Delete(ctx, box, msgs[i].ID); err != nil {
				a.log.Warn("voicemail delete failed", "tenant", box.Tenant, "error", err)
			}
			msgs = slices.Delete(msgs, i, i+1)
			if !a.playFully(ctx, l, "vm-deleted") {
				return endReason(ctx, l)
			}
		case key == '9' && cur:
			a.mark(ctx, box, msgs[i].ID)
			msgs[i].New = false
			i++
		case key == '#' && cur:
			i++
		case key == '0':
			if end := a.recordGreeting(ctx, l, box); end != "" {
				return end
			}
		case key == '*':
			a.playFully(ctx, l, "goodbye")
			return "voicemail_exit"
		default:
			if !a.playFully(ctx, l, "invalid") {
				return endReason(ctx, l)
			}
		}
	}
}

func (a *Apps) mark(ctx context.Context, box mailbox.Box, id string) {
	if err := a.mail.SetNew(ctx, box, id, false); err != nil {
		a.log.Warn("voicemail mark failed", "tenant", box.Tenant, "error", err)
	}
}

// recordGreeting records the mailbox's greeting from the phone, until '#'.
func (a *Apps) recordGreeting(ctx context.Context, l *sip.Leg, box mailbox.Box) string {
	if !a.playFully(ctx, l, "vm-record-greeting") || !a.playSource(ctx, l, beep) {
		return endReason(ctx, l)
	}
	drain(l.Digits())
	pcm, end := a.record(ctx, l, maxGreeting)
	if end != "" {
		return end
	}
	if time.Duration(len(pcm))*time.Second/8000 < a.vm.MinMessage {
		return ""
	}
	if err := a.mail.SetGreeting(ctx, box, media.WAV(pcm)); err != nil {
		a.log.Warn("voicemail greeting not saved", "tenant", box.Tenant, "error", err)
		return ""
	}
	if !a.playFully(ctx, l, "vm-greeting-saved") {
		return endReason(ctx, l)
	}
	return ""
}

// count is "You have <n> new messages", n read digit by digit.
func (a *Apps) count(n int) media.Source {
	parts := []*media.Prompt{a.prompt("vm-you-have", "vm-you-have")}
	for _, d := range strconv.Itoa(n) {
		parts = append(parts, a.prompt("digit-"+string(d), "digit-0"))
	}
	return media.NewSequence(append(parts, a.prompt("vm-new-messages", "vm-new-messages"))...)
}

// collect plays a prompt (a key interrupts it) and reads digits until '#',
// or keyTimeout without a key. end is set when the caller left.
func (a *Apps) collect(ctx context.Context, l *sip.Leg, prompt string) (digits, end string) {
	pl := l.Play(ctx, a.prompt(prompt, prompt))
	key, res := waitKey(ctx, l, pl, keyTimeout)
	pl.Stop()
	var b []byte
	for {
		switch {
		case res == callerGone:
			return "", endReason(ctx, l)
		case res == timedOut || key == '#':
			return string(b), ""
		case len(b) < 16:
			b = append(b, key)
		}
		key, res = waitKey(ctx, l, nil, keyTimeout)
	}
}

// mailboxByExtension finds the mailbox *98 names: a user with voicemail by
// any extension, or a tenant mailbox by its extension.
func mailboxByExtension(view *dialplan.View, digits string) (routing.Mailbox, bool) {
	if digits == "" {
		return routing.Mailbox{}, false
	}
	if e, ok := view.Lookup(digits); ok && e.Kind == dialplan.EntryUser && e.User.Voicemail != nil && e.User.Voicemail.Enabled {
		return routing.Mailbox{Owner: routing.MailboxUser, ID: e.User.ID}, true
	}
	for _, m := range view.Tenant.Mailboxes {
		if m.Extension == digits {
			return routing.Mailbox{Owner: routing.MailboxShared, ID: m.ID}, true
		}
	}
	return routing.Mailbox{}, false
}

func pinHash(view *dialplan.View, m routing.Mailbox) string {
	switch m.Owner {
	case routing.MailboxUser:
		if u, ok := view.User(m.ID); ok && u.Voicemail != nil {
			return u.Voicemail.PINHash
		}
	case routing.MailboxShared:
		if mb, ok := view.Mailbox(m.ID); ok {
			return mb.PINHash
		}
	}
	return ""
}
