package apps

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/mailbox"
	"github.com/switchboard/switchboard/media"
	"github.com/switchboard/switchboard/routing"
	"github.com/switchboard/switchboard/sip"
)

// maxMenuJumps bounds how many times an option may lead to another
// attendant menu (attendant:night → attendant:main → …) in one call.
const maxMenuJumps = 5

// attendant is the auto attendant: greeting with barge-in, digits, the
// choice's plan, ringback while it rings, a bridge on answer. It returns
// how the call ended, for the CDR.
func (a *Apps) attendant(ctx context.Context, c *sip.Call, st routing.Attendant) string {
	view := c.View
	menu, ok := view.Attendant(st.ID)
	if !ok { // sip checked before answering; the directory changed since
		a.playFully(ctx, c.Leg, "goodbye")
		return "bad_target"
	}
	for jumps := 0; ; jumps++ {
		target, end := a.menu(ctx, c.Leg, menu, view)
		if end != "" {
			return end
		}
		if target == "" {
			a.playFully(ctx, c.Leg, "goodbye")
			return "no_choice"
		}
		t, err := dialplan.ParseTarget(target)
		if err != nil {
			a.log.Warn("attendant option with a bad target", "tenant", view.Tenant.Domain, "attendant", menu.ID, "target", target)
			a.playFully(ctx, c.Leg, "goodbye")
			return "bad_target"
		}
		plan := c.Plan(ctx, t)
		if next, ok := plan.Steps[0].(routing.Attendant); ok && jumps < maxMenuJumps {
			if m, ok := view.Attendant(next.ID); ok {
				menu = m
				continue
			}
		}
		if vm, ok := plan.Steps[0].(routing.Voicemail); ok {
			return a.deposit(ctx, c, vm)
		}
		return a.transfer(ctx, c, plan, t, menu)
	}
}

// menu plays the greeting and reads the caller's choice: an option's
// target, "ext:NNNN" when dialling by extension, the fallback after the
// retries, or "" when there is none. end is set when the caller left
// (hangup, RTP timeout, shutdown).
func (a *Apps) menu(ctx context.Context, l *sip.Leg, menu *dialplan.Attendant, view *dialplan.View) (target, end string) {
	tenant := view.Tenant.Domain
	var greeting media.Source = a.prompt(menu.Greeting, "welcome")
	if p, ok := a.storedGreeting(ctx, mailbox.AttendantBox(tenant, menu.ID)); ok {
		greeting = p // uploaded in the console (admin/greetings.go)
	}
	timeout := menu.Timeout.D()
	if timeout <= 0 {
		timeout = dialplan.DefaultAttendantTimeout.D()
	}
	exts := extensions(view.Tenant)
	for tries := 0; ; {
		pl := l.Play(ctx, greeting)
		key, res := waitKey(ctx, l, pl, timeout)
		pl.Stop() // barge-in: the first key stops the greeting
		switch res {
		case callerGone:
			return "", endReason(ctx, l)
		case timedOut:
			tries++
			if tries > menu.Retries {
				a.metrics.selections.WithLabelValues(tenant, "timeout").Inc()
				return menu.Fallback, ""
			}
			continue
		}
		if t, ok := menu.Options[string(key)]; ok {
			a.metrics.selections.WithLabelValues(tenant, optionLabel(key)).Inc()
			return t, ""
		}
		if menu.DialByExtension && key != '#' && key != '*' {
			ext, res := collectExtension(ctx, l, key, exts, timeout)
			if res == callerGone {
				return "", endReason(ctx, l)
			}
			if ext != "" {
				a.metrics.selections.WithLabelValues(tenant, "extension").Inc()
				return "ext:" + ext, ""
			}
		}
		a.metrics.selections.WithLabelValues(tenant, "invalid").Inc()
		tries++
		if tries > menu.Retries {
			return menu.Fallback, ""
		}
		if !a.playFully(ctx, l, "invalid") {
			return "", endReason(ctx, l)
		}
		drain(l.Digits())
	}
}

// optionLabel bounds the option label to the DTMF keys.
func optionLabel(k byte) string {
	if strings.IndexByte("0123456789*#ABCD", k) < 0 {
		return "invalid"
	}
	return string(k)
}

// extensions lists every extension of a tenant: users' and groups'.
func extensions(t *dialplan.Tenant) map[string]bool {
	out := map[string]bool{}
	for _, u := range t.Users {
		for _, e := range u.Extensions {
			out[e] = true
		}
	}
	for _, g := range t.Groups {
		if g.Extension != "" {
			out[g.Extension] = true
		}
	}
	return out
}

// collectExtension reads an extension starting with first: it ends as soon
// as the digits name an extension no longer one starts with, on '#', or
// after timeout without a key. "" when the digits name none.
func collectExtension(ctx context.Context, l *sip.Leg, first byte, exts map[string]bool, timeout time.Duration) (string, keyResult) {
	digits := string(first)
	for {
		exact, longer := exts[digits], false
		for e := range exts {
			if len(e) > len(digits) && strings.HasPrefix(e, digits) {
				longer = true
				break
			}
		}
		switch {
		case exact && !longer:
			return digits, gotKey
		case !exact && !longer:
			return "", gotKey
		}
		key, res := waitKey(ctx, l, nil, timeout)
		switch {
		case res == callerGone:
			return "", res
		case res == timedOut || key == '#':
			if exact {
				return digits, gotKey
			}
			return "", gotKey
		}
		digits += string(key)
	}
}

// transfer places the call to the chosen target while the caller hears
// ringback (or the music on hold: menu's wait), and bridges the two on
// answer. When nobody answers the caller
// hears "goodbye" and is hung up.
func (a *Apps) transfer(ctx context.Context, c *sip.Call, plan routing.Plan, t dialplan.Target, menu *dialplan.Attendant) string {
	ringback := c.Play(ctx, a.waitSource(c.View, menu))
	out, code, err := c.Dial(ctx, plan, t.ID)
	ringback.Stop()
	switch {
	case errors.Is(err, sip.ErrNoPort):
		a.playFully(ctx, c.Leg, "goodbye")
		return "no_port"
	case errors.Is(err, sip.ErrBadAnswer):
		return "transfer_failed"
	case err != nil:
		return endReason(ctx, c.Leg)
	case out == nil && code == 480 && endsInVoicemail(plan):
		// Nobody answered a user with voicemail: the placed call cannot
		// take a message itself, so the caller leaves it here.
		return a.deposit(ctx, c, plan.Steps[len(plan.Steps)-1].(routing.Voicemail))
	case out == nil:
		a.log.Info("attendant transfer not answered", "tenant", c.View.Tenant.Domain, "target", t.Kind, "code", code)
		a.playFully(ctx, c.Leg, "goodbye")
		return "transfer_" + sip.ResultFor(code)
	}
	end := c.Bridge(ctx, out)
	out.End(end)
	return end
}

// endsInVoicemail reports whether a plan's last resort is a mailbox.
func endsInVoicemail(p routing.Plan) bool {
	if len(p.Steps) == 0 {
		return false
	}
	_, ok := p.Steps[len(p.Steps)-1].(routing.Voicemail)
	return ok
}
