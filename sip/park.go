package sip

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/media"
	"github.com/switchboard/switchboard/routing"
)

// Call park (*70, routing.Park and routing.ParkRetrieve). A call that
// reaches *70 — typically the transferee's INVITE after its colleague
// blind-transferred it there, with Referred-By naming that colleague — is
// answered by the engine and waits on the tenant's lowest free slot,
// hearing the slot's digits and then music on hold:
//
//	B ──REFER Refer-To: *70──▶ A (relayed) ; A ──INVITE *70, Referred-By: B──▶ switchboard
//	switchboard ──200──▶ A ; A hears "7 0 1", then music on hold
//	C ──INVITE 701──▶ switchboard ──200──▶ C ; A ◀═══ RTP bridged ═══▶ C
//
// Nobody dials the slot within the timeout: the parker (Referred-By, else
// whoever dialled *70) is called back through its routing plan, for at
// most another timeout, while the parked party keeps the music; answered,
// the two are bridged. Not answered, the call stays parked (still
// retrievable) for one more timeout and is then hung up. Slots live in
// this instance's memory: a slot parked on one instance is retrieved
// through that instance only.

// ParkConfig configures call park. Slots 0 turns it off.
type ParkConfig struct {
	Timeout time.Duration // default 45s
	First   int           // the first slot number (default 701 when Slots is set)
	Slots   int
}

func (p ParkConfig) slots() routing.ParkSlots {
	return routing.ParkSlots{First: p.First, Count: p.Slots}
}

func (p ParkConfig) timeout() time.Duration {
	if p.Timeout <= 0 {
		return 45 * time.Second
	}
	return p.Timeout
}

// ParkAnnouncer is implemented by Applications that tell a parked caller
// its slot (package apps: the slot's digits). Without it the parked party
// hears only the music.
type ParkAnnouncer interface {
	ParkAnnouncement(view *dialplan.View, slot int) media.Source
}

// parkLot holds the parked calls of this instance by tenant and slot.
type parkLot struct {
	mu sync.Mutex
	m  map[string]*parked // tenant "/" slot
}

// parked is one parked call, as a retriever reaches it.
type parked struct {
	key      string
	retrieve chan retrieveAsk
	gone     once // no longer on its slot: retrieved, rung back, or ended
}

// retrieveAsk hands a retriever's leg to the parked call's goroutine;
// answered is closed once the retriever's 200 is out.
type retrieveAsk struct {
	a        *uasLeg
	cdr      []any
	answered chan struct{}
}

func parkKey(domain string, slot int) string { return domain + "/" + strconv.Itoa(slot) }

// take reserves the lowest free slot of the tenant; a slot that is also a
// name of the tenant's directory is skipped (dialling it rings that).
func (l *parkLot) take(view *dialplan.View, slots routing.ParkSlots) (int, *parked, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*parked{}
	}
	for n := slots.First; n < slots.First+slots.Count; n++ {
		key := parkKey(view.Tenant.Domain, n)
		if _, taken := l.m[key]; taken {
			continue
		}
		if _, shadowed := view.Lookup(strconv.Itoa(n)); shadowed {
			continue
		}
		p := &parked{key: key, retrieve: make(chan retrieveAsk), gone: newOnce()}
		l.m[key] = p
		return n, p, true
	}
	return 0, nil, false
}

func (l *parkLot) get(domain string, slot int) *parked {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[parkKey(domain, slot)]
}

// free takes p off its slot; idempotent.
func (l *parkLot) free(p *parked) {
	l.mu.Lock()
	if l.m[p.key] == p {
		delete(l.m, p.key)
	}
	l.mu.Unlock()
	p.gone.close()
}

// parkedCall is what the parked call's goroutine needs.
type parkedCall struct {
	a      *uasLeg
	p      *parked
	slot   int
	view   *dialplan.View
	caller routing.Call    // the parked party's call, for the ringback's plan
	from   *sip.FromHeader // the parked party, presented to the parker
	parker *dialplan.User  // rung back on timeout; nil = nobody
}

// park is the Park step: answer, take a slot, hold the call there.
func (c *call) park() {
	b := c.s.b2b
	a, ok := c.answerHere()
	if !ok {
		return
	}
	slot, p, ok := c.s.parked.take(c.view, c.s.cfg.Park.slots())
	if !ok {
		a.close()
		c.respond(486, "Busy Here", "busy") // every slot taken
		return
	}
	a.answerCall()
	c.handOff()
	cdr := append(c.cdrFields("answered", 0), "park_slot", slot)
	pc := &parkedCall{a: a, p: p, slot: slot, view: c.view, caller: c.caller, from: c.req.From(), parker: c.parker()}
	c.s.log.Info("call parked", "tenant", c.view.Tenant.Domain, "slot", slot, "call_id", c.req.CallID().Value())
	b.goCall("park", func(ctx context.Context) {
		start := time.Now()
		defer a.close()
		defer c.s.parked.free(p)
		result := "no_ack"
		if a.waitAck(ctx) && !a.badAnswer {
			runSession(ctx, a.sess)
			result = b.holdParked(ctx, pc)
		}
		a.bye()
		b.finishCall(cdr, result, start)
	})
}

// parker is who parked the call: the user named by Referred-By (the
// transferor of a blind transfer to *70), else the caller itself.
func (c *call) parker() *dialplan.User {
	if h := c.req.GetHeader("Referred-By"); h != nil {
		var u sip.Uri
		params := sip.NewParams()
		if _, err := sip.ParseAddressValue(h.Value(), &u, &params); err == nil {
			if e, ok := c.view.Lookup(u.User); ok && e.User != nil {
				return e.User
			}
		}
	}
	return c.caller.Caller.User
}

// Phases of a parked call.
const (
	parkWaiting = iota // on its slot, first timeout running
	parkRinging        // ringing the parker back
	parkLast           // on its slot again until the last timeout
)

// holdParked runs a parked call until it is retrieved, rung back and
// answered, or ends; it returns how it ended.
func (b *b2bua) holdParked(ctx context.Context, pc *parkedCall) string {
	a, moh := pc.a, b.holdMusic(pc.view)
	var src media.Source = moh
	if an, ok := b.s.cfg.Apps.(ParkAnnouncer); ok {
		if ann := an.ParkAnnouncement(pc.view, pc.slot); ann != nil {
			src = &followedBy{first: ann, then: moh, switched: -1}
		}
	}
	var music *playing
	if src != nil {
		music = play(ctx, media.NewPlayer(a.sess), src)
	}
	defer func() { music.stop() }()

	timeout := b.s.cfg.Park.timeout()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	phase := parkWaiting
	var back *uacLeg // the ringback, while it rings
	var answered <-chan *sip.Response
	endBack := func(reason string) {
		if back != nil {
			back.end(reason)
			back, answered = nil, nil
		}
	}
	defer endBack("caller_cancelled")
	for {
		select {
		case <-a.hungUp.ch():
			return "caller_hangup"
		case <-a.sess.Done():
			return "rtp_timeout"
		case <-ctx.Done():
			return "shutdown"
		case ask := <-pc.p.retrieve:
			b.s.parked.free(pc.p)
			endBack("retrieved")
			music.stop()
			return b.retrieved(ctx, a, ask, moh)
		case <-timer.C:
			switch phase {
			case parkWaiting:
				phase = parkRinging
				if back = b.ringBack(ctx, pc); back != nil {
					answered = back.vtx.final
				}
			case parkRinging:
				phase = parkLast
				endBack("no_answer")
			default:
				return "park_timeout"
			}
			timer.Reset(timeout)
		case res := <-answered:
			if res.StatusCode >= 300 {
				endBack("failed")
				phase = parkLast
				timer.Reset(timeout)
				continue
			}
			l := back
			back, answered = nil, nil
			if err := l.accept(res); err != nil {
				b.log.Warn("parker's answer unusable", "error", err)
				l.end("bad_sdp")
				phase = parkLast
				continue
			}
			b.s.parked.free(pc.p)
			music.stop()
			runSession(ctx, l.sess)
			end := b.bridge(ctx, a, l, nil, moh)
			l.end(end)
			return end
		}
	}
}

// retrieved bridges a parked call to the user who dialled its slot.
func (b *b2bua) retrieved(ctx context.Context, a *uasLeg, ask retrieveAsk, moh media.Source) string {
	start := time.Now()
	<-ask.answered
	r := ask.a
	defer r.close()
	result := "no_ack"
	if r.waitAck(ctx) && !r.badAnswer {
		runSession(ctx, r.sess)
		result = b.bridgeAnswered(ctx, a, r, moh)
	}
	r.bye()
	b.finishCall(ask.cdr, result, start)
	return result
}

// ringBack calls the parker through its routing plan, from the parked
// party's identity; nil when there is nobody to call or no port.
func (b *b2bua) ringBack(ctx context.Context, pc *parkedCall) *uacLeg {
	if pc.parker == nil {
		return nil
	}
	sess, local, err := b.newSession()
	if err != nil {
		b.log.Warn("no RTP port to ring a parker back", "error", err)
		return nil
	}
	s := b.s
	plan := routing.DecideTarget(dialplan.Target{Kind: dialplan.TargetUser, ID: pc.parker.ID}, pc.caller, pc.view, routing.Options{
		Trunks: s.trunks.huntOrder(pc.view.Tenant.Trunks),
		Contacts: func(aor string) []location.Binding {
			lctx, cancel := context.WithTimeout(ctx, requestTimeout)
			defer cancel()
			return s.contacts(lctx, aor)
		},
	})
	s.metrics.routing.WithLabelValues(plan.Kind).Inc()
	to := sip.Uri{Scheme: "sip", User: pc.parker.ID, Host: pc.view.Tenant.Domain}
	b.log.Info("park timeout: ringing the parker", "tenant", pc.view.Tenant.Domain, "slot", pc.slot, "parker", pc.parker.ID)
	return b.originate(plannedCall{view: pc.view, call: pc.caller, plan: plan}, pc.from, to, sess, local)
}

// retrieve is the ParkRetrieve step: hand the caller to the call parked on
// the slot. Nothing parked there: 404.
func (c *call) retrieve(st routing.ParkRetrieve) {
	if _, originated := c.tx.(*virtualTx); originated {
		c.respond(480, "Temporarily Unavailable", "unavailable")
		return
	}
	p := c.s.parked.get(c.view.Tenant.Domain, st.Slot)
	if p == nil {
		c.respond(404, "Not Found", "not_found")
		return
	}
	a, code, reason := c.s.b2b.newUAS(c.req, c.tx)
	if code != 0 {
		c.respond(code, reason, resultFor(code))
		return
	}
	ask := retrieveAsk{a: a, cdr: append(c.cdrFields("answered", 0), "park_slot", st.Slot), answered: make(chan struct{})}
	select {
	case p.retrieve <- ask:
	case <-p.gone.ch():
		a.close()
		c.respond(404, "Not Found", "not_found")
		return
	}
	a.answerCall()
	c.handOff()
	close(ask.answered)
}

// followedBy plays first, then then (an endless source) from its start.
type followedBy struct {
	first, then media.Source
	switched    int // the frame first ended at; -1 while it plays
}

func (f *followedBy) Frame(c media.Codec, n int) ([]byte, bool) {
	if f.switched < 0 {
		if b, ok := f.first.Frame(c, n); ok {
			return b, true
		}
		f.switched = n
	}
	if f.then == nil {
		return nil, false
	}
	return f.then.Frame(c, n-f.switched)
}
