package sip

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/routing"
)

// Transfer of a call switchboard anchors (an attendant call, bridged to the
// phone that answered): the phone's REFER reaches our own leg (uacLeg), so
// the engine does the transfer with its media in the middle — no re-INVITE
// of the caller is needed:
//
//	phone B ── REFER Refer-To: C ──▶ uacLeg   202; NOTIFY 100 ──▶ B
//	bridge: originate C (routing plan for an internal target) → answered:
//	        the caller's RTP is re-bridged to C; NOTIFY 200 ──▶ B; B's leg
//	        ends (its BYE, or ours after transferorGrace)
//	        not answered: NOTIFY <code> ──▶ B, the caller stays with B
//
// Only targets inside the tenant (users, aliases, groups, extensions) are
// accepted: the caller of an attendant call is usually a carrier caller,
// and a transfer out to the PSTN would be a call the tenant pays for that
// nobody authenticated.

// transferorGrace is how long the transferor's leg may stay up after the
// final NOTIFY before we hang it up ourselves.
const transferorGrace = 5 * time.Second

// xferContext is what a bridge needs to plan a transfer target.
type xferContext struct {
	view   *dialplan.View
	caller routing.Call
}

// onRefer queues a REFER for the bridge the leg is in and answers it.
func (l *uacLeg) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	s := l.b.s
	if len(req.GetHeaders("Refer-To")) != 1 {
		s.reply(tx, req, 400, "Bad Refer-To")
		return
	}
	select {
	case l.refers <- req:
		s.reply(tx, req, 202, "Accepted")
	default:
		s.reply(tx, req, 491, "Request Pending")
	}
}

// notifyRefer sends the transferor a NOTIFY of the refer subscription in
// its dialog with us and waits for the answer (bounded).
func (l *uacLeg) notifyRefer(frag string, final bool) {
	l.mu.Lock()
	if l.answered == nil {
		l.mu.Unlock()
		return
	}
	r := l.newRequest(sip.NOTIFY, l.cseqOf(true))
	dest, transport := l.dest, l.transport
	if len(l.routes) > 0 {
		dest, transport = hostPort(l.routes[0]), transportOf(l.routes[0])
		for _, u := range l.routes {
			r.AppendHeader(&sip.RouteHeader{Address: u})
		}
	}
	l.mu.Unlock()
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	r.AppendHeader(sip.NewHeader("Event", "refer"))
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
	}
	r.AppendHeader(sip.NewHeader("Subscription-State", state))
	r.AppendHeader(l.contact)
	r.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	r.SetBody([]byte(frag + "\r\n"))
	r.SetTransport(strings.ToUpper(transport))
	r.SetDestination(dest)
	ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
	defer cancel()
	if _, err := l.b.s.transact(ctx, r); err != nil {
		l.b.log.Debug("transfer NOTIFY failed", "error", err)
	}
}

// referTarget resolves a Refer-To to a target inside the tenant.
func referTarget(view *dialplan.View, referTo string) (dialplan.Target, string, int) {
	var u sip.Uri
	if sip.ParseUri(strings.Trim(strings.TrimSpace(stripDisplay(referTo)), "<>"), &u) != nil {
		return dialplan.Target{}, "", 400
	}
	if u.Headers.Length() > 0 {
		return dialplan.Target{}, "", 501 // Replaces: attended transfer of an anchored call
	}
	e, ok := view.Lookup(u.User)
	if !ok {
		return dialplan.Target{}, "", 404
	}
	switch e.Kind {
	case dialplan.EntryUser:
		return dialplan.Target{Kind: dialplan.TargetUser, ID: e.User.ID}, u.User, 0
	case dialplan.EntryAlias:
		return dialplan.Target{Kind: dialplan.TargetAlias, ID: e.Alias}, u.User, 0
	case dialplan.EntryGroup:
		return dialplan.Target{Kind: dialplan.TargetGroup, ID: e.Group.ID}, u.User, 0
	}
	return dialplan.Target{}, "", 404
}

// startTransfer places the call to a REFER's target on a B2BUA goroutine;
// the channel delivers the answered leg, or nil (the transferor was told
// why). It never blocks the sender: the channel has room for the result.
func (b *b2bua) startTransfer(tc *xferContext, a *uasLeg, l *uacLeg, ref *sip.Request) <-chan *uacLeg {
	out := make(chan *uacLeg, 1)
	b.goCall("anchored transfer", func(ctx context.Context) {
		l.notifyRefer("SIP/2.0 100 Trying", false)
		t, user, code := referTarget(tc.view, ref.GetHeader("Refer-To").Value())
		if code != 0 {
			l.notifyRefer("SIP/2.0 "+strconv.Itoa(code)+" "+statusText(code), true)
			b.s.ctl.transfers.WithLabelValues("failed").Inc()
			out <- nil
			return
		}
		plan := routing.DecideTarget(t, tc.caller, tc.view, routing.Options{
			Trunks: b.s.trunks.huntOrder(tc.view.Tenant.Trunks),
			Contacts: func(aor string) []location.Binding {
				lctx, cancel := context.WithTimeout(ctx, requestTimeout)
				defer cancel()
				return b.s.contacts(lctx, aor)
			},
		})
		b.s.metrics.routing.WithLabelValues(plan.Kind).Inc()
		b.s.ctl.transfers.WithLabelValues("started").Inc()
		sess, local, err := b.newSession()
		if err != nil {
			l.notifyRefer("SIP/2.0 503 Service Unavailable", true)
			b.s.ctl.transfers.WithLabelValues("failed").Inc()
			out <- nil
			return
		}
		to := sip.Uri{Scheme: "sip", User: user, Host: tc.view.Tenant.Domain}
		nl := b.originate(plannedCall{view: tc.view, call: tc.caller, plan: plan}, a.req.From(), to, sess, local)
		select {
		case res := <-nl.vtx.final:
			if res.StatusCode >= 300 {
				nl.end("failed")
				l.notifyRefer("SIP/2.0 "+strconv.Itoa(res.StatusCode)+" "+res.Reason, true)
				b.s.ctl.transfers.WithLabelValues("failed").Inc()
				out <- nil
				return
			}
			if err := nl.accept(res); err != nil {
				nl.end("bad_sdp")
				l.notifyRefer("SIP/2.0 488 Not Acceptable Here", true)
				b.s.ctl.transfers.WithLabelValues("failed").Inc()
				out <- nil
				return
			}
			runSession(ctx, nl.sess)
			b.s.ctl.transfers.WithLabelValues("completed").Inc()
			out <- nl
			l.notifyRefer("SIP/2.0 200 OK", true)
		case <-a.hungUp.ch():
			nl.end("caller_cancelled")
			out <- nil
		case <-ctx.Done():
			nl.end("shutdown")
			out <- nil
		}
	})
	return out
}

// releaseTransferor ends the transferor's leg once it hung up, or after
// transferorGrace.
func (b *b2bua) releaseTransferor(l *uacLeg) {
	b.goCall("transferor leg", func(ctx context.Context) {
		select {
		case <-l.hungUp.ch():
		case <-time.After(transferorGrace):
		case <-ctx.Done():
		}
		l.end("transferred")
	})
}
