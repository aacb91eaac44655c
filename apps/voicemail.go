package apps

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/mailbox"
	"github.com/switchboard/switchboard/media"
	"github.com/switchboard/switchboard/routing"
	"github.com/switchboard/switchboard/sip"
)

// VoicemailConfig configures recording.
type VoicemailConfig struct {
	MaxMessage time.Duration // default 3m
	Silence    time.Duration // silence after speech that ends a message; default 5s
	MinMessage time.Duration // shorter messages are dropped; default 1s
	Limits     mailbox.Limits
}

func (c *VoicemailConfig) setDefaults() {
	if c.MaxMessage <= 0 {
		c.MaxMessage = 3 * time.Minute
	}
	if c.Silence <= 0 {
		c.Silence = 5 * time.Second
	}
	if c.MinMessage <= 0 {
		c.MinMessage = time.Second
	}
}

// Voicemail results, the values of switchboard_voicemail_messages_total{result}.
const (
	vmSaved    = "saved"
	vmTooShort = "too_short"
	vmFull     = "full"
)

// beep is the tone before recording: 1 kHz for 0.4 s.
var beep = func() *media.Prompt {
	pcm := make([]int16, 3200)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/8000))
	}
	return media.NewPrompt("beep", pcm)
}()

// mailboxOf resolves a routing mailbox to its store key, greeting prompt
// and the extension the built-in greeting reads out.
func mailboxOf(view *dialplan.View, m routing.Mailbox) (box mailbox.Box, greeting, ext string, ok bool) {
	box = mailbox.Box{Tenant: view.Tenant.Domain, Name: m.String()}
	switch m.Owner {
	case routing.MailboxUser:
		u, found := view.User(m.ID)
		if !found || u.Voicemail == nil || !u.Voicemail.Enabled {
			return box, "", "", false
		}
		if len(u.Extensions) > 0 {
			ext = u.Extensions[0]
		}
		return box, u.Voicemail.Greeting, ext, true
	case routing.MailboxShared:
		mb, found := view.Mailbox(m.ID)
		if !found {
			return box, "", "", false
		}
		return box, mb.Greeting, mb.Extension, true
	}
	return box, "", "", false
}

// deposit takes a message: greeting (any key skips it), beep, then records
// until '#', hang-up, Silence after speech, or MaxMessage.
func (a *Apps) deposit(ctx context.Context, c *sip.Call, st routing.Voicemail) string {
	box, greetingName, ext, ok := mailboxOf(c.View, st.Mailbox)
	if !ok || a.mail == nil {
		a.playFully(ctx, c.Leg, "goodbye")
		return "no_mailbox"
	}
	if full, err := a.mail.Full(ctx, box, 0, a.vm.Limits); err != nil {
		a.log.Warn("voicemail store unavailable", "tenant", box.Tenant, "error", err)
		a.playFully(ctx, c.Leg, "goodbye")
		return "store_error"
	} else if full {
		a.metrics.voicemail.WithLabelValues(vmFull).Inc()
		a.playFully(ctx, c.Leg, "vm-mailbox-full")
		a.playFully(ctx, c.Leg, "goodbye")
		return "mailbox_full"
	}
	greeting := a.greeting(ctx, box, greetingName, ext)
	pl := c.Play(ctx, greeting)
	_, res := waitKey(ctx, c.Leg, pl, 0)
	pl.Stop()
	if res == callerGone {
		return endReason(ctx, c.Leg) // nothing recorded
	}
	drain(c.Digits())
	if !a.playSource(ctx, c.Leg, beep) {
		return endReason(ctx, c.Leg)
	}
	pcm, end := a.record(ctx, c.Leg, a.vm.MaxMessage)
	dur := time.Duration(len(pcm)) * time.Second / 8000
	if dur < a.vm.MinMessage {
		a.metrics.voicemail.WithLabelValues(vmTooShort).Inc()
		if end == "" {
			a.playFully(ctx, c.Leg, "goodbye")
			return "too_short"
		}
		return end
	}
	m := mailbox.Message{From: callerOf(c.Caller), FromName: c.Caller.Caller.Name, To: c.Caller.Dialled,
		Duration: math.Round(dur.Seconds()*10) / 10, New: true}
	// The caller may have gone: the message is saved all the same.
	_, err := a.mail.Save(context.WithoutCancel(ctx), box, m, media.WAV(pcm), a.vm.Limits)
	switch {
	case errors.Is(err, mailbox.ErrFull):
		a.metrics.voicemail.WithLabelValues(vmFull).Inc()
		if end == "" {
			a.playFully(ctx, c.Leg, "vm-mailbox-full")
		}
		return "mailbox_full"
	case err != nil:
		a.log.Warn("voicemail not saved", "tenant", box.Tenant, "error", err)
		return "store_error"
	}
	a.metrics.voicemail.WithLabelValues(vmSaved).Inc()
	a.log.Info("voicemail saved", "tenant", box.Tenant, "duration", dur.Round(100*time.Millisecond).String())
	if end != "" {
		return end
	}
	a.playFully(ctx, c.Leg, "vm-saved")
	a.playFully(ctx, c.Leg, "goodbye")
	return "voicemail"
}

// record records the leg until '#', Silence after speech, max, or the
// caller leaving (end is then set).
func (a *Apps) record(ctx context.Context, l *sip.Leg, max time.Duration) (pcm []int16, end string) {
	r := l.Session().Record(max)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case k := <-l.Digits():
			if k == '#' {
				return r.Stop(), ""
			}
		case <-r.Full():
			return r.Stop(), ""
		case <-tick.C:
			if d, ok := r.Silence(); ok && d >= a.vm.Silence {
				return r.Stop(), ""
			}
		case <-l.HungUp():
			return r.Stop(), "caller_hangup"
		case <-l.MediaDone():
			return r.Stop(), "rtp_timeout"
		case <-ctx.Done():
			return r.Stop(), "shutdown"
		}
	}
}

// greeting is what a caller hears before the beep: the mailbox's recorded
// greeting, else its greeting prompt, else "The person at extension
// <digits> is not available…", else "The person you are calling…".
func (a *Apps) greeting(ctx context.Context, box mailbox.Box, name, ext string) media.Source {
	if p, ok := a.storedGreeting(ctx, box); ok {
		return p
	}
	if name != "" {
		if p, ok := a.prompts.Get(name); ok {
			return p
		}
		a.log.Warn("voicemail greeting prompt not found; using the built-in", "prompt", name)
	}
	if ext == "" || strings.Trim(ext, "0123456789") != "" {
		return a.prompt("vm-unavailable", "vm-unavailable")
	}
	parts := []*media.Prompt{a.prompt("vm-person-at-extension", "vm-person-at-extension")}
	for _, d := range ext {
		parts = append(parts, a.prompt("digit-"+string(d), "digit-0"))
	}
	return media.NewSequence(append(parts, a.prompt("vm-not-available", "vm-not-available"))...)
}

// playSource plays src to its end; false when the caller left first.
func (a *Apps) playSource(ctx context.Context, l *sip.Leg, src media.Source) bool {
	pl := l.Play(ctx, src)
	defer pl.Stop()
	select {
	case <-pl.Finished():
		return true
	case <-l.HungUp():
	case <-l.MediaDone():
	case <-ctx.Done():
	}
	return false
}

// callerOf is what a message says it is from: the caller's number, else
// the calling user's extension or id.
func callerOf(c routing.Call) string {
	switch {
	case c.Caller.Number != "":
		return c.Caller.Number
	case c.Caller.User != nil && len(c.Caller.User.Extensions) > 0:
		return c.Caller.User.Extensions[0]
	case c.Caller.User != nil:
		return c.Caller.User.ID
	}
	return "anonymous"
}

// storedGreeting is the greeting recorded or uploaded for box, if any.
func (a *Apps) storedGreeting(ctx context.Context, box mailbox.Box) (*media.Prompt, bool) {
	if a.mail == nil {
		return nil, false
	}
	wav, err := a.mail.Greeting(ctx, box)
	if err != nil || len(wav) == 0 {
		return nil, false
	}
	pcm, err := media.ReadWAV(bytes.NewReader(wav))
	if err != nil {
		a.log.Warn("stored greeting unreadable; using the prompt", "box", box.String(), "error", err)
		return nil, false
	}
	return media.NewPrompt("greeting:"+box.Name, pcm), true
}
