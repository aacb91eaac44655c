package sip

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/routing"
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
// offer. When it answers, the application (Applications.Screen, package
// apps) announces the call to it alone and reads its key; key 1 answers the
// caller with our SDP and bridges the two legs in a B2BUA goroutine. Any
// other key, no key within the screening timeout after the announcement, or
// the far end hanging up ends the forwarded leg and the plan goes on (next
// step, else 480 with a Reason header). A tenant with moh set gives the
// caller its music on hold as early media during the announcement (183;
// earlyMusic in hold.go).
func (c *call) screen(st routing.Forward) bool {
	b := c.s.b2b
	if _, originated := c.tx.(*virtualTx); originated || !c.hasTrunk(st.Trunk) || c.s.cfg.Apps == nil {
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
		return c.screenFailed(st, ScreenNoAnswer, routing.Unavailable)
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
	case ScreenAccepted:
		a.answerCall()
		c.handOff()
		cdr := append(c.cdrFields("answered", 0), "screening", result)
		moh := b.holdMusic(c.view)
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
				end = b.bridge(ctx, a, l, nil, moh) // no transfer of a screened forward's PSTN leg
			}
			l.end(end)
			b.finishCall(cdr, end, start)
		})
		return false
	case ScreenCallerCancelled:
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
	case ScreenBusy:
		return "busy"
	case ScreenNoAnswer, ScreenTimeout:
		return "no_answer"
	case ScreenDeclined:
		return "declined"
	}
	return "unavailable"
}

// screenLeg waits for the forwarded leg to answer and lets the application
// announce the call to it and read its key. It
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
					return ScreenBusy, o
				}
				return ScreenNoAnswer, routing.NoAnswer
			}
			if err := l.accept(res); err != nil {
				c.s.log.Warn("screened forward answer unusable", "error", err)
				return ScreenNoAnswer, routing.Unavailable
			}
			answered = true
		case <-c.cancelled:
			return ScreenCallerCancelled, 0
		case <-c.tx.Done():
			return ScreenCallerCancelled, 0
		case <-ctx.Done():
			return ScreenCallerCancelled, 0
		}
	}
	runSession(ctx, l.sess)
	music := c.earlyMusic(a) // hold.go: the caller hears the loop meanwhile
	defer music.stop()
	// The caller cancelling ends the announcement: the application sees ctx end.
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-c.cancelled:
		case <-c.tx.Done():
		case <-actx.Done():
		}
		cancel()
	}()
	fwd := newLeg(&l.mediaLeg, l.bye)
	switch r := c.s.cfg.Apps.Screen(actx, fwd, Screened{Tenant: c.view.Tenant.Domain, Number: callerNumber(c.req)}); r {
	case ScreenAccepted:
		return r, 0
	case ScreenTimeout:
		return r, routing.NoAnswer
	case ScreenCallerCancelled:
		return r, 0
	default:
		return ScreenDeclined, routing.Declined
	}
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
	if h := header(req, "Privacy"); h != nil {
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
