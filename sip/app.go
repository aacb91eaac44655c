package sip

import (
	"context"
	"errors"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/media"
	"github.com/switchboard/switchboard/routing"
)

// Applications are the calls switchboard answers itself — the auto
// attendant, the press-1 screening announcement (package apps) — written
// against the leg API below. cmd/switchboard sets them in Config.Apps; sip
// never imports them. Without them an Attendant step is answered 480 and a
// screened forward is declined.
type Applications interface {
	// Run runs an application step (routing.Attendant) of a call sip has
	// answered and whose ACK came, on a call goroutine sip owns; ctx ends
	// at shutdown. It returns how the call ended, for the CDR. sip hangs
	// up the caller afterwards if the application did not.
	Run(ctx context.Context, c *Call, st routing.Step) string
	// Screen announces a call to the forwarded leg of a screened forward
	// that has answered, and returns its decision: ScreenAccepted,
	// ScreenDeclined, ScreenTimeout, or ScreenCallerCancelled when ctx
	// ended first (the caller cancelled, or shutdown).
	Screen(ctx context.Context, fwd *Leg, sc Screened) string
}

// Screened is what the screening announcement says about a call.
type Screened struct {
	Tenant string // the tenant's domain
	Number string // the caller's number, digits only; "" when unknown or private
}

// Screening results, the values of switchboard_screening_total{result}.
const (
	ScreenAccepted        = "accepted"
	ScreenDeclined        = "declined"
	ScreenTimeout         = "timeout"
	ScreenNoAnswer        = "no_answer"
	ScreenBusy            = "busy"
	ScreenCallerCancelled = "caller_cancelled"
)

// Errors of Call.Dial.
var (
	ErrNoPort     = errors.New("sip: no RTP port")
	ErrCallerGone = errors.New("sip: caller left")
	ErrBadAnswer  = errors.New("sip: answer without usable SDP")
)

// Leg is one side of a call switchboard anchors: its RTP session and its
// SIP dialog. Its methods are safe to call from the goroutine that runs the
// application.
type Leg struct {
	m      *mediaLeg
	player *media.Player
	hangUp func()
}

func newLeg(m *mediaLeg, hangUp func()) *Leg {
	return &Leg{m: m, player: media.NewPlayer(m.sess), hangUp: hangUp}
}

// Play starts playing src to the leg from its own goroutine and returns at
// once, so the application stays free to read digits and events.
func (l *Leg) Play(ctx context.Context, src media.Source) *Playback {
	return &Playback{p: play(ctx, l.player, src)}
}

// Digits delivers the DTMF keys the peer presses (RFC 4733 or SIP INFO).
func (l *Leg) Digits() <-chan byte { return l.m.sess.DTMF().Digits() }

// HungUp is closed when the peer hung up (its BYE) or we hung it up.
func (l *Leg) HungUp() <-chan struct{} { return l.m.hungUp.ch() }

// MediaDone is closed when the leg's RTP ended: no packets within the
// inactivity timeout, or the session closed.
func (l *Leg) MediaDone() <-chan struct{} { return l.m.sess.Done() }

// Gone reports whether the peer has hung up.
func (l *Leg) Gone() bool { return l.m.hungUp.done() }

// Session is the leg's RTP session, for applications that record or
// generate media themselves.
func (l *Leg) Session() *media.Session { return l.m.sess }

// HangUp sends BYE unless the peer hung up first; it waits for the answer
// (bounded). Idempotent.
func (l *Leg) HangUp() { l.hangUp() }

// Playback is a prompt or tone playing on a leg.
type Playback struct{ p *playing }

// Stop interrupts the playback and waits until it has returned; nil-safe.
func (p *Playback) Stop() {
	if p != nil {
		p.p.stop()
	}
}

// Finished is closed when the playback ends by itself; nil-safe (never).
func (p *Playback) Finished() <-chan struct{} {
	if p == nil {
		return nil
	}
	return p.p.finished()
}

// Call is a call switchboard answered, as an application sees it: the
// caller's leg and what routing knew about the call.
type Call struct {
	*Leg
	View   *dialplan.View
	Caller routing.Call
	b      *b2bua
	uas    *uasLeg
}

// Plan decides where a target chosen during the call (an attendant option,
// an extension dialled) rings, with this server's trunks and registrations.
func (c *Call) Plan(ctx context.Context, t dialplan.Target) routing.Plan {
	s := c.b.s
	plan := routing.DecideTarget(t, c.Caller, c.View, routing.Options{
		Trunks: s.trunks.huntOrder(c.View.Tenant.Trunks),
		Contacts: func(aor string) []location.Binding {
			lctx, cancel := context.WithTimeout(ctx, requestTimeout)
			defer cancel()
			return s.contacts(lctx, aor)
		},
	})
	s.metrics.routing.WithLabelValues(plan.Kind).Inc()
	return plan
}

// Outbound is a call switchboard placed and that answered: its leg, until
// End.
type Outbound struct {
	*Leg
	l *uacLeg
}

// End hangs the leg up (or cancels it) and returns its port; reason goes
// to its CDR. Call it exactly once.
func (o *Outbound) End(reason string) { o.l.end(reason) }

// Dial places a call from the caller's identity to user@tenant, executed by
// plan — forking, forwards and trunks are the proxy's — while the caller's
// leg keeps hearing whatever it plays. It returns the answered leg; or the
// final status code (>= 300) of a call nobody answered; or ErrNoPort,
// ErrBadAnswer, or ErrCallerGone when the caller hung up, its RTP ended or
// ctx ended first (the placed call is then ended already).
func (c *Call) Dial(ctx context.Context, plan routing.Plan, user string) (*Outbound, int, error) {
	b := c.b
	sess, local, err := b.newSession()
	if err != nil {
		b.log.Warn("no RTP port for a transfer", "error", err)
		return nil, 0, ErrNoPort
	}
	to := sip.Uri{Scheme: "sip", User: user, Host: c.View.Tenant.Domain}
	l := b.originate(plannedCall{view: c.View, call: c.Caller, plan: plan}, c.uas.req.From(), to, sess, local)
	select {
	case res := <-l.vtx.final:
		if res.StatusCode >= 300 {
			l.end("failed")
			return nil, res.StatusCode, nil
		}
		if err := l.accept(res); err != nil {
			b.log.Warn("callee answer unusable", "error", err)
			l.end("bad_sdp")
			return nil, 0, ErrBadAnswer
		}
		runSession(ctx, l.sess)
		return &Outbound{Leg: newLeg(&l.mediaLeg, l.bye), l: l}, 0, nil
	case <-c.HungUp():
		l.end("caller_cancelled")
	case <-c.MediaDone():
		l.end("rtp_timeout")
	case <-ctx.Done():
		l.end("shutdown")
	}
	return nil, 0, ErrCallerGone
}

// Bridge relays RTP between the caller and out until one of them ends,
// then hangs up the other. It returns how the call ended: caller_hangup,
// callee_hangup, rtp_timeout or shutdown.
func (c *Call) Bridge(ctx context.Context, out *Outbound) string {
	return c.b.bridge(ctx, c.uas, out.l, &xferContext{view: c.View, caller: c.Caller}, c.b.holdMusic(c.View))
}

// ResultFor names the outcome of a final status code, as the calls_total
// metric and the CDRs do (busy, not_found, declined, unavailable).
func ResultFor(code int) string { return resultFor(code) }
