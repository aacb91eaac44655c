package sip

import (
	"context"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/media"
	"github.com/switchboard/switchboard/routing"
)

// attendant is the Attendant step of a plan (called from startStep): it
// answers the caller with our SDP and hands the call to a B2BUA goroutine
// that runs the application (apps: menu, digits, transfer). The proxy call
// ends here as answered; the B2BUA writes the CDR at hang-up.
func (c *call) attendant(st routing.Attendant) {
	if _, ok := c.view.Attendant(st.ID); !ok {
		c.s.log.Warn("attendant not in directory", "tenant", c.view.Tenant.Domain, "attendant", st.ID)
		c.respond(404, "Not Found", "not_found")
		return
	}
	if _, originated := c.tx.(*virtualTx); originated || c.s.cfg.Apps == nil {
		// A call switchboard itself places never reaches an attendant: an
		// attendant's options that lead to attendants switch menus instead.
		c.respond(480, "Temporarily Unavailable", "unavailable")
		return
	}
	c.runApp("attendant", st)
}

// application is a plan step run by an application other than the
// attendant (voicemail): answered and handed over like the attendant. A
// call switchboard places itself gets 480, which the application that
// placed it sees (the attendant then takes the caller to voicemail itself).
func (c *call) application(st routing.Step) {
	if _, originated := c.tx.(*virtualTx); originated || c.s.cfg.Apps == nil {
		c.respond(480, "Temporarily Unavailable", "unavailable")
		return
	}
	c.runApp("voicemail", st)
}

// runApp answers the caller and runs an application step on a B2BUA call
// goroutine.
func (c *call) runApp(what string, st routing.Step) {
	b := c.s.b2b
	a, code, reason := b.newUAS(c.req, c.tx)
	if code != 0 {
		c.respond(code, reason, resultFor(code))
		return
	}
	a.answerCall()
	c.handOff()
	cdr := c.cdrFields("answered", 0)
	view, caller := c.view, c.caller
	b.goCall(what, func(ctx context.Context) {
		start := time.Now()
		defer a.close()
		result := "no_ack"
		switch {
		case !a.waitAck(ctx):
			a.bye()
		case a.badAnswer:
			result = "bad_sdp"
			a.bye()
		default:
			runSession(ctx, a.sess)
			call := &Call{Leg: newLeg(&a.mediaLeg, a.bye), View: view, Caller: caller, b: b, uas: a}
			result = c.s.cfg.Apps.Run(ctx, call, st)
			a.bye()
		}
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

// bridge relays RTP between the two legs until one of them ends, then hangs
// up the other. It returns how the call ended. With tc set, a REFER from
// the phone's leg transfers the caller (b2btransfer.go): the bridge moves
// to the new leg, which it then owns and ends itself; the original leg is
// still ended by the caller of bridge.
func (b *b2bua) bridge(ctx context.Context, a *uasLeg, l *uacLeg, tc *xferContext, moh media.Source) string {
	orig := l
	br := newBridged(ctx, a.sess, l.sess, moh) // hold.go: music while one side holds
	rec := b.startRecording(a, l)              // record.go: users with record: true
	var refers <-chan *sip.Request
	if tc != nil {
		refers = l.refers
	}
	var dialing <-chan *uacLeg
	var end string
	for end == "" {
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
		case <-a.renegotiations():
			br.apply()
		case <-l.renegotiations():
			br.apply()
		case ref := <-refers:
			refers = nil // one transfer at a time
			dialing = b.startTransfer(tc, a, l, ref)
		case nl := <-dialing:
			dialing = nil
			if nl == nil {
				refers = l.refers
				continue
			}
			b.releaseTransferor(l) // a second End of the original leg is harmless
			l = nl
			refers = l.refers
			br.swap(l.sess)
			rec.swap(l)
		}
	}
	br.stop()
	if dialing != nil {
		if nl := <-dialing; nl != nil {
			nl.end(end)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if l != orig {
			l.end(end)
		} else {
			l.bye()
		}
	}()
	a.bye()
	<-done
	rec.finish(ctx)
	return end
}
