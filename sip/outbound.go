package sip

import (
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/location"
)

// RFC 5626 outbound, registrar and proxy side. A phone that sends
// "Supported: outbound" and a Contact with +sip.instance and reg-id
// registers one binding per flow (one per reg-id, e.g. one TCP connection
// to each of two servers). The binding is keyed by (instance, reg-id):
// a re-REGISTER from a new flow — the phone reconnected from a new port —
// replaces the old flow's binding instead of adding a second contact that
// would be forked to a dead connection (§6, §7). Calls go to one flow per
// instance, the most recently registered one that still works (§5.3).
//
//	REGISTER  Supported: outbound
//	Contact: <sip:7001@10.0.0.5:5062;transport=tcp>;reg-id=1;+sip.instance="<urn:uuid:…>"
//	200 OK    Require: outbound
//	          Flow-Timer: 30

// defaultFlowTimer is the Flow-Timer advertised when sip.keepalive is off:
// the upper end of the 95–120 s a UA uses without one (RFC 5626 §4.4.1).
const defaultFlowTimer = 120 * time.Second

// outboundContact reads a Contact's outbound flow identity into rc. It
// applies only when the request supports outbound and the Contact has both
// parameters; otherwise the Contact is an ordinary RFC 3261 binding (§6).
// ok is false for a malformed reg-id.
func outboundContact(req *sip.Request, c *sip.ContactHeader, rc *regContact) bool {
	rid, hasRID := c.Params.Get("reg-id")
	inst, hasInst := c.Params.Get("+sip.instance")
	if !hasRID || !hasInst || !supportsOutbound(req) {
		return true
	}
	n, err := strconv.ParseUint(strings.TrimSpace(rid), 10, 32)
	if err != nil || n == 0 {
		return false // reg-id is 1*DIGIT, and 0 would mean "not outbound" here
	}
	inst = strings.Trim(strings.TrimSpace(inst), `"`)
	if inst == "" {
		return false
	}
	rc.SIPInstance, rc.RegID = inst, uint32(n)
	return true
}

// supportsOutbound reports whether a request names the outbound option tag.
func supportsOutbound(req *sip.Request) bool {
	for _, name := range []string{"Supported", "Require"} {
		for _, h := range headerList(req, name) {
			for _, tag := range strings.Split(h.Value(), ",") {
				if strings.EqualFold(strings.TrimSpace(tag), "outbound") {
					return true
				}
			}
		}
	}
	return false
}

// sameBinding reports whether stored binding b is the one Contact c of a
// REGISTER refers to: the same flow for outbound, the same URI otherwise.
func sameBinding(b location.Binding, c regContact) bool {
	if c.RegID != 0 {
		return b.SIPInstance == c.SIPInstance && b.RegID == c.RegID
	}
	return !b.Outbound() && b.Contact == c.URI
}

// outboundReply adds what a 200 to an outbound REGISTER carries: Require
// outbound (§6: the registrar used outbound processing) and the interval
// the phone should keep its flows alive at.
func (s *Server) outboundReply(res *sip.Response, r regRequest) {
	if !r.outbound() {
		return
	}
	ft := s.cfg.Keepalive
	if ft <= 0 {
		ft = defaultFlowTimer
	}
	res.AppendHeader(sip.NewHeader("Require", "outbound"))
	res.AppendHeader(sip.NewHeader("Flow-Timer", strconv.Itoa(int(ft/time.Second))))
}

// outbound reports whether any Contact of the REGISTER is an outbound flow.
func (r regRequest) outbound() bool {
	for _, c := range r.Contacts {
		if c.RegID != 0 {
			return true
		}
	}
	return false
}

// contactValue is a binding as a 200 to REGISTER lists it.
func contactValue(b *location.Binding, secs int) string {
	// One allocation: this runs for every binding of every 200 to REGISTER.
	var v strings.Builder
	var num [20]byte
	v.Grow(len(b.Contact) + len(b.SIPInstance) + 64)
	v.WriteByte('<')
	v.WriteString(b.Contact)
	v.WriteByte('>')
	if b.Outbound() {
		v.WriteString(";reg-id=")
		v.Write(strconv.AppendUint(num[:0], uint64(b.RegID), 10))
		v.WriteString(`;+sip.instance="`)
		v.WriteString(b.SIPInstance)
		v.WriteByte('"')
	}
	v.WriteString(";expires=")
	v.Write(strconv.AppendInt(num[:0], int64(secs), 10))
	return v.String()
}

// pickFlows narrows an AOR's bindings to what a request should be sent to:
// ordinary bindings all stay; of each phone instance's outbound flows only
// the most recently registered one that works, so a call is neither forked
// twice to one phone nor sent down a connection that closed (§5.3). A flow
// held here works while its connection is open; a flow held by another
// instance is tried there (that instance answers 430 when it is gone).
func (s *Server) pickFlows(bs []location.Binding) []location.Binding {
	multi := false
	seen := map[string]int{} // instance -> its flows
	for i := range bs {
		if bs[i].Outbound() {
			seen[bs[i].SIPInstance]++
			multi = multi || seen[bs[i].SIPInstance] > 1 || bs[i].Instance == s.instance
		}
	}
	if !multi {
		return bs
	}
	best := map[string]int{} // instance -> index into bs of the chosen flow
	for i := range bs {
		b := &bs[i]
		if !b.Outbound() || (b.Instance == s.instance && !s.flowLive(*b)) {
			continue
		}
		if j, ok := best[b.SIPInstance]; !ok || b.Updated.After(bs[j].Updated) {
			best[b.SIPInstance] = i
		}
	}
	out := make([]location.Binding, 0, len(bs))
	for i := range bs {
		if !bs[i].Outbound() || isBest(best, bs[i].SIPInstance, i) {
			out = append(out, bs[i])
		}
	}
	return out
}

func isBest(best map[string]int, inst string, i int) bool {
	j, ok := best[inst]
	return ok && j == i
}
