package sip

import (
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/resolve"
	"github.com/switchboard/switchboard/routing"
	"github.com/switchboard/switchboard/trunk"
)

// hunt runs one Outbound or Forward step through the trunks, on the call's
// event loop: one attempt at a time, the next target of the trunk's DNS
// answer or the next trunk after a failure, until one answers or the far end
// says no (trunk.Decide). Every attempt is a fresh branch of the proxy; an
// abandoned attempt (no provisional within fail_after) is CANCELled when its
// first provisional arrives, and if it answers after all it wins like any
// late 2xx (RFC 3261 §16.7).
type hunt struct {
	names   []string // trunks still to try, in order
	name    string   // trunk being tried; its call slot is held
	tr      Trunk
	targets []resolve.Target // targets of tr still to try
	target  resolve.Target   // target of the current attempt
	number  string           // E.164 (or an emergency number) as planned
	label   string           // "trunk" or "forward", for logs
	edit    func(r *sip.Request, t Trunk)
	branch  *branch // current attempt
	timer   *time.Timer
	bump    uint32 // CSeq added to the caller's: one per answered challenge
	// failures seen: an auth failure alone ends the call 403, anything
	// else 503.
	authFailed, otherFailed bool
	steps                   []string // "carrier-a:503", "carrier-b:200": the CDR's trunk_hunt
	used                    string   // trunk of the last attempt (CDR)
	step                    int      // the plan step it runs
	ended                   bool
}

// hasTrunk reports whether a plan's trunk exists.
func (c *call) hasTrunk(name string) bool {
	_, ok := c.s.trunk(name)
	return ok
}

// startHunt begins a step through the trunks: the plan's trunk first, then
// the rest of the tenant's hunt order. It reports whether an attempt was
// sent; when none could be, c.stepFail holds the answer for the caller.
func (c *call) startHunt(first, number, label string, edit func(*sip.Request, Trunk)) {
	names := []string{first}
	for _, n := range c.s.trunks.huntOrder(c.view.Tenant.Trunks) {
		if n != first {
			names = append(names, n)
		}
	}
	h := &hunt{names: names, number: number, label: label, edit: edit, timer: time.NewTimer(time.Hour), step: c.step}
	h.timer.Stop()
	if prev := c.hunt; prev != nil {
		// An earlier step's hunt (a forward after an outbound attempt):
		// the CDR lists every attempt of the call.
		h.steps, h.used = prev.steps, prev.used
	}
	c.hunt = h
	if !c.huntNext() {
		c.stepFail = c.huntAnswer()
		c.endHunt()
	}
}

// huntNext sends the next attempt: the next target of the current trunk,
// else the first usable trunk left. false when nothing is left.
func (c *call) huntNext() bool {
	h := c.hunt
	for {
		if h.name != "" && len(h.targets) > 0 {
			h.target, h.targets = h.targets[0], h.targets[1:]
			if c.huntSend(nil) {
				return true
			}
			c.huntStep(h.name, "send_failed")
			continue
		}
		if h.name != "" {
			c.s.trunks.release(h.name)
			h.name = ""
		}
		if len(h.names) == 0 {
			return false
		}
		name := h.names[0]
		h.names = h.names[1:]
		tr, ok := c.s.trunk(name)
		if !ok {
			continue
		}
		if ok, why := c.s.trunks.acquire(name, time.Now(), c.plan.Kind == routing.KindEmergency); !ok {
			h.otherFailed = true
			c.huntStep(name, "skipped_"+why)
			continue
		}
		targets, err := c.s.resolver.Resolve(c.ctx, tr.Address, tr.Transport)
		if err != nil || len(targets) == 0 {
			c.s.log.Warn("trunk address does not resolve", "trunk", name, "address", tr.Address, "error", err)
			c.s.trunks.release(name)
			h.otherFailed = true
			c.huntStep(name, "dns_failed")
			continue
		}
		h.name, h.tr, h.targets = name, tr, targets
	}
}

// huntSend sends the INVITE to the current target, with credentials when
// auth is set (the answer to a challenge, sent with the next CSeq).
func (c *call) huntSend(auth sip.Header) bool {
	h := c.hunt
	tr := h.tr
	user := trunk.FormatNumber(h.number, tr.NumberFormat, c.view.Tenant.CountryCode)
	if err := c.s.trunkConn(c.ctx, tr, h.target); err != nil { // trunk_tls.go
		c.s.log.Warn("trunk unreachable over tls", "trunk", tr.Name, "error", err)
		return false
	}
	b := c.fork("sip:"+user+"@"+uriHost(tr.Address), h.target.Addr, h.target.Transport, h.label+" "+tr.Name, func(r *sip.Request) {
		if h.edit != nil {
			h.edit(r, tr)
		}
		if h.bump > 0 {
			r.CSeq().SeqNo += h.bump
		}
		if auth != nil {
			r.AppendHeader(auth)
		}
	})
	if b == nil {
		return false
	}
	b.trunk, b.authSent, b.cseqBump = tr.Name, auth != nil, h.bump
	if auth != nil {
		b.auth = auth
	}
	h.branch, h.used = b, tr.Name
	h.timer.Reset(tr.FailAfter)
	return true
}

// huntStep records one attempt's result in the CDR and the metrics.
func (c *call) huntStep(name, result string) {
	c.hunt.steps = append(c.hunt.steps, name+":"+result)
	c.s.trunks.metrics.attempts.WithLabelValues(name, result).Inc()
}

// huntProvisional: the current attempt is alive; fail_after no longer applies.
func (c *call) huntProvisional(b *branch) {
	if h := c.hunt; h != nil && b == h.branch {
		h.timer.Stop()
	}
}

// huntFinal handles a final response (res nil: the transaction ended
// without one) of a hunt branch.
func (c *call) huntFinal(b *branch, res *sip.Response) {
	h := c.hunt
	if h == nil || b != h.branch || c.final {
		return // an abandoned attempt, or the call is decided
	}
	h.timer.Stop()
	h.branch = nil
	o := trunk.Outcome{HasCredentials: h.tr.Username != "", AuthSent: b.authSent}
	if res != nil {
		o.Code = res.StatusCode
	}
	result := trunk.Result(o)
	step := result
	if o.Code != 0 {
		step = strconv.Itoa(o.Code)
	}
	h.steps = append(h.steps, h.name+":"+step)
	c.s.trunks.metrics.attempts.WithLabelValues(h.name, result).Inc()

	switch trunk.Decide(o) {
	case trunk.Authenticate:
		auth, err := trunkCredentials(b.req, res, h.tr)
		if err == nil {
			h.bump++
			if c.huntSend(auth) {
				return
			}
		}
		c.s.log.Warn("cannot answer the trunk's challenge", "trunk", h.name, "error", err)
		h.authFailed, h.targets = true, nil
	case trunk.Stop:
		c.endHunt()
		c.cancelAll("")
		c.onStepEnd(outcomeFor(o.Code), res)
		return
	case trunk.Next:
		switch {
		case o.Code == 401 || o.Code == 407:
			// Our credentials were refused (or we have none): the other
			// targets of this trunk would refuse them too.
			c.s.log.Warn("trunk refused the credentials", "trunk", h.name, "code", o.Code)
			h.authFailed, h.targets = true, nil
		case o.Code == 503:
			if d := trunk.ParseRetryAfter(headerValue(res, "Retry-After")); d > 0 {
				c.s.trunks.retryAfter(h.name, d)
				h.targets = nil
			}
			h.otherFailed = true
		default:
			h.otherFailed = true
		}
	}
	if !c.huntNext() {
		c.huntExhausted()
	}
}

// huntTimeout: no provisional within fail_after. The attempt is abandoned
// (CANCEL follows its first provisional) and the hunt moves on.
func (c *call) huntTimeout() {
	h := c.hunt
	if h == nil || h.branch == nil || c.final {
		return
	}
	c.huntStep(h.name, "no_provisional")
	c.cancelBranch(h.branch, "")
	h.branch = nil
	h.otherFailed = true
	if !c.huntNext() {
		c.huntExhausted()
	}
}

// huntAnswer is the caller's answer when no trunk took the call: 403 when
// only credentials were refused, else 503.
func (c *call) huntAnswer() failAnswer {
	if h := c.hunt; h != nil && h.authFailed && !h.otherFailed {
		return failAnswer{403, "Forbidden"}
	}
	return failAnswer{503, "Service Unavailable"}
}

// huntExhausted ends the step when every trunk failed.
func (c *call) huntExhausted() {
	ans := c.huntAnswer()
	c.endHunt()
	c.timer.Stop()
	c.cancelStep()
	c.ended = routing.Unavailable
	if c.continueOn(stepContinue(c.plan.Steps[c.step]), routing.Unavailable) {
		c.startStep(c.step + 1)
		return
	}
	c.respond(ans.code, ans.reason, resultFor(ans.code))
}

// huntAnswered hands the answering trunk's call slot to the dialog.
func (c *call) huntAnswered(b *branch, dl *dialog) {
	h := c.hunt
	if h == nil || b.trunk == "" {
		return
	}
	h.timer.Stop()
	h.steps = append(h.steps, b.trunk+":"+strconv.Itoa(200))
	c.s.trunks.metrics.attempts.WithLabelValues(b.trunk, "answered").Inc()
	h.used = b.trunk
	dl.trunk, dl.ackAuth = b.trunk, b.auth
	dl.cseqBump.Store(b.cseqBump)
	if b.trunk == h.name {
		dl.trunkSlot = true
		h.name = "" // the dialog holds the slot now
	}
}

// endHunt releases the hunt's call slot (unless a dialog took it) and stops
// its timer.
func (c *call) endHunt() {
	h := c.hunt
	if h == nil {
		return
	}
	h.timer.Stop()
	if h.name != "" {
		c.s.trunks.release(h.name)
		h.name = ""
	}
	h.targets, h.names, h.branch, h.ended = nil, nil, nil, true
}

// huntTimerC is the fail_after timer of the running hunt, or nil.
func (c *call) huntTimerC() <-chan time.Time {
	if c.hunt == nil || c.hunt.branch == nil {
		return nil
	}
	return c.hunt.timer.C
}

// trunkCDR adds the trunk used and the hunt's steps to a CDR.
func (c *call) trunkCDR(fields []any) []any {
	h := c.hunt
	if h == nil || len(h.steps) == 0 {
		return fields
	}
	return append(fields, "trunk", h.used, "trunk_hunt", strings.Join(h.steps, ","))
}

// failAnswer is the final response for a step that could send nothing.
type failAnswer struct {
	code   int
	reason string
}

// uriHost is a trunk address as the host part of a Request-URI.
func uriHost(address string) string {
	return address
}

// headerValue returns a response header's value, "" when absent.
func headerValue(m *sip.Response, name string) string {
	if m == nil {
		return ""
	}
	if h := header(m, name); h != nil {
		return h.Value()
	}
	return ""
}

// formatID presents a caller-ID number in the trunk's number format.
func (c *call) formatID(id routing.CallerID, t Trunk) routing.CallerID {
	id.Number = trunk.FormatNumber(id.Number, t.NumberFormat, c.view.Tenant.CountryCode)
	return id
}

// huntActive reports whether the current step is a running hunt, whose
// branches are judged by the hunt rather than by checkStep.
func (c *call) huntActive() bool {
	return c.hunt != nil && c.hunt.step == c.step && !c.hunt.ended
}
