package routing

import (
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard/switchboard/dialplan"
)

// Call pickup and call park feature codes (DESIGN.md): *8 picks up a call
// ringing a colleague of the caller's ring groups, **<ext> one ringing that
// extension, *70 parks the call that reaches it on a slot, and dialling a
// slot retrieves the call parked there.
const (
	CodeGroupPickup    = "*8"
	CodeDirectedPrefix = "**"
	CodePark           = "*70"
)

// Plan kinds of the pickup and park feature codes.
const (
	KindPickup = "pickup"
	KindPark   = "park"
)

// Pickup answers the caller and connects it to the oldest call still
// ringing (no final response yet) one of Users, which stops ringing there.
// Users are user ids of the caller's tenant, the caller itself left out.
type Pickup struct {
	Users    []string
	Directed bool // **<ext>: the users of one extension, not the caller's groups
}

// Park answers the call, parks it on the tenant's lowest free slot and
// announces the slot.
type Park struct{}

// ParkRetrieve connects the caller to the call parked on Slot.
type ParkRetrieve struct {
	Slot int
}

func (Pickup) step()       {}
func (Park) step()         {}
func (ParkRetrieve) step() {}

// ParkSlots are the slot numbers a tenant's parked calls get: First,
// First+1, … First+Count-1. Count 0 disables park.
type ParkSlots struct {
	First int
	Count int
}

// Slot reports whether dialled names one of the slots.
func (p ParkSlots) Slot(dialled string) (int, bool) {
	if p.Count <= 0 || dialled == "" || dialled[0] == '0' || len(dialled) > 6 {
		return 0, false
	}
	n, err := strconv.Atoi(dialled)
	if err != nil || n < p.First || n >= p.First+p.Count || strconv.Itoa(n) != dialled {
		return 0, false
	}
	return n, true
}

// phoneFeature plans the pickup and park codes; ok is false for any other
// dialled string. It runs before the directory lookup: the codes start
// with '*', which no extension, id or alias does.
func (d *decider) phoneFeature() (Plan, bool) {
	dialled := d.call.Dialled
	switch {
	case dialled == CodeGroupPickup:
		users := d.pickupGroup()
		if len(users) == 0 {
			return only(KindReject, rejectNotFound), true
		}
		return only(KindPickup, Pickup{Users: users}), true
	case dialled == CodePark:
		if d.opts.Park.Count <= 0 {
			return only(KindReject, rejectNotFound), true
		}
		return only(KindPark, Park{}), true
	case strings.HasPrefix(dialled, CodeDirectedPrefix) && len(dialled) > len(CodeDirectedPrefix):
		users := d.pickupDirected(dialled[len(CodeDirectedPrefix):])
		if len(users) == 0 {
			return only(KindReject, rejectNotFound), true
		}
		return only(KindPickup, Pickup{Users: users, Directed: true}), true
	}
	return Plan{}, false
}

// parkSlot plans the retrieval of a parked call by its slot. It runs after
// the directory lookup, so an extension inside the slot range shadows that
// slot (the sip layer never parks a call there either).
func (d *decider) parkSlot() (Plan, bool) {
	n, ok := d.opts.Park.Slot(d.call.Dialled)
	if !ok {
		return Plan{}, false
	}
	return only(KindPark, ParkRetrieve{Slot: n}), true
}

// pickupGroup returns the members of every group the caller is a member of
// (aliases resolved to their owners), the caller left out, in directory
// order without repeats.
func (d *decider) pickupGroup() []string {
	me := d.call.Caller.User.ID
	var out []string
	for _, g := range d.view.Tenant.Groups {
		members := d.memberUsers(g)
		if !slices.Contains(members, me) {
			continue
		}
		for _, m := range members {
			if m != me && !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}

// pickupDirected returns the users an extension (or id, or alias) rings: a
// user, or a group's members; the caller left out.
func (d *decider) pickupDirected(name string) []string {
	e, ok := d.view.Lookup(name)
	if !ok {
		return nil
	}
	var users []string
	switch {
	case e.Kind == dialplan.EntryGroup && e.Group != nil:
		users = d.memberUsers(e.Group)
	case e.User != nil:
		users = []string{e.User.ID}
	}
	return slices.DeleteFunc(users, func(u string) bool { return u == d.call.Caller.User.ID })
}

// memberUsers resolves a group's members to user ids.
func (d *decider) memberUsers(g *dialplan.Group) []string {
	var out []string
	for _, m := range g.Members {
		if e, ok := d.view.Lookup(m); ok && e.User != nil && !slices.Contains(out, e.User.ID) {
			out = append(out, e.User.ID)
		}
	}
	return out
}
