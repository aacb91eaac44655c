package routing

import (
	"time"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/location"
)

// Caller is who is calling, as the sip layer classified the INVITE.
type Caller struct {
	User   *dialplan.User // set for calls from a registered user (authenticated)
	Alias  string         // alias the user called from, if any (From user part was an alias)
	Trunk  string         // set for calls arriving from a trunk (by source address)
	Number string         // the caller's number as presented (trunk calls: From user part)
	Name   string         // the caller's display name as presented
}

// Call is what routing decides on: who calls and what they dialled.
type Call struct {
	Caller Caller
	// Dialled is the Request-URI user part as received: "7002", "bob",
	// "alice-support", "+14085551234", "4085551234", "911", …
	Dialled string
	// Diverted is how many times the call had already been diverted when it
	// arrived (Diversion / History-Info entries of a trunk call). At
	// MaxDiversions no forward is planned, which ends loops through the
	// carrier (a user forwarding to a number that forwards back).
	Diverted int
}

// MaxDiversions is the number of earlier diversions from which a call is no
// longer forwarded.
const MaxDiversions = 5

// Options is what Decide needs besides the call and the tenant.
type Options struct {
	// Trunks are the configured trunk names; the first is used for outbound
	// calls and forwards. None: no outbound calls and no forwards.
	Trunks []string
	// Contacts returns the live registrations of an AOR, already filtered for
	// expiry. The slice is not modified or kept. nil means nobody is registered.
	Contacts func(aor string) []location.Binding
	// DefaultRing is the ring timeout for users without forward on no answer
	// (0 = until the caller gives up).
	DefaultRing time.Duration
	// Park are the tenant's park slots (featurecodes.go); zero: no park.
	Park ParkSlots
}

// Final answers of plans.
var (
	rejectUnavailable Step = Reject{Code: 480, Reason: "Temporarily Unavailable"}
	rejectNotFound    Step = Reject{Code: 404, Reason: "Not Found"}
	rejectNoTrunk     Step = Reject{Code: 403, Reason: "Outbound Calls Not Allowed"}
	rejectForbidden   Step = Reject{Code: 403, Reason: "Forbidden"}
)

// anyOutcome continues on every way a step can end without an answer.
const anyOutcome = NoAnswer | Busy | Unavailable | Declined

// Plan kinds (metric label values).
const (
	KindUser      = "user"
	KindAlias     = "alias"
	KindGroup     = "group"
	KindAttendant = "attendant"
	KindOutbound  = "outbound"
	KindEmergency = "emergency"
	KindForward   = "forward"
	KindReject    = "reject"
)

// Decide answers "where does this call ring?" for a call to a tenant: view is
// the caller's tenant for calls from users and the dialled number's owner for
// calls from trunks. It reads only its arguments. See the package
// documentation for the rules.
func Decide(call Call, view *dialplan.View, opts Options) Plan {
	d := decider{call: call, view: view, opts: opts}
	switch {
	case call.Caller.Trunk != "":
		return d.fromTrunk()
	case call.Caller.User != nil:
		return d.fromUser()
	}
	return only(KindReject, rejectForbidden)
}

// DecideTarget plans a call to a directory target ("group:sales"), as an
// auto attendant does when the caller picks an option or on its fallback.
// The caller ID rules are those of Decide.
func DecideTarget(t dialplan.Target, call Call, view *dialplan.View, opts Options) Plan {
	d := decider{call: call, view: view, opts: opts}
	return d.finish(d.target(t), d.internalCallerID())
}

type decider struct {
	call Call
	view *dialplan.View
	opts Options
}

func (d *decider) fromTrunk() Plan {
	e164, emergency, ok := Normalize(d.call.Dialled, d.view.Tenant.CountryCode)
	var t dialplan.Target
	if ok && !emergency {
		t, ok = d.view.Number(e164)
	}
	if !ok && d.call.Dialled != "" && d.call.Dialled[0] != '+' {
		// Carriers also send E.164 without its "+", whatever the country.
		t, ok = d.view.Number("+" + d.call.Dialled)
	}
	if !ok {
		return only(KindReject, rejectNotFound)
	}
	return d.finish(d.target(t), CallerID{})
}

func (d *decider) fromUser() Plan {
	e164, emergency, isNumber := Normalize(d.call.Dialled, d.view.Tenant.CountryCode)
	if emergency {
		// Before Lookup: no extension, id or alias may shadow an emergency code.
		return d.outbound(e164, true)
	}
	if p, ok := d.featureCode(); ok {
		return p
	}
	if p, ok := d.phoneFeature(); ok { // featurecodes.go
		return p
	}
	if e, ok := d.view.Lookup(d.call.Dialled); ok {
		return d.finish(d.entry(e), d.internalCallerID())
	}
	if p, ok := d.parkSlot(); ok {
		return p
	}
	if !isNumber {
		return only(KindReject, rejectNotFound)
	}
	if t, ok := d.view.Number(e164); ok {
		return d.finish(d.target(t), d.internalCallerID())
	}
	return d.outbound(e164, false)
}

// outbound plans a call from a user to the PSTN.
func (d *decider) outbound(number string, emergency bool) Plan {
	if len(d.opts.Trunks) == 0 {
		return only(KindReject, rejectNoTrunk)
	}
	kind := KindOutbound
	if emergency {
		kind = KindEmergency
	}
	cid := externalCallerID(d.view.Tenant, d.call.Caller.User, emergency)
	return Plan{
		Kind:     kind,
		Steps:    []Step{Outbound{Trunk: d.opts.Trunks[0], Number: number, CallerID: cid}},
		CallerID: cid,
	}
}

// planned is a plan under construction: its kind and steps.
type planned struct {
	kind  string
	steps []Step
}

// finish labels a plan for metrics: "forward" when it starts by forwarding,
// "reject" when it only rejects.
func (d *decider) finish(p planned, cid CallerID) Plan {
	kind := p.kind
	switch p.steps[0].(type) {
	case Forward:
		kind = KindForward
	case Reject:
		kind, cid = KindReject, CallerID{}
	}
	return Plan{Kind: kind, Steps: p.steps, CallerID: cid}
}

func only(kind string, s Step) Plan { return Plan{Kind: kind, Steps: []Step{s}} }

// target plans a call to a directory target (from a number or an attendant).
func (d *decider) target(t dialplan.Target) planned {
	switch t.Kind {
	case dialplan.TargetUser:
		if u, ok := d.view.User(t.ID); ok {
			return d.entry(dialplan.Entry{Kind: dialplan.EntryUser, User: u})
		}
	case dialplan.TargetAlias:
		if e, ok := d.view.Lookup(t.ID); ok && e.Kind == dialplan.EntryAlias {
			return d.entry(e)
		}
	case dialplan.TargetGroup:
		if g, ok := d.view.Group(t.ID); ok {
			return d.entry(dialplan.Entry{Kind: dialplan.EntryGroup, Group: g})
		}
	case dialplan.TargetAttendant:
		if a, ok := d.view.Attendant(t.ID); ok {
			return planned{KindAttendant, []Step{Attendant{ID: a.ID}}}
		}
	case dialplan.TargetVoicemail:
		if p, ok := d.voicemailTarget(t.ID); ok {
			return p
		}
	case dialplan.TargetExt:
		// An extension names a user or a group (Lookup returns an Entry,
		// never another target), so this cannot recurse.
		if e, ok := d.view.Lookup(t.ID); ok {
			return d.entry(e)
		}
	}
	// A compiled View only holds valid targets; be safe anyway.
	return planned{KindReject, []Step{rejectNotFound}}
}

// entry plans a call to what a SIP name resolved to.
func (d *decider) entry(e dialplan.Entry) planned {
	switch e.Kind {
	case dialplan.EntryUser:
		return d.user(KindUser, e.User, d.contacts(e.User, ""))
	case dialplan.EntryAlias:
		return d.user(KindAlias, e.User, d.contacts(e.User, e.Alias))
	case dialplan.EntryGroup:
		return d.group(e.Group)
	}
	return planned{KindReject, []Step{rejectNotFound}}
}

// contacts returns the devices of a user, or of one of its aliases falling
// back to the user's own when the alias has none registered.
func (d *decider) contacts(u *dialplan.User, alias string) []Contact {
	if d.opts.Contacts == nil {
		return nil
	}
	domain := d.view.Tenant.Domain
	if alias != "" {
		aor := dialplan.Entry{Kind: dialplan.EntryAlias, User: u, Alias: alias}.AOR(domain)
		if bs := d.opts.Contacts(aor); len(bs) > 0 {
			return appendContacts(nil, aor, bs)
		}
	}
	aor := dialplan.Entry{Kind: dialplan.EntryUser, User: u}.AOR(domain)
	return appendContacts(nil, aor, d.opts.Contacts(aor))
}

// appendContacts appends the bindings of aor to cs, leaving out those already
// in cs (the same binding reached through a user and one of its aliases).
func appendContacts(cs []Contact, aor string, bs []location.Binding) []Contact {
	if len(bs) == 0 {
		return cs
	}
	if cs == nil {
		cs = make([]Contact, 0, len(bs))
	}
	seen := len(cs)
next:
	for i := range bs {
		for j := range seen {
			if cs[j].AOR == aor && cs[j].Binding.Contact == bs[i].Contact {
				continue next
			}
		}
		cs = append(cs, Contact{AOR: aor, Binding: bs[i]})
	}
	return cs
}

// user plans a call to a user (or one of its aliases) ringing cs, following
// the user's forward.
func (d *decider) user(kind string, u *dialplan.User, cs []Contact) planned {
	return withVoicemail(u, d.ringUser(kind, u, cs), d.canForward(u))
}

// ringUser is user before voicemail: rings, forward, 480.
func (d *decider) ringUser(kind string, u *dialplan.User, cs []Contact) planned {
	f := u.Forward
	if !d.canForward(u) {
		if len(cs) == 0 {
			return planned{kind, []Step{rejectUnavailable}}
		}
		return planned{kind, []Step{
			Ring{Contacts: cs, Timeout: d.opts.DefaultRing, ContinueOn: NoAnswer | Unavailable},
			rejectUnavailable,
		}}
	}
	fwd := func(reason string) Step {
		return Forward{
			Trunk:      d.opts.Trunks[0],
			Number:     f.Number,
			Screening:  f.Screening,
			DivertedBy: divertedBy(u),
			Reason:     reason,
			ContinueOn: anyOutcome,
			CallerID:   d.forwardCallerID(),
		}
	}
	switch {
	case f.When == dialplan.ForwardAlways:
		return planned{kind, []Step{fwd(ReasonUnconditional), rejectUnavailable}}
	case len(cs) == 0 && f.When == dialplan.ForwardBusy:
		return planned{kind, []Step{rejectUnavailable}}
	case len(cs) == 0:
		// no_answer or unregistered with nobody registered: forward at once.
		return planned{kind, []Step{fwd(ReasonUnavailable), rejectUnavailable}}
	}
	ring := Ring{Contacts: cs, Timeout: d.opts.DefaultRing}
	var reason string
	switch f.When {
	case dialplan.ForwardNoAnswer:
		ring.Timeout = f.After.D()
		if ring.Timeout == 0 {
			ring.Timeout = dialplan.DefaultForwardAfter.D()
		}
		ring.ContinueOn, reason = NoAnswer|Unavailable, ReasonNoAnswer
	case dialplan.ForwardBusy:
		ring.ContinueOn, reason = Busy, ReasonUserBusy
	default: // unregistered: registered but unreachable counts too
		ring.ContinueOn, reason = Unavailable, ReasonUnavailable
	}
	return planned{kind, []Step{ring, fwd(reason), rejectUnavailable}}
}

// canForward reports whether u's forward applies to this call: there is one,
// a trunk to send it through, the call has not been diverted too often and
// the number does not route back to u.
func (d *decider) canForward(u *dialplan.User) bool {
	f := u.Forward
	if f == nil || f.Number == "" || len(d.opts.Trunks) == 0 || d.call.Diverted >= MaxDiversions {
		return false
	}
	switch t, ok := d.view.Number(f.Number); {
	case !ok:
		return true
	case t.Kind == dialplan.TargetUser:
		return t.ID != u.ID
	case t.Kind == dialplan.TargetAlias || t.Kind == dialplan.TargetExt:
		e, ok := d.view.Lookup(t.ID)
		return !ok || e.User != u
	}
	return true
}

// group plans a call to a ring group. Members' forwards are not followed,
// and the calling user is not rung.
func (d *decider) group(g *dialplan.Group) planned {
	timeout := g.Ring.D()
	if timeout == 0 {
		timeout = dialplan.DefaultRing.D()
	}
	if d.opts.Contacts == nil {
		return planned{KindGroup, []Step{rejectUnavailable}}
	}
	// Collect every member's contacts into one backing array; for sequential
	// groups remember where each member's end.
	var (
		cs      []Contact
		endsBuf [16]int
		ends    = endsBuf[:0]
	)
	domain := d.view.Tenant.Domain
	for _, m := range g.Members {
		e, ok := d.view.Lookup(m)
		if ok && e.User != nil && e.User != d.call.Caller.User {
			aor := e.AOR(domain)
			bs := d.opts.Contacts(aor)
			if len(bs) == 0 && e.Kind == dialplan.EntryAlias {
				aor = dialplan.Entry{Kind: dialplan.EntryUser, User: e.User}.AOR(domain)
				bs = d.opts.Contacts(aor)
			}
			if cs == nil && len(bs) > 0 {
				// One allocation for the usual one or two devices per member.
				cs = make([]Contact, 0, len(bs)*len(g.Members))
			}
			cs = appendContacts(cs, aor, bs)
		}
		ends = append(ends, len(cs))
	}
	if len(cs) == 0 {
		return planned{KindGroup, []Step{rejectUnavailable}}
	}
	if g.Strategy == dialplan.Sequential {
		steps := make([]Step, 0, len(ends)+1)
		start := 0
		for _, end := range ends {
			if end > start {
				steps = append(steps, Ring{Contacts: cs[start:end:end], Timeout: timeout, ContinueOn: anyOutcome})
			}
			start = end
		}
		return planned{KindGroup, append(steps, rejectUnavailable)}
	}
	return planned{KindGroup, []Step{
		Ring{Contacts: cs, Timeout: timeout, ContinueOn: anyOutcome},
		rejectUnavailable,
	}}
}

// divertedBy is the number a user's forward names as the diverting party:
// its first extension, else its id.
func divertedBy(u *dialplan.User) string {
	if len(u.Extensions) > 0 {
		return u.Extensions[0]
	}
	return u.ID
}

// internalCallerID is what internal called parties see: the calling user's
// name with its first extension, or the alias it called from. Zero for
// trunk calls, whose From passes through.
func (d *decider) internalCallerID() CallerID {
	u := d.call.Caller.User
	if u == nil || d.call.Caller.Trunk != "" {
		return CallerID{}
	}
	if d.call.Caller.Alias != "" {
		return CallerID{Name: u.Name, Number: d.call.Caller.Alias}
	}
	return CallerID{Name: u.Name, Number: divertedBy(u)}
}

// forwardCallerID is what a forwarded leg presents to the PSTN: the calling
// user's outbound caller ID; zero for trunk calls (the carrier's passes through).
func (d *decider) forwardCallerID() CallerID {
	if d.call.Caller.Trunk != "" || d.call.Caller.User == nil {
		return CallerID{}
	}
	return externalCallerID(d.view.Tenant, d.call.Caller.User, false)
}

// externalCallerID is what a user's calls to the PSTN present, per the user's
// caller_id: main → the tenant's main number (named after the tenant),
// direct → the user's direct number (named after the user), unset → direct
// if any, else main. A missing number falls back to the other; neither gives
// the zero CallerID (the trunk's default). Emergency calls always present the
// direct number if there is one, so that a call-back reaches the caller.
func externalCallerID(t *dialplan.Tenant, u *dialplan.User, emergency bool) CallerID {
	direct := CallerID{Name: u.Name, Number: u.DirectNumber}
	main := CallerID{Name: t.Name, Number: t.MainNumber}
	first, second := direct, main
	if u.CallerID == dialplan.CallerIDMain && !emergency {
		first, second = main, direct
	}
	switch {
	case first.Number != "":
		return first
	case second.Number != "":
		return second
	}
	return CallerID{}
}
