package sip

import (
	"context"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/media"
	"github.com/switchboard/switchboard/routing"
)

// maxMenuJumps bounds how many times an option may lead to another
// attendant menu (attendant:night → attendant:main → …) in one call.
const maxMenuJumps = 5

// attendant is the Attendant step of a plan (called from startStep): it
// answers the caller with our SDP and hands the call to a B2BUA goroutine
// that plays the menu, reads the digits and connects the choice. The proxy
// call ends here as answered; the B2BUA writes the CDR at hang-up.
func (c *call) attendant(st routing.Attendant) {
	b := c.s.b2b
	menu, ok := c.view.Attendant(st.ID)
	if !ok {
		c.s.log.Warn("attendant not in directory", "tenant", c.view.Tenant.Domain, "attendant", st.ID)
		c.respond(404, "Not Found", "not_found")
		return
	}
	if _, originated := c.tx.(*virtualTx); originated {
		// A call switchboard itself places never reaches an attendant: an
		// attendant's options that lead to attendants switch menus instead.
		c.respond(480, "Temporarily Unavailable", "unavailable")
		return
	}
	a, code, reason := b.newUAS(c.req, c.tx)
	if code != 0 {
		c.respond(code, reason, resultFor(code))
		return
	}
	a.answerCall()
	c.handOff()
	cdr := c.cdrFields("answered", 0)
	view, caller := c.view, c.caller
	b.goCall("attendant", func(ctx context.Context) {
		start := time.Now()
		result := b.runAttendant(ctx, a, menu, view, caller)
		b.finishCall(cdr, result, start)
	})
}

// handOff marks the proxy call as set up and owned by the B2BUA from now on:
// the event loop ends without a CDR, and calls_active stays counted until
// finishCall.
func (c *call) handOff() {
	c.final, c.outcome = true, "answered"
	c.answered = &branch{done: true, label: "b2bua"}
	c.timer.Stop()
	c.observeSetup()
	c.s.metrics.calls.WithLabelValues(c.plan.Kind, "answered").Inc()
}

// finishCall ends a call handed off to the B2BUA: calls_active and the CDR.
func (b *b2bua) finishCall(cdr []any, result string, answered time.Time) {
	b.s.metrics.callsActive.Dec()
	fields := append([]any{}, cdr...)
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i] == "talk" {
			fields[i+1] = time.Since(answered).Round(time.Second).String()
		}
	}
	b.s.cdr(append(fields, "ended_by", result)...)
}

// runAttendant is the attendant call's goroutine: menu, choice, transfer,
// bridge, hang-up. It returns how the call ended, for the CDR.
func (b *b2bua) runAttendant(ctx context.Context, a *uasLeg, menu *dialplan.Attendant, view *dialplan.View, caller routing.Call) string {
	defer a.close()
	if !a.waitAck(ctx) {
		a.bye()
		return "no_ack"
	}
	if a.badAnswer {
		a.bye()
		return "bad_sdp"
	}
	runSession(ctx, a.sess)
	player := media.NewPlayer(a.sess)
	for jumps := 0; ; jumps++ {
		target, end := b.menu(ctx, a, player, menu, view)
		if end != "" {
			a.bye()
			return end
		}
		if target == "" {
			b.playFully(ctx, a, player, "goodbye")
			a.bye()
			return "no_choice"
		}
		t, err := dialplan.ParseTarget(target)
		if err != nil {
			b.log.Warn("attendant option with a bad target", "tenant", view.Tenant.Domain, "attendant", menu.ID, "target", target)
			b.playFully(ctx, a, player, "goodbye")
			a.bye()
			return "bad_target"
		}
		plan := routing.DecideTarget(t, caller, view, routing.Options{
			Trunks: b.s.trunkNames,
			Contacts: func(aor string) []location.Binding {
				lctx, cancel := context.WithTimeout(ctx, requestTimeout)
				defer cancel()
				return b.s.contacts(lctx, aor)
			},
		})
		b.s.metrics.routing.WithLabelValues(plan.Kind).Inc()
		if next, ok := plan.Steps[0].(routing.Attendant); ok && jumps < maxMenuJumps {
			if m, ok := view.Attendant(next.ID); ok {
				menu = m
				continue
			}
		}
		return b.transfer(ctx, a, player, plannedCall{view: view, call: caller, plan: plan}, t)
	}
}

// keyResult is how waiting for a key ended.
type keyResult uint8

const (
	gotKey keyResult = iota
	timedOut
	callerGone
)

// waitKey waits for a key press while pl plays and then up to timeout after
// it finished (from now when pl is nil).
func waitKey(ctx context.Context, a *uasLeg, pl *playing, timeout time.Duration) (byte, keyResult) {
	var expired <-chan time.Time
	finished := pl.finished()
	if pl == nil {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	for {
		select {
		case k := <-a.sess.DTMF().Digits():
			return k, gotKey
		case <-finished:
			finished = nil
			t := time.NewTimer(timeout)
			defer t.Stop()
			expired = t.C
		case <-expired:
			return 0, timedOut
		case <-a.hungUp.ch():
			return 0, callerGone
		case <-a.sess.Done():
			return 0, callerGone
		case <-ctx.Done():
			return 0, callerGone
		}
	}
}

// menu plays the greeting and reads the caller's choice: an option's
// target, "ext:NNNN" when dialling by extension, the fallback after the
// retries, or "" when there is none. end is set when the caller left
// (hangup, RTP timeout, shutdown).
func (b *b2bua) menu(ctx context.Context, a *uasLeg, player *media.Player, menu *dialplan.Attendant, view *dialplan.View) (target, end string) {
	tenant := view.Tenant.Domain
	greeting := b.prompt(menu.Greeting, "welcome")
	timeout := menu.Timeout.D()
	if timeout <= 0 {
		timeout = dialplan.DefaultAttendantTimeout.D()
	}
	exts := extensions(view.Tenant)
	for tries := 0; ; {
		pl := play(ctx, player, greeting)
		key, res := waitKey(ctx, a, pl, timeout)
		pl.stop() // barge-in: the first key stops the greeting
		switch res {
		case callerGone:
			return "", endReason(ctx, a)
		case timedOut:
			tries++
			if tries > menu.Retries {
				b.selections.WithLabelValues(tenant, "timeout").Inc()
				return menu.Fallback, ""
			}
			continue
		}
		if t, ok := menu.Options[string(key)]; ok {
			b.selections.WithLabelValues(tenant, optionLabel(key)).Inc()
			return t, ""
		}
		if menu.DialByExtension && key != '#' && key != '*' {
			ext, res := collectExtension(ctx, a, key, exts, timeout)
			if res == callerGone {
				return "", endReason(ctx, a)
			}
			if ext != "" {
				b.selections.WithLabelValues(tenant, "extension").Inc()
				return "ext:" + ext, ""
			}
		}
		b.selections.WithLabelValues(tenant, "invalid").Inc()
		tries++
		if tries > menu.Retries {
			return menu.Fallback, ""
		}
		if !b.playFully(ctx, a, player, "invalid") {
			return "", endReason(ctx, a)
		}
		drain(a.sess.DTMF().Digits())
	}
}

// optionLabel bounds the option label to the DTMF keys.
func optionLabel(k byte) string {
	if strings.IndexByte("0123456789*#ABCD", k) < 0 {
		return "invalid"
	}
	return string(k)
}

func endReason(ctx context.Context, a *uasLeg) string {
	switch {
	case a.hungUp.done():
		return "caller_hangup"
	case ctx.Err() != nil:
		return "shutdown"
	}
	return "rtp_timeout"
}

func drain(ch <-chan byte) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
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
func collectExtension(ctx context.Context, a *uasLeg, first byte, exts map[string]bool, timeout time.Duration) (string, keyResult) {
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
		key, res := waitKey(ctx, a, nil, timeout)
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

// prompt returns the prompt called name, else the one called def.
func (b *b2bua) prompt(name, def string) *media.Prompt {
	if p, ok := b.prompts.Get(name); ok {
		return p
	}
	if name != "" {
		b.log.Warn("prompt not found; using the default", "prompt", name, "default", def)
	}
	p, _ := b.prompts.Get(def)
	return p
}

// playFully plays a prompt to its end; false when the caller left first.
func (b *b2bua) playFully(ctx context.Context, a *uasLeg, player *media.Player, name string) bool {
	pl := play(ctx, player, b.prompt(name, name))
	defer pl.stop()
	select {
	case <-pl.finished():
		return true
	case <-a.hungUp.ch():
	case <-a.sess.Done():
	case <-ctx.Done():
	}
	return false
}

// transfer places the call to the chosen target while the caller hears
// ringback, and bridges the two on answer. When nobody answers the caller
// hears "goodbye" and is hung up.
func (b *b2bua) transfer(ctx context.Context, a *uasLeg, player *media.Player, pc plannedCall, t dialplan.Target) string {
	sess, local, err := b.newSession()
	if err != nil {
		b.log.Warn("no RTP port for a transfer", "error", err)
		b.playFully(ctx, a, player, "goodbye")
		a.bye()
		return "no_port"
	}
	from := a.req.From()
	to := sip.Uri{Scheme: "sip", User: t.ID, Host: pc.view.Tenant.Domain}
	l := b.originate(pc, from, to, sess, local)
	ringback := play(ctx, player, media.Ringback)
	for {
		select {
		case res := <-l.vtx.final:
			ringback.stop()
			if res.StatusCode >= 300 {
				l.end("failed")
				b.log.Info("attendant transfer not answered", "tenant", pc.view.Tenant.Domain, "target", t.Kind, "code", res.StatusCode)
				b.playFully(ctx, a, player, "goodbye")
				a.bye()
				return "transfer_" + resultFor(res.StatusCode)
			}
			if err := l.accept(res); err != nil {
				b.log.Warn("callee answer unusable", "error", err)
				l.end("bad_sdp")
				a.bye()
				return "transfer_failed"
			}
			runSession(ctx, l.sess)
			end := b.bridge(ctx, a, l)
			l.end(end)
			return end
		case <-a.hungUp.ch():
			ringback.stop()
			l.end("caller_cancelled")
			return "caller_hangup"
		case <-a.sess.Done():
			ringback.stop()
			l.end("rtp_timeout")
			a.bye()
			return "rtp_timeout"
		case <-ctx.Done():
			ringback.stop()
			l.end("shutdown")
			a.bye()
			return "shutdown"
		}
	}
}

// bridge relays RTP between the two legs until one of them ends, then hangs
// up the other. It returns how the call ended.
func (b *b2bua) bridge(ctx context.Context, a *uasLeg, l *uacLeg) string {
	br := media.NewBridge(a.sess, l.sess)
	br.Start()
	defer br.Stop()
	var end string
	select {
	case <-a.hungUp.ch():
		end = "caller_hangup"
	case <-l.hungUp.ch():
		end = "callee_hangup"
	case <-a.sess.Done():
		end = "rtp_timeout"
	case <-l.sess.Done():
		end = "rtp_timeout"
	case <-ctx.Done():
		end = "shutdown"
	}
	done := make(chan struct{})
	go func() { defer close(done); l.bye() }()
	a.bye()
	<-done
	return end
}
