package sip

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/routing"
)

// Moving phones off a draining instance (rolling restarts).
//
// A phone registered over TCP (or TLS, WS) can only be reached over the
// connection it opened, so while instance A drains, every call to it —
// placed through B — is relayed to A. To let A finish, A closes each such
// flow as soon as no call uses it (RFC 5626 §4.4: the phone sees its flow
// fail and registers again, through another instance), checking again on
// every tick of the drain. A relayed INVITE for a flow A has closed is
// answered 430 Flow Failed (RFC 5626 §5.3); B then waits briefly for the
// phone's new registration and rings it where it now is (call.reroute), so
// a call placed in the moment between the close and the new REGISTER is
// not lost. A flow carrying a live call stays open until the call ends.
//
// Flows that carry legs of B2BUA (attendant, screening) calls are not
// tracked: such a flow may be closed while that call is up.

// flowKey names one flow: transport and source address.
type flowKey struct{ transport, addr string }

func keyOf(transport, addr string) flowKey { return flowKey{strings.ToLower(transport), addr} }

// flowUse counts relayed calls being set up per flow, so the drain does not
// close a flow an INVITE is being forked on. Its mutex also orders the
// closer against relayInvite's check that the flow is open.
type flowUse struct {
	mu       sync.Mutex
	relaying map[flowKey]int
	closed   map[flowKey]bool // closed by the drain: relayed INVITEs for them get 430
}

// take marks a relayed call on k as starting; false when the drain closed
// k already.
func (u *flowUse) take(k flowKey) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed[k] {
		return false
	}
	if u.relaying == nil {
		u.relaying = map[flowKey]int{}
	}
	u.relaying[k]++
	return true
}

func (u *flowUse) release(k flowKey) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.relaying[k]--; u.relaying[k] <= 0 {
		delete(u.relaying, k)
	}
}

// lister is implemented by location stores that can list every binding.
type lister interface {
	All(tenant string) []location.Binding
}

// closeIdleFlows closes the connection-oriented flows this instance holds
// that no proxied call or relayed call set-up uses, and returns how many it
// closed. Called by the drain on every tick.
func (s *Server) closeIdleFlows() int {
	l, ok := s.loc.(lister)
	if !ok {
		return 0
	}
	held := map[flowKey]bool{}
	for _, b := range l.All("") {
		if b.Instance == s.instance && connectionOriented(b.Transport) {
			held[keyOf(b.Transport, b.Source)] = true
		}
	}
	busy := s.dialogs.flows()
	s.flowUse.mu.Lock()
	defer s.flowUse.mu.Unlock()
	if s.flowUse.closed == nil {
		s.flowUse.closed = map[flowKey]bool{}
	}
	n := 0
	for k := range held {
		if busy[k] || s.flowUse.relaying[k] > 0 || s.flowUse.closed[k] {
			continue
		}
		s.flowUse.closed[k] = true
		if s.closeFlow(k) {
			n++
		}
	}
	return n
}

// closeFlow closes the connection of a flow, if it is still open.
func (s *Server) closeFlow(k flowKey) bool {
	pool := s.ua.TransportLayer().Pool(k.transport)
	if pool == nil {
		return false
	}
	c := pool.Get(k.addr)
	if c == nil {
		return false
	}
	c.Ref(-1) // Get took a reference
	if err := c.Close(); err != nil {
		s.log.Debug("closing a flow at drain", "flow", k.transport+":"+k.addr, "error", err)
		return false
	}
	return true
}

// flows returns the flows the proxied dialogs use.
func (d *dialogs) flows() map[flowKey]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[flowKey]bool, 2*len(d.m))
	for _, dl := range d.m {
		out[keyOf(dl.caller.transport, dl.caller.addr)] = true
		out[keyOf(dl.callee.transport, dl.callee.addr)] = true
	}
	return out
}

// rerouteWait bounds how long a call waits for a phone whose flow failed on
// another instance to register again.
const rerouteWait = 3 * time.Second

// reroute handles a 430 Flow Failed from the instance a branch was relayed
// through: it waits (at most rerouteWait) for the AOR to have a binding
// other than the failed one — the phone registering again, elsewhere — and
// rings it in the current step. False when none appeared. It blocks the
// call's event loop meanwhile; only a call racing a rolling restart gets
// here.
func (c *call) reroute(b *branch) bool {
	if b.relayed == nil || b.rerouted || b.step != c.step {
		return false
	}
	b.rerouted = true
	old := *b.relayed
	before := len(c.branches)
	deadline := time.Now().Add(rerouteWait)
	for {
		ctx, cancel := context.WithTimeout(c.ctx, requestTimeout)
		bs, err := c.s.loc.Lookup(ctx, old.AOR)
		cancel()
		if err == nil {
			for _, nb := range bs {
				if nb.Source == old.Source && nb.Instance == old.Instance {
					continue
				}
				c.s.log.Info("rerouting a call to a phone that moved", "aor", old.AOR, "from", old.Instance, "to", nb.Instance)
				c.ring(routing.Contact{AOR: old.AOR, Binding: nb})
			}
			if len(c.branches) > before {
				return true
			}
		}
		if time.Now().After(deadline) || c.ctx.Err() != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// moveGrace bounds how long a drained instance stays up for the phones whose
// flows it closed last to register elsewhere: until then a call relayed to
// it gets 430 and is rerouted; once it has exited, such a call would go
// unanswered.
const moveGrace = 2 * time.Second

// awaitMoved waits, at most max, until no binding in the store names this
// instance as the holder of a connection-oriented flow.
func (s *Server) awaitMoved(max time.Duration) {
	l, ok := s.loc.(lister)
	if !ok {
		return
	}
	deadline := time.Now().Add(max)
	for {
		held := 0
		for _, b := range l.All("") {
			if b.Instance == s.instance && connectionOriented(b.Transport) {
				held++
			}
		}
		if held == 0 {
			return
		}
		if time.Now().After(deadline) {
			s.log.Info("sip draining: phones not registered elsewhere yet", "bindings", held)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
