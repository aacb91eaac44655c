package sip

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/media"
	"github.com/switchboard/switchboard/routing"
)

// Screening results, the values of switchboard_screening_total{result}.
const (
	screenAccepted        = "accepted"
	screenDeclined        = "declined"
	screenTimeout         = "timeout"
	screenNoAnswer        = "no_answer"
	screenBusy            = "busy"
	screenCallerCancelled = "caller_cancelled"
)

// screen runs a Forward step with press-1 screening (called from startStep,
// on the call's goroutine). It reports whether the plan goes on with the
// next step; when it does not, the caller has its final answer or has
// cancelled (which the event loop then records).
//
// The flow: the caller's offer is negotiated first (488/400 before anything
// is dialled) and the caller gets 180 Ringing — no early media, its phone
// plays ringback. The forwarded leg is placed through the trunk by the
// proxy's own forward (Diversion, History-Info, caller ID) with our SDP
// offer. When it answers, it alone hears the screening announcement (see
// screeningParts), twice unless a key interrupts it; key 1 answers the
// caller with our SDP and bridges the two legs in a B2BUA goroutine. Any
// other key, no key within the screening timeout after the announcement, or
// the far end hanging up ends the forwarded leg and the plan goes on (next
// step, else 480 with a Reason header).
func (c *call) screen(st routing.Forward) bool {
	b := c.s.b2b
	if _, originated := c.tx.(*virtualTx); originated || c.s.trunk(st.Trunk) == nil {
		// A screened forward reached from an attendant's transfer would need
		// the attendant to take over the forwarded leg: not done yet.
		c.s.log.Warn("screened forward skipped", "tenant", c.view.Tenant.Domain, "originated", originated)
		return c.screenFailed(st, "", routing.Unavailable)
	}
	a, code, reason := b.newUAS(c.req, c.tx)
	if code != 0 {
		c.respond(code, reason, resultFor(code))
		return false
	}
	a.ringing()
	c.observeSetup()

	sess, local, err := b.newSession()
	if err != nil {
		a.close()
		b.log.Warn("no RTP port for a screened forward", "error", err)
		return c.screenFailed(st, screenNoAnswer, routing.Unavailable)
	}
	fwd := st
	fwd.Screening, fwd.ContinueOn = false, 0
	if fwd.Timeout <= 0 {
		fwd.Timeout = b.cfg.ScreeningRing
	}
	plan := routing.Plan{Kind: routing.KindForward, Steps: []routing.Step{fwd}}
	to := sip.Uri{Scheme: "sip", User: st.Number, Host: c.view.Tenant.Domain}
	l := b.originate(plannedCall{view: c.view, call: c.caller, plan: plan}, c.req.From(), to, sess, local)

	result, o := c.screenLeg(a, l)
	b.screening.WithLabelValues(result).Inc()
	c.s.log.Info("screening", "call_id", c.req.CallID().Value(), "tenant", c.view.Tenant.Domain, "result", result)
	switch result {
	case screenAccepted:
		a.answerCall()
		c.handOff()
		cdr := append(c.cdrFields("answered", 0), "screening", result)
		b.goCall("screening", func(ctx context.Context) {
			start := time.Now()
			defer a.close()
			end := "no_ack"
			switch {
			case !a.waitAck(ctx):
				a.bye()
			case a.badAnswer:
				end = "bad_sdp"
				a.bye()
			default:
				runSession(ctx, a.sess)
				end = b.bridge(ctx, a, l)
			}
			l.end(end)
			b.finishCall(cdr, end, start)
		})
		return false
	case screenCallerCancelled:
		l.end("caller_cancelled")
		a.close()
		return false // the event loop records the cancel
	}
	l.end("screening_" + result)
	a.close()
	return c.screenFailed(st, result, o)
}

// screenFailed goes on with the plan when the step continues on o. When the
// next step is the plan's closing Reject (or the step does not continue),
// the caller gets that final answer here, with the screening result as its
// Reason header.
func (c *call) screenFailed(st routing.Forward, result string, o routing.Outcome) bool {
	code, reason := 480, "Temporarily Unavailable"
	if c.continueOn(st.ContinueOn, o) {
		rj, ok := c.plan.Steps[c.step+1].(routing.Reject)
		if !ok || result == "" {
			return true
		}
		c.step++
		code, reason = rj.Code, rj.Reason
	}
	text := "screening: " + strings.ReplaceAll(result, "_", " ")
	if result == "" {
		text = "forward unavailable"
	}
	c.final, c.outcome = true, screenOutcome(result)
	c.s.reply(c.tx, c.req, code, reason, sip.NewHeader("Reason", `SIP;cause=`+strconv.Itoa(code)+`;text="`+text+`"`))
	return false
}

// screenOutcome is the calls_total result of a call whose screened forward
// did not connect.
func screenOutcome(result string) string {
	switch result {
	case screenBusy:
		return "busy"
	case screenNoAnswer, screenTimeout:
		return "no_answer"
	case screenDeclined:
		return "declined"
	}
	return "unavailable"
}

// screenLeg waits for the forwarded leg to answer, plays it the
// announcement and reads its key; a key stops the announcement at once. It
// returns the screening result and, for the ones that do not connect, the
// plan outcome.
func (c *call) screenLeg(a *uasLeg, l *uacLeg) (string, routing.Outcome) {
	b := c.s.b2b
	ctx := b.ctx
	for answered := false; !answered; {
		select {
		case res := <-l.vtx.final:
			if res.StatusCode >= 300 {
				c.s.log.Info("screened forward refused", "tenant", c.view.Tenant.Domain, "code", res.StatusCode, "reason", res.Reason)
				if o := outcomeFor(res.StatusCode); o == routing.Busy {
					return screenBusy, o
				}
				return screenNoAnswer, routing.NoAnswer
			}
			if err := l.accept(res); err != nil {
				c.s.log.Warn("screened forward answer unusable", "error", err)
				return screenNoAnswer, routing.Unavailable
			}
			answered = true
		case <-c.cancelled:
			return screenCallerCancelled, 0
		case <-c.tx.Done():
			return screenCallerCancelled, 0
		case <-ctx.Done():
			return screenCallerCancelled, 0
		}
	}
	runSession(ctx, l.sess)
	pl := play(ctx, media.NewPlayer(l.sess), b.screeningAnnouncement(c.view.Tenant.Domain, callerNumber(c.req)))
	defer pl.stop()
	var expired <-chan time.Time
	finished := pl.finished()
	for {
		select {
		case k := <-l.sess.DTMF().Digits():
			if k == '1' {
				return screenAccepted, 0
			}
			return screenDeclined, routing.Declined
		case <-finished:
			finished = nil
			t := time.NewTimer(b.cfg.ScreeningTimeout)
			defer t.Stop()
			expired = t.C
		case <-expired:
			return screenTimeout, routing.NoAnswer
		case <-l.hungUp.ch():
			return screenDeclined, routing.Declined
		case <-l.sess.Done():
			return screenDeclined, routing.Declined
		case <-c.cancelled:
			return screenCallerCancelled, 0
		case <-c.tx.Done():
			return screenCallerCancelled, 0
		case <-ctx.Done():
			return screenCallerCancelled, 0
		}
	}
}

// screeningPause separates the announcement from its repetition.
var screeningPause = media.NewPrompt("pause", make([]int16, 8000*800/1000))

// screeningAnnouncement is what the forwarded leg hears: the parts named by
// screeningParts, a pause, and the parts again (the screening timeout starts
// when it ends).
func (b *b2bua) screeningAnnouncement(domain, number string) *media.Sequence {
	names := screeningParts(b.prompts, domain, number)
	parts := make([]*media.Prompt, 0, 2*len(names)+1)
	for _, name := range names {
		p, ok := b.prompts.Get(name)
		if !ok { // a built-in: cannot happen
			b.log.Warn("screening prompt missing", "prompt", name)
		}
		parts = append(parts, p) // NewSequence leaves nil out
	}
	parts = append(parts, screeningPause)
	return media.NewSequence(append(parts, parts[:len(names)]...)...)
}

// screeningParts names the prompts of the screening announcement, in order:
//
//   - "call-for" and "tenant-<domain>" when the prompts folder has a
//     recording of the tenant's name (tenant-acme.example.wav), else
//     "you-have-a-call";
//   - "from" and "digit-0".."digit-9" for each digit of the caller's number,
//     when known (number is digits only, as callerNumber returns);
//   - "press-1" ("Press 1 to accept, or hang up to decline.").
//
// A screening.wav in the prompts folder is played instead of all of it, as
// it was before the announcement had parts.
func screeningParts(prompts *media.Prompts, domain, number string) []string {
	if p, ok := prompts.Get("screening"); ok && p.Custom() {
		return []string{"screening"}
	}
	var names []string
	tenant := "tenant-" + strings.ToLower(domain)
	if _, ok := prompts.Get(tenant); ok && domain != "" {
		names = append(names, "call-for", tenant)
	} else {
		names = append(names, "you-have-a-call")
	}
	if number != "" {
		names = append(names, "from")
		for _, d := range number {
			names = append(names, "digit-"+string(d))
		}
	}
	return append(names, "press-1")
}

// maxSpokenDigits bounds the caller's number read out: E.164 numbers have
// at most 15 digits.
const maxSpokenDigits = 15

// callerNumber returns the digits of the caller's number, to be read out:
// the From user part when it is a number (E.164 without its "+", or plain
// digits such as an extension), else "" — a name, "anonymous", more than 15
// digits, or a caller that asked for privacy (RFC 3323 Privacy: id, user or
// header).
func callerNumber(req *sip.Request) string {
	if h := req.GetHeader("Privacy"); h != nil {
		for v := range strings.SplitSeq(h.Value(), ";") {
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "id", "user", "header":
				return ""
			}
		}
	}
	from := req.From()
	if from == nil {
		return ""
	}
	user, _, _ := strings.Cut(from.Address.User, ";") // user parameters (;npdi, ;phone-context=…)
	digits := strings.TrimPrefix(user, "+")
	if digits == "" || len(digits) > maxSpokenDigits || strings.Trim(digits, "0123456789") != "" {
		return ""
	}
	return digits
}
