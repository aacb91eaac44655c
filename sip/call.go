package sip

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/routing"
)

// call executes one routing plan for one INVITE: a stateful forking proxy.
//
// Every branch of every step feeds one event loop, so a phone that answers
// just as its step times out still wins, and a late 2xx from a cancelled
// branch is forwarded like any other (RFC 3261 §16.7 step 5). The loop owns
// the branches; it ends once the caller has a final response and every branch
// has terminated (bounded by drainTimeout).
type call struct {
	s      *Server
	req    *sip.Request
	tx     sip.ServerTransaction
	view   *dialplan.View
	caller routing.Call
	plan   routing.Plan
	ctx    context.Context // ends when the loop returns; cancels branch set-up
	stop   context.CancelFunc

	events    chan branchEvent
	cancelled chan struct{}
	branches  []*branch
	step      int
	stepStart int // index of the first branch of the current step
	timer     *time.Timer

	start    time.Time
	setupObs bool // call_setup_seconds observed
	final    bool // the caller's transaction has a final response
	answered *branch
	outcome  string // CDR/metric result
	// limitSlot: the call holds one of its tenant's concurrent_calls
	// slots (limits.go), given back at finish or by its dialog.
	limitSlot bool
	ended     routing.Outcome   // how the last step that ended without an answer ended
	blf       map[string]string // dialog state reported per user key (blf.go)
	blfStr    blfCache          // strings every dialog event of the call repeats (blf.go)

	// pickups asks a ringing call to give its caller up to a picker;
	// ringKeys are the users it is listed as ringing, pickedUp that it was
	// given up (pickup.go).
	pickups  chan pickupAsk
	ringKeys []string
	pickedUp bool

	hunt     *hunt      // the trunk hunt of an Outbound/Forward step (trunk_hunt.go)
	stepFail failAnswer // answer for a step that could send nothing; zero = 480
}

type branch struct {
	req       *sip.Request
	tx        sip.ClientTransaction
	dest      string // host:port
	transport string
	label     string // what it rings, for logs
	aor       string // the AOR of a ring step's contact; "" for trunks
	step      int
	early     bool          // got a provisional response (CANCEL allowed)
	final     *sip.Response // final response, once received
	cancel    bool          // CANCEL wanted (sent once early)
	cancelled bool          // CANCEL sent
	done      bool          // transaction terminated

	trunk    string     // trunk of a hunt attempt; "" for phones
	authSent bool       // the attempt carried our answer to a challenge
	cseqBump uint32     // CSeq added to the caller's (one per challenge answered)
	auth     sip.Header // the credentials it carried, for the ACK of its 2xx

	// relayed is the binding a branch reaches through the instance holding
	// its flow; a 430 from that instance reroutes the call (drain.go).
	relayed  *location.Binding
	rerouted bool
}

type branchEvent struct {
	b   *branch
	res *sip.Response // nil when the transaction ended
	err error
}

// drainTimeout bounds how long a finished call waits for its cancelled
// branches to report their final responses.
const drainTimeout = 32 * time.Second

func newCall(s *Server, req *sip.Request, tx sip.ServerTransaction, view *dialplan.View, c routing.Call, plan routing.Plan) *call {
	ctx, stop := context.WithCancel(context.Background())
	return &call{
		s: s, req: req, tx: tx, view: view, caller: c, plan: plan, ctx: ctx, stop: stop,
		events:    make(chan branchEvent, 16),
		pickups:   make(chan pickupAsk),
		cancelled: make(chan struct{}),
		start:     time.Now(),
	}
}

func (c *call) run() {
	defer c.stop()
	c.s.metrics.callsActive.Inc()
	callerGone := false
	cancelled, txDone := c.cancelled, c.tx.Done()
	c.tx.OnCancel(func(*sip.Request) { close(cancelled) })
	c.timer = time.NewTimer(time.Hour)
	c.timer.Stop()
	defer c.timer.Stop()

	c.startStep(0)
	var drain <-chan time.Time
	for {
		if c.final && c.pending() == 0 {
			break
		}
		if c.final && drain == nil {
			drain = time.After(drainTimeout)
		}
		select {
		case ev := <-c.events:
			c.onEvent(ev)
		case <-c.timer.C:
			c.onStepEnd(routing.NoAnswer, nil)
		case <-c.huntTimerC():
			c.huntTimeout()
		case ask := <-c.pickups:
			c.giveUp(ask) // pickup.go
		case <-cancelled:
			cancelled = nil
			callerGone = true
			c.cancelAll("")
			if !c.final {
				// sipgo has already answered the INVITE 487.
				c.final = true
				c.outcome = "cancelled"
				c.s.metrics.responses.WithLabelValues("INVITE", "487").Inc()
			}
		case <-txDone:
			txDone = nil
			if !c.final {
				c.final = true
				c.outcome = "failed"
				c.cancelAll("")
			}
		case <-drain:
			c.s.log.Warn("call branches still pending after drain timeout", "call_id", c.req.CallID().Value())
			c.terminateAll()
			c.finish(callerGone)
			return
		}
	}
	c.finish(callerGone)
}

// finish records the metrics and, for calls that never connected, the CDR.
func (c *call) finish(callerGone bool) {
	c.notRinging()
	c.endHunt()
	c.releaseLimit() // an answered call's dialog took the slot over
	if c.answered == nil {
		c.blfEnded()
		c.s.metrics.callsActive.Dec()
		c.s.metrics.calls.WithLabelValues(c.plan.Kind, c.outcome).Inc()
		c.s.cdr(c.cdrFields(c.outcome, 0)...)
	}
}

func (c *call) pending() int {
	n := 0
	for _, b := range c.branches {
		// The answered branch stays in sipgo's Accepted state for Timer M;
		// the call is set up and need not wait for it. A branch with a final
		// response is finished too: its transaction only lingers for Timer D
		// (32 s on UDP) to absorb retransmissions, and waiting for it kept
		// every cancelled or unanswered call in calls_active for 32 s.
		if !b.done && b.final == nil && b != c.answered {
			n++
		}
	}
	return n
}

// startStep runs steps from i until one starts branches or the call ends.
func (c *call) startStep(i int) {
	for ; i < len(c.plan.Steps); i++ {
		c.step, c.stepStart = i, len(c.branches)
		c.endHunt()
		c.stepFail = failAnswer{}
		var timeout time.Duration
		switch st := c.plan.Steps[i].(type) {
		case routing.Ring:
			for _, ct := range st.Contacts {
				c.ring(ct)
			}
			timeout = st.Timeout
		case routing.Outbound:
			if c.refusedByLimits(st.Number, c.callingUser()) { // limits.go
				return
			}
			c.outbound(st)
		case routing.Forward:
			// A forward is an outbound call of the forwarding user.
			if c.refusedByLimits(st.Number, c.forwardingUser(st)) {
				return
			}
			if st.Screening {
				// B2BUA hook: press-1 screening runs on this goroutine (screening.go).
				if c.screen(st) {
					continue
				}
				return
			}
			c.forward(st)
			timeout = st.Timeout
		case routing.Attendant:
			// B2BUA hook: answer and hand the call to the attendant (attendant.go).
			c.attendant(st)
			return
		case routing.Pickup:
			// B2BUA hook: take a ringing call over and bridge it (pickup.go).
			c.pickup(st)
			return
		case routing.Park:
			// B2BUA hook: answer and hold the call on a slot (park.go).
			c.park()
			return
		case routing.ParkRetrieve:
			c.retrieve(st)
			return
		case routing.Voicemail, routing.VoicemailAccess:
			// B2BUA hook: answer and hand the call to voicemail (appstep.go).
			c.application(st)
			return
		case routing.Reject:
			result := resultFor(st.Code)
			if st.Code == 480 && c.ended == routing.NoAnswer {
				// The plan's closing 480 after phones rang out: the call was
				// not answered, not unavailable (metrics and CDR said
				// "unavailable" for every unanswered call).
				result = "no_answer"
			}
			c.respond(st.Code, st.Reason, result)
			return
		default:
			c.respond(500, "Server Internal Error", "failed")
			return
		}
		if len(c.branches) > c.stepStart {
			if timeout <= 0 {
				timeout = stepTimeout
			}
			c.timer.Reset(timeout)
			return
		}
		// Nothing could be sent in this step: treat as unavailable.
		if !c.continueOn(stepContinue(c.plan.Steps[i]), routing.Unavailable) {
			if f := c.stepFail; f.code != 0 {
				c.respond(f.code, f.reason, resultFor(f.code))
				return
			}
			c.respond(480, "Temporarily Unavailable", "unavailable")
			return
		}
	}
	if !c.final {
		c.respond(480, "Temporarily Unavailable", "unavailable")
	}
}

func (c *call) continueOn(set, o routing.Outcome) bool {
	return set.Has(o) && c.step+1 < len(c.plan.Steps)
}

func stepContinue(st routing.Step) routing.Outcome {
	switch st := st.(type) {
	case routing.Ring:
		return st.ContinueOn
	case routing.Forward:
		return st.ContinueOn
	}
	return 0
}

// fork sends the INVITE to one destination and starts reading its
// responses; nil when it could not be sent.
func (c *call) fork(target, dest, transport, label string, edit func(*sip.Request)) *branch {
	uri := sip.Uri{}
	if err := sip.ParseUri(target, &uri); err != nil {
		c.s.log.Warn("unusable contact", "contact", target, "error", err)
		return nil
	}
	if transport == "" {
		transport = "udp"
	}
	// A copy sharing the caller's header values (forward.go); its own CSeq,
	// which a trunk attempt renumbers after a challenge (trunk_hunt.go).
	r := forwardRequest(c.req, uri, true, "Proxy-Authorization", "Route", "Max-Forwards")
	mf := sip.MaxForwardsHeader(maxForwards(c.req) - 1)
	r.AppendHeader(&mf)
	// Our entries go above any Record-Route of an earlier proxy, in order:
	// AppendHeaderAfter would put the second one below the earlier
	// proxy's, and the caller would skip that proxy (a relayed call's B).
	sips := strings.EqualFold(c.req.Recipient.Scheme, "sips") || strings.EqualFold(uri.Scheme, "sips")
	r.PrependHeader(c.s.recordRoute(c.req.Transport(), transport, sips)...)
	c.applyCallerID(r)
	if edit != nil {
		edit(r)
	}
	r.SetTransport(tpUpper(transport))
	r.SetDestination(dest)
	tx, err := c.s.client.TransactionRequest(c.ctx, r, sipgo.ClientRequestAddVia)
	if err != nil {
		c.s.log.Warn("fork failed", "dest", dest, "transport", transport, "error", err)
		return nil
	}
	b := &branch{req: r, tx: tx, dest: dest, transport: transport, label: label, step: c.step}
	c.branches = append(c.branches, b)
	go c.read(b)
	return b
}

// read feeds a branch's responses into the call's event loop until its
// transaction ends. Responses still queued when it ends are delivered first,
// so a 2xx is never mistaken for a failure.
func (c *call) read(b *branch) {
	send := func(ev branchEvent) bool {
		select {
		case c.events <- ev:
			return true
		case <-c.ctx.Done():
			return false
		}
	}
	for {
		select {
		case <-c.ctx.Done():
			// The call is over; only retransmissions are left, which the
			// transaction absorbs. Without this the goroutine waited for
			// Timer D.
			return
		case res := <-b.tx.Responses():
			if !send(branchEvent{b: b, res: res}) {
				return
			}
		case <-b.tx.Done():
			for {
				select {
				case res := <-b.tx.Responses():
					if !send(branchEvent{b: b, res: res}) {
						return
					}
				default:
					send(branchEvent{b: b, err: b.tx.Err()})
					return
				}
			}
		}
	}
}

// applyCallerID presents the plan's caller-ID to internal callees.
func (c *call) applyCallerID(r *sip.Request) {
	id := c.plan.CallerID
	if id.Number == "" {
		return
	}
	from := r.From()
	nf := &sip.FromHeader{DisplayName: id.Name, Address: sip.Uri{Scheme: "sip", User: id.Number, Host: c.view.Tenant.Domain},
		Params: from.Params.Clone()}
	removeHeaders(r, "From")
	r.AppendHeader(nf)
}

// outbound sends the call to the PSTN through the trunks (trunk_hunt.go)
// with caller-ID override, in each trunk's number format.
func (c *call) outbound(st routing.Outbound) {
	host, _ := c.s.localAddr("udp")
	c.startHunt(st.Trunk, st.Number, "trunk", func(r *sip.Request, t Trunk) {
		setIdentity(r, c.formatID(st.CallerID, t), host)
	})
}

// forward sends a diverted call to an external number through the trunks
// with Diversion (RFC 5806) and History-Info (RFC 7044).
func (c *call) forward(st routing.Forward) {
	host, _ := c.s.localAddr("udp")
	id := st.CallerID
	cause := map[string]string{"unconditional": "302", "no-answer": "408", "user-busy": "486", "unavailable": "480"}[st.Reason]
	if cause == "" {
		cause = "302"
	}
	diverter := "sip:" + st.DivertedBy + "@" + c.view.Tenant.Domain
	c.startHunt(st.Trunk, st.Number, "forward", func(r *sip.Request, t Trunk) {
		if id.Number != "" {
			setIdentity(r, c.formatID(id, t), host)
		}
		r.AppendHeader(sip.NewHeader("Diversion", "<"+diverter+">;reason="+st.Reason+";counter=1"))
		r.AppendHeader(sip.NewHeader("History-Info", "<"+diverter+">;index=1"))
		r.AppendHeader(sip.NewHeader("History-Info", "<"+r.Recipient.String()+";cause="+cause+">;index=1.1"))
	})
}

// setIdentity sets From and P-Asserted-Identity to a caller-ID (the carrier
// bills and presents by them).
func setIdentity(r *sip.Request, id routing.CallerID, host string) {
	from := r.From()
	params := from.Params.Clone()
	removeHeaders(r, "From")
	removeHeaders(r, "P-Asserted-Identity")
	r.AppendHeader(&sip.FromHeader{DisplayName: id.Name, Address: sip.Uri{Scheme: "sip", User: id.Number, Host: host}, Params: params})
	pai := "<sip:" + id.Number + "@" + host + ">"
	if id.Name != "" {
		pai = strconv.Quote(id.Name) + " " + pai
	}
	r.AppendHeader(sip.NewHeader("P-Asserted-Identity", pai))
}

func (c *call) onEvent(ev branchEvent) {
	b := ev.b
	if ev.res == nil {
		b.done = true
		if b.final == nil && !c.final {
			// Timer B or a transport error: the fork failed like a 408.
			b.final = sip.NewResponseFromRequest(b.req, 408, "Request Timeout", nil)
			c.s.log.Debug("fork ended without response", "dest", b.dest, "error", ev.err)
			if b.trunk != "" {
				c.huntFinal(b, nil)
				return
			}
			c.checkStep()
		}
		return
	}
	res := ev.res
	switch {
	case res.StatusCode < 200:
		b.early = true
		if b.cancel && !b.cancelled {
			c.sendCancel(b, "")
		}
		c.huntProvisional(b)
		if res.StatusCode == 100 || c.final || b.cancel {
			return
		}
		c.observeSetup()
		c.blfRinging(b)
		c.ringingFor(b) // pickup.go
		c.relay(res)
	case res.StatusCode < 300:
		b.final = res
		c.observeSetup()
		if c.answered == nil && !c.final {
			c.answered = b
			c.final = true
			c.outcome = "answered"
			c.timer.Stop()
			// Track the dialog before relaying the 2xx: a fast caller's BYE
			// could otherwise arrive first, miss the table, and leave the
			// call in calls_active until MaxCallAge.
			c.s.dialogs.add(c, b, res, c.blfAnswered(b))
			c.relay(res)
			c.cancelAll(`SIP;cause=200;text="Call completed elsewhere"`)
			return
		}
		if c.pickedUp {
			// The caller is the picker's: this phone answered too late.
			c.hangUpLate(res)
			return
		}
		// Another fork answered too: forward it so the caller can ACK and
		// BYE the extra dialog (RFC 3261 §13.2.2.4).
		c.relayStateless(res)
	default:
		if b.final == nil {
			b.final = res
		}
		if c.final || b.cancel {
			return
		}
		if b.trunk != "" {
			c.huntFinal(b, res)
			return
		}
		if res.StatusCode == 430 && !b.cancel && c.reroute(b) {
			return // the phone moved to another instance: ringing it there
		}
		if res.StatusCode >= 600 {
			c.cancelAll("")
			c.onStepEnd(outcomeFor(res.StatusCode), res)
			return
		}
		c.checkStep()
	}
}

// checkStep ends the current step when all its branches have a final answer.
func (c *call) checkStep() {
	if c.final || c.huntActive() {
		return
	}
	for _, b := range c.branches[c.stepStart:] {
		if b.final == nil {
			return
		}
	}
	best := c.best()
	code := 480
	if best != nil {
		code = best.StatusCode
	}
	c.onStepEnd(outcomeFor(code), best)
}

// best picks the response to forward when no branch answered (RFC 3261
// §16.7 step 6): a 6xx if any, else the lowest class, preferring 486 within
// the 4xx class so "busy" is what the caller hears.
func (c *call) best() *sip.Response {
	var best *sip.Response
	rank := func(r *sip.Response) int {
		switch {
		case r.StatusCode >= 600:
			return 0
		case r.StatusCode == 486:
			return 1
		case r.StatusCode >= 400 && r.StatusCode != 408:
			return 2
		case r.StatusCode >= 500:
			return 3
		default:
			return 4
		}
	}
	for _, b := range c.branches[c.stepStart:] {
		if b.final == nil || b.final.StatusCode < 300 || b.cancel {
			continue
		}
		if best == nil || rank(b.final) < rank(best) {
			best = b.final
		}
	}
	return best
}

func outcomeFor(code int) routing.Outcome {
	switch {
	case code == 486 || code == 600:
		return routing.Busy
	case code == 603 || code == 403 || code == 404:
		return routing.Declined
	default:
		return routing.Unavailable
	}
}

func resultFor(code int) string {
	switch {
	case code == 486 || code == 600:
		return "busy"
	case code == 404 || code == 484:
		return "not_found"
	case code == 403 || code == 603:
		return "declined"
	case code >= 200 && code < 300:
		return "answered"
	default:
		return "unavailable"
	}
}

// onStepEnd moves to the next step or answers the caller.
func (c *call) onStepEnd(o routing.Outcome, best *sip.Response) {
	if c.final {
		return
	}
	c.timer.Stop()
	c.cancelStep()
	c.ended = o
	if c.continueOn(stepContinue(c.plan.Steps[c.step]), o) {
		c.startStep(c.step + 1)
		return
	}
	switch {
	case best != nil:
		c.outcome = resultFor(best.StatusCode)
		c.final = true
		c.relay(best)
	case o == routing.NoAnswer:
		c.respond(480, "Temporarily Unavailable", "no_answer")
	default:
		c.respond(480, "Temporarily Unavailable", "unavailable")
	}
}

func (c *call) cancelStep() {
	for _, b := range c.branches[c.stepStart:] {
		c.cancelBranch(b, "")
	}
}

func (c *call) cancelAll(reason string) {
	for _, b := range c.branches {
		if b != c.answered {
			c.cancelBranch(b, reason)
		}
	}
}

func (c *call) cancelBranch(b *branch, reason string) {
	if b.final != nil || b.done || b.cancel {
		return
	}
	b.cancel = true
	if b.early {
		c.sendCancel(b, reason)
	}
	// Without a provisional response a CANCEL must wait (RFC 3261 §9.1);
	// it is sent when the first 1xx arrives, or Timer B ends the branch.
}

func (c *call) terminateAll() {
	for _, b := range c.branches {
		if !b.done {
			b.tx.Terminate()
		}
	}
}

// sendCancel sends CANCEL for a branch as its own transaction.
func (c *call) sendCancel(b *branch, reason string) {
	b.cancelled = true
	r := sip.NewRequest(sip.CANCEL, *b.req.Recipient.Clone())
	r.AppendHeader(b.req.Via().Clone())
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	r.AppendHeader(b.req.From())
	r.AppendHeader(b.req.To())
	r.AppendHeader(b.req.CallID())
	r.AppendHeader(&sip.CSeqHeader{SeqNo: b.req.CSeq().SeqNo, MethodName: sip.CANCEL})
	if reason != "" {
		r.AppendHeader(sip.NewHeader("Reason", reason))
	}
	// Content-Length: 0 is required on TCP, where it frames the message;
	// without it the phone's parser waited for a body and dropped the CANCEL.
	r.SetBody(nil)
	r.SetTransport(b.req.Transport())
	r.SetDestination(b.dest)
	tx, err := c.s.client.TransactionRequest(context.Background(), r, func(*sipgo.Client, *sip.Request) error { return nil })
	if err != nil {
		c.s.log.Warn("cancel failed", "dest", b.dest, "error", err)
		return
	}
	go func() {
		defer tx.Terminate()
		select {
		case <-tx.Responses():
		case <-tx.Done():
		case <-time.After(32 * time.Second):
		}
	}()
}

// relay forwards a branch response to the caller through the server transaction.
func (c *call) relay(res *sip.Response) {
	c.s.send(c.tx, c.req, upstream(res, c.req))
}

// relayStateless forwards an extra 2xx after the transaction already has one.
func (c *call) relayStateless(res *sip.Response) {
	out := upstream(res, c.req)
	if err := c.s.srv.WriteResponse(out); err != nil {
		c.s.log.Debug("relay extra 2xx failed", "error", err)
	}
}

// respond answers the caller with our own final response.
func (c *call) respond(code int, reason, outcome string) {
	c.final = true
	c.outcome = outcome
	c.s.reply(c.tx, c.req, code, reason)
}

func (c *call) observeSetup() {
	if !c.setupObs {
		c.setupObs = true
		c.s.metrics.setup.Observe(time.Since(c.start).Seconds())
	}
}

func (c *call) cdrFields(result string, talk time.Duration) []any {
	callee := c.req.Recipient.User
	return c.trunkCDR([]any{
		"call_id", c.req.CallID().Value(),
		"tenant", c.view.Tenant.Domain,
		"caller", callerLabel(c.caller.Caller),
		"callee", callee,
		"plan", c.plan.Kind,
		"result", result,
		"setup", time.Since(c.start).Round(time.Millisecond).String(),
		"talk", talk.Round(time.Second).String(),
	})
}

func callerLabel(c routing.Caller) string {
	if c.Trunk != "" {
		return fmt.Sprintf("%s via %s", c.Number, c.Trunk)
	}
	if c.User != nil {
		return c.User.ID
	}
	return c.Number
}
