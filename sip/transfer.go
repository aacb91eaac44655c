package sip

import (
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/routing"
)

// Transfer between phones (RFC 3515, RFC 5589) needs little of the proxy:
//
//	B (transferor) ── REFER, in dialog ──▶ proxy ──▶ A (transferee)   202 back
//	A ── NOTIFY message/sipfrag, in dialog ──▶ proxy ──▶ B            100, then 200
//	A ── INVITE C, Referred-By (+ Replaces when attended) ──▶ proxy
//
// REFER and NOTIFY follow the dialog's flows like a BYE (dialog.go,
// inDialog). The transferee's INVITE is a new call from A: challenged,
// classified and routed like any other, so every rule that applies to A's
// calls applies to the transfer target. The one thing the proxy adds is for
// attended transfer: an INVITE with Replaces must reach the device that
// holds the replaced dialog, not every phone of the target user, so when
// that dialog is one this proxy tracks, the plan's ring steps are pinned to
// that device's flow (pinReplaces).

// replacesTarget returns the flow of the party an INVITE's Replaces header
// (RFC 3891) names, when the dialog is one this instance tracks. The header's
// to-tag is the recipient's own tag in the replaced dialog.
func (s *Server) replacesTarget(req *sip.Request) (flow, bool) {
	h := header(req, "Replaces")
	if h == nil {
		return flow{}, false
	}
	callID, toTag, _, ok := parseReplaces(h.Value())
	if !ok {
		return flow{}, false
	}
	dl := s.dialogs.get(callID)
	if dl == nil {
		return flow{}, false
	}
	switch toTag {
	case dl.calleeTag:
		return dl.callee, true
	case dl.callerTag:
		return dl.caller, true
	}
	return flow{}, false
}

// parseReplaces splits "call-id;to-tag=X;from-tag=Y[;early-only]".
func parseReplaces(v string) (callID, toTag, fromTag string, ok bool) {
	parts := strings.Split(v, ";")
	callID = strings.TrimSpace(parts[0])
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "to-tag":
			toTag = strings.TrimSpace(val)
		case "from-tag":
			fromTag = strings.TrimSpace(val)
		}
	}
	return callID, toTag, fromTag, callID != "" && toTag != "" && fromTag != ""
}

// pinReplaces keeps, in every ring step, only the contacts reached over fl.
// When no contact of the plan uses that flow (the replaced call is on a
// device the plan does not ring) the plan is returned unchanged: the phones
// that do not hold the dialog answer 481 themselves.
func pinReplaces(p routing.Plan, fl flow) routing.Plan {
	match := func(ct routing.Contact) bool {
		return ct.Binding.Source == fl.addr && strings.EqualFold(ct.Binding.Transport, fl.transport)
	}
	found := false
	for _, st := range p.Steps {
		if r, ok := st.(routing.Ring); ok {
			for _, ct := range r.Contacts {
				found = found || match(ct)
			}
		}
	}
	if !found {
		return p
	}
	out := p
	out.Steps = make([]routing.Step, 0, len(p.Steps))
	for _, st := range p.Steps {
		if r, ok := st.(routing.Ring); ok {
			var keep []routing.Contact
			for _, ct := range r.Contacts {
				if match(ct) {
					keep = append(keep, ct)
				}
			}
			r.Contacts = keep
			st = r
		}
		out.Steps = append(out.Steps, st)
	}
	return out
}
