package sip

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/media"
	"github.com/switchboard/switchboard/routing"
)

// Call pickup (*8 and **<ext>, routing.Pickup). The call to pick up is a
// proxied call still ringing: its caller's INVITE is pending in that call's
// event loop. The picker's loop asks that loop to give the call up; it
// cancels its ringing branches ("Call completed elsewhere", so the phones
// log no missed call), answers its caller itself with engine media, and
// hands the answered leg over. The picker's INVITE is answered the same
// way, and a B2BUA goroutine bridges the two legs until either hangs up:
//
//	X ──INVITE──▶ switchboard ──INVITE──▶ B (rings)
//	P ──INVITE *8──▶ switchboard
//	                 switchboard ──CANCEL──▶ B
//	X ◀──200 (engine SDP)── switchboard ──200 (engine SDP)──▶ P
//	X ◀═════════ RTP bridged by switchboard ═════════▶ P
//
// Only calls ringing on this instance can be picked up, and only those a
// phone placed (not calls switchboard originates itself: an attendant's
// transfer or a park callback).

// ringingCalls are the proxied calls ringing a user of this instance, by
// user key (tenant "/" user id, as the busy lamps key them).
type ringingCalls struct {
	mu sync.Mutex
	m  map[string]map[*call]struct{}
}

func (r *ringingCalls) add(key string, c *call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]map[*call]struct{}{}
	}
	if r.m[key] == nil {
		r.m[key] = map[*call]struct{}{}
	}
	r.m[key][c] = struct{}{}
}

func (r *ringingCalls) remove(keys []string, c *call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range keys {
		delete(r.m[k], c)
		if len(r.m[k]) == 0 {
			delete(r.m, k)
		}
	}
}

// candidates returns the calls ringing any of keys, oldest first.
func (r *ringingCalls) candidates(keys []string) []*call {
	r.mu.Lock()
	var out []*call
	for _, k := range keys {
		for c := range r.m[k] {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b *call) int { return a.start.Compare(b.start) })
	return out
}

// pickupAsk asks a ringing call's loop to give its caller up to a picker;
// reply (buffered) gets the answered leg, or nil when the call is past
// ringing.
type pickupAsk struct {
	by    string // the picking user, for the CDR
	reply chan *pickedCall
}

// pickedCall is the caller's leg of a picked-up call, answered by the
// engine, and the CDR fields of its call.
type pickedCall struct {
	a   *uasLeg
	cdr []any
}

// ringingFor notes that a branch rings a user, so the call can be picked
// up. Called on the call's loop.
func (c *call) ringingFor(br *branch) {
	key := c.blfCallee(br)
	if key == "" || slices.Contains(c.ringKeys, key) {
		return
	}
	if _, originated := c.tx.(*virtualTx); originated {
		return
	}
	c.ringKeys = append(c.ringKeys, key)
	c.s.ringing.add(key, c)
}

// notRinging takes the call off the pickup table.
func (c *call) notRinging() {
	c.s.ringing.remove(c.ringKeys, c)
	c.ringKeys = nil
}

// giveUp is the ringing call's side of a pickup, on its loop: stop the
// phones, answer the caller with engine media, hand the leg over.
func (c *call) giveUp(ask pickupAsk) {
	if c.final || c.huntActive() {
		ask.reply <- nil
		return
	}
	a, code, _ := c.s.b2b.newUAS(c.req, c.tx)
	if code != 0 {
		ask.reply <- nil
		return
	}
	c.notRinging()
	c.cancelAll(`SIP;cause=200;text="Call completed elsewhere"`)
	c.blfEnded() // the rung phones' lamps stop blinking
	a.answerCall()
	c.handOff()
	c.pickedUp = true
	ask.reply <- &pickedCall{a: a, cdr: append(c.cdrFields("answered", 0), "picked_up_by", ask.by)}
}

// takeRinging asks the calls ringing keys, oldest first, to give their
// caller up; nil when none did.
func (s *Server) takeRinging(keys []string, by, own string) *pickedCall {
	for _, x := range s.ringing.candidates(keys) {
		if x.req.CallID().Value() == own {
			continue
		}
		ask := pickupAsk{by: by, reply: make(chan *pickedCall, 1)}
		select {
		case x.pickups <- ask:
		case <-x.ctx.Done(): // its loop has returned
			continue
		case <-time.After(requestTimeout):
			continue
		}
		// A loop that took the ask always answers it before anything else.
		if got := <-ask.reply; got != nil {
			return got
		}
	}
	return nil
}

// answerHere makes the engine the UAS of this call (pickup and park answer
// with their own media). The engine's own legs (a carrier transfer's
// target, a ringback) are refused 480: they have no phone to answer. On
// false the caller has been answered already.
func (c *call) answerHere() (*uasLeg, bool) {
	if _, originated := c.tx.(*virtualTx); originated {
		c.respond(480, "Temporarily Unavailable", "unavailable")
		return nil, false
	}
	a, code, reason := c.s.b2b.newUAS(c.req, c.tx)
	if code != 0 {
		c.respond(code, reason, resultFor(code))
		return nil, false
	}
	return a, true
}

// pickup is the picker's Pickup step: find a ringing call, answer both
// and bridge them. Nothing ringing: 404.
func (c *call) pickup(st routing.Pickup) {
	b := c.s.b2b
	// The picker's port first: a caller answered for nobody would be worse
	// than a picker told 503.
	a, ok := c.answerHere()
	if !ok {
		return
	}
	keys := make([]string, 0, len(st.Users))
	for _, u := range st.Users {
		keys = append(keys, c.view.Tenant.Domain+"/"+u)
	}
	by := callerLabel(c.caller.Caller)
	x := c.s.takeRinging(keys, by, c.req.CallID().Value())
	if x == nil {
		a.close()
		c.respond(404, "Not Found", "not_found")
		return
	}
	a.answerCall()
	c.handOff()
	cdr := c.cdrFields("answered", 0)
	moh := b.holdMusic(c.view)
	b.goCall("pickup", func(ctx context.Context) {
		start := time.Now()
		defer a.close()
		defer x.a.close()
		result := "no_ack"
		if bothAcked(ctx, a, x.a) {
			runSession(ctx, a.sess)
			runSession(ctx, x.a.sess)
			result = b.bridgeAnswered(ctx, x.a, a, moh)
		}
		byeBoth(x.a, a)
		b.finishCall(x.cdr, result, start)
		b.finishCall(cdr, result, start)
	})
}

// bothAcked waits for the ACKs of two answered legs; false when either
// never came or its answer was unusable.
func bothAcked(ctx context.Context, a, b *uasLeg) bool {
	other := make(chan bool, 1)
	go func() { other <- b.waitAck(ctx) }()
	ok := a.waitAck(ctx)
	ok = <-other && ok
	return ok && !a.badAnswer && !b.badAnswer
}

// byeBoth hangs up two legs at once (each bye waits for its answer).
func byeBoth(a, b *uasLeg) {
	done := make(chan struct{})
	go func() { defer close(done); b.bye() }()
	a.bye()
	<-done
}

// bridgeAnswered relays RTP between a caller leg and a leg that stands in
// for its callee (the picker, a parked call's retriever) until one ends,
// with music on hold while one side holds. It returns how the call ended:
// caller_hangup, callee_hangup, rtp_timeout or shutdown. The legs are hung
// up by the caller of bridgeAnswered.
func (b *b2bua) bridgeAnswered(ctx context.Context, caller, callee *uasLeg, moh media.Source) string {
	br := newBridged(ctx, caller.sess, callee.sess, moh)
	defer br.stop()
	for {
		select {
		case <-caller.hungUp.ch():
			return "caller_hangup"
		case <-callee.hungUp.ch():
			return "callee_hangup"
		case <-caller.sess.Done():
			return "rtp_timeout"
		case <-callee.sess.Done():
			return "rtp_timeout"
		case <-ctx.Done():
			return "shutdown"
		case <-caller.renegotiations():
			br.apply()
		case <-callee.renegotiations():
			br.apply()
		}
	}
}

// hangUpLate ACKs and hangs up a 2xx from a phone that answered just as
// its call was picked up: the caller is the picker's now.
func (c *call) hangUpLate(res *sip.Response) {
	c.s.b2b.hangUpExtra(res, &uacLeg{callID: c.req.CallID().Value(), tag: tagOf(c.req.From().Params)})
}
