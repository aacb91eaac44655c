package sip

import (
	"context"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/media"
)

// HoldMusic is implemented by Applications that give the callers the
// engine holds music (package apps: the tenant's moh setting). sip asks for
// it when it bridges two legs it anchors — an attendant's transfer, a
// screened forward accepted — and while the caller of a screened forward
// waits for the announcement to end. Without it a bridged call put on hold
// keeps relaying whatever the holding phone sends, and a screened caller
// hears its own phone's ringback.
type HoldMusic interface {
	// HoldMusic returns the endless source a held party of view's tenant
	// hears; nil = none.
	HoldMusic(view *dialplan.View) media.Source
}

// holdMusic is the tenant's music on hold, nil when the applications give
// none.
func (b *b2bua) holdMusic(view *dialplan.View) media.Source {
	hm, ok := b.s.cfg.Apps.(HoldMusic)
	if !ok || view == nil {
		return nil
	}
	return hm.HoldMusic(view)
}

// renegotiations is signalled (never blocking, coalesced) every time a
// re-INVITE or UPDATE changed the leg's media, so a bridge can look at the
// hold state again.
func (m *mediaLeg) renegotiations() <-chan struct{} { return m.renegCh() }

func (m *mediaLeg) renegCh() chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.reneg == nil {
		m.reneg = make(chan struct{}, 1)
	}
	return m.reneg
}

func (m *mediaLeg) renegotiated() {
	select {
	case m.renegCh() <- struct{}{}:
	default:
	}
}

// bridged is the media of two bridged legs under hold: while one side has
// put the other on hold (it offered sendonly, inactive or 0.0.0.0) the
// relay stops and the waiting side hears the music on hold; the re-INVITE
// back to sendrecv stops the music and relays again. With both sides
// holding nobody hears anything. With no music (nil) it is a plain bridge,
// as before music on hold existed: the holding phone's own audio is
// relayed. Owned by the bridging goroutine; not safe for concurrent use.
type bridged struct {
	ctx   context.Context
	a, b  *media.Session
	br    *media.Bridge
	moh   media.Source
	music *playing       // the music playing, or nil
	to    *media.Session // who hears it
}

func newBridged(ctx context.Context, a, b *media.Session, moh media.Source) *bridged {
	m := &bridged{ctx: ctx, a: a, b: b, br: media.NewBridge(a, b), moh: moh}
	m.apply()
	return m
}

// apply relays, or plays the music to the waiting side, as the legs' hold
// state says. Call it after every renegotiation of either leg.
func (m *bridged) apply() {
	aHolds, bHolds := m.a.Negotiated().OnHold, m.b.Negotiated().OnHold
	if m.moh == nil || !aHolds && !bHolds {
		m.stopMusic()
		m.br.Start()
		return
	}
	var waiting *media.Session
	switch {
	case aHolds && !bHolds:
		waiting = m.b
	case bHolds && !aHolds:
		waiting = m.a
	}
	m.br.Stop() // a session has one source at a time: no relay under the music
	if waiting == m.to && m.music != nil {
		return
	}
	m.stopMusic()
	if waiting != nil {
		m.music, m.to = play(m.ctx, media.NewPlayer(waiting), m.moh), waiting
	}
}

func (m *bridged) stopMusic() {
	m.music.stop()
	m.music, m.to = nil, nil
}

// swap bridges a to another b leg (a transfer), applying its hold state.
func (m *bridged) swap(b *media.Session) {
	m.stop()
	m.b, m.br = b, media.NewBridge(m.a, b)
	m.apply()
}

// stop ends relay and music; the sessions stay open.
func (m *bridged) stop() {
	m.stopMusic()
	m.br.Stop()
}

// earlyMusic plays the music on hold to the caller of a screened forward
// while the forwarded leg hears the announcement: a 183 Session Progress
// with our answer, then the loop as early media. Only for tenants that set
// moh (without it the caller keeps its own phone's ringback after the
// 180, as before), and not after a late offer: our SDP would be an offer,
// which an unreliable 183 cannot carry. The 200 on acceptance carries the
// same answer. The caller's session is not run here (no inactivity timer:
// phones rarely send early RTP); only sent on. Stop it before bridging.
func (c *call) earlyMusic(a *uasLeg) *playing {
	if a.lateOffer || c.view.Tenant.MOH == nil {
		return nil
	}
	moh := c.s.b2b.holdMusic(c.view)
	if moh == nil {
		return nil
	}
	c.s.send(a.tx, a.req, a.newResponse(183, "Session Progress", a.answer))
	return play(c.s.b2b.ctx, media.NewPlayer(a.sess), moh)
}
