package dialplan

import (
	"slices"

	"go.yaml.in/yaml/v3"
)

// A tenant's number inventory: every number it owns is available (routed
// nowhere: calls to it get 404), reserved (held for someone, with a note)
// or assigned (routed to a target, or a user's direct number). In the
// directory YAML:
//
//	numbers:
//	  "+14155550100": "attendant:main"                      # assigned
//	  "+14155550107": ""                                    # available
//	  "+14155550108": {status: reserved, note: "new hire"}  # reserved
//	  "+14155550109": {target: "user:john"}                 # assigned, long form

// NumberStatus is where a number stands in its tenant's inventory.
type NumberStatus string

// Inventory statuses.
const (
	NumberAvailable NumberStatus = "available"
	NumberReserved  NumberStatus = "reserved"
	NumberAssigned  NumberStatus = "assigned"
)

// InventoryEntry is one number of a tenant.
type InventoryEntry struct {
	Number string       `json:"number"`
	Status NumberStatus `json:"status"`
	Target string       `json:"target,omitempty"`
	Note   string       `json:"note,omitempty"`
}

// Inventory lists the tenant's numbers — listed numbers and the users'
// direct numbers; the main number only when listed — sorted by number.
func (t *Tenant) Inventory() []InventoryEntry {
	seen := map[string]bool{}
	var out []InventoryEntry
	for _, n := range sortedKeys(t.Numbers) {
		seen[n] = true
		e := InventoryEntry{Number: n, Target: t.Numbers[n]}
		note, held := t.Reserved[n]
		switch {
		case e.Target != "":
			e.Status = NumberAssigned
		case held:
			e.Status, e.Note = NumberReserved, note
		default:
			e.Status = NumberAvailable
		}
		out = append(out, e)
	}
	for _, u := range t.Users {
		if u.DirectNumber != "" && !seen[u.DirectNumber] {
			seen[u.DirectNumber] = true
			out = append(out, InventoryEntry{Number: u.DirectNumber, Status: NumberAssigned, Target: "user:" + u.ID})
		}
	}
	slices.SortFunc(out, func(a, b InventoryEntry) int {
		switch {
		case a.Number < b.Number:
			return -1
		case a.Number > b.Number:
			return 1
		}
		return 0
	})
	return out
}

// SetNumber puts number n in the tenant's inventory with a status: assigned
// to target, reserved with note, or available (target and note ignored).
func (t *Tenant) SetNumber(n string, status NumberStatus, target, note string) {
	if t.Numbers == nil {
		t.Numbers = map[string]string{}
	}
	delete(t.Reserved, n)
	switch status {
	case NumberAssigned:
		t.Numbers[n] = target
	case NumberReserved:
		t.Numbers[n] = ""
		if t.Reserved == nil {
			t.Reserved = map[string]string{}
		}
		t.Reserved[n] = note
	default:
		t.Numbers[n] = ""
	}
}

// numberEntry decodes the long form of a numbers: value, {target, status,
// note}, recording a reserved number in t.Reserved. It returns the target
// and whether the entry is usable.
func (d *decoder) numberEntry(v *yaml.Node, t *Tenant, number string, at pos, path string) (string, bool) {
	var target, status, note string
	ok := true
	seen := map[string]bool{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := d.deref(v.Content[i]), d.deref(v.Content[i+1])
		kp := path + "." + k.Value
		if seen[k.Value] {
			d.add(at, k.Line, kp, "duplicate key")
			ok = false
			continue
		}
		seen[k.Value] = true
		if val.Kind != yaml.ScalarNode {
			d.add(at, val.Line, kp, "want a single value, got %s", yamlKindName(val))
			ok = false
			continue
		}
		switch k.Value {
		case "target":
			target = val.Value
		case "status":
			status = val.Value
		case "note":
			note = val.Value
		default:
			d.add(at, k.Line, kp, "unknown key %q (known keys: target, status, note)", k.Value)
			ok = false
		}
	}
	switch NumberStatus(status) {
	case "":
		if target == "" && note != "" {
			status = string(NumberReserved) // a note alone holds the number
		}
	case NumberAvailable:
		if target != "" {
			d.add(at, v.Line, path+".status", "available: a number with a target is assigned (drop the target or the status)")
			ok = false
		}
	case NumberAssigned:
		if target == "" {
			d.add(at, v.Line, path+".target", "status assigned needs a target, e.g. user:john")
			ok = false
		}
	case NumberReserved:
		if target != "" {
			d.add(at, v.Line, path+".target", "a reserved number routes nowhere: drop the target, or drop status: reserved to assign it")
			ok = false
		}
	default:
		d.add(at, v.Line, path+".status", "status %q: want available, reserved or assigned", status)
		ok = false
	}
	if !ok {
		return "", false
	}
	if NumberStatus(status) == NumberReserved {
		if t.Reserved == nil {
			t.Reserved = map[string]string{}
		}
		t.Reserved[number] = note
	}
	return target, true
}

func yamlKindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return "a value"
}

// MarshalYAML writes a tenant with its reserved numbers in the long form
// of numbers: ({status: reserved, note}), which Parse reads back.
func (t Tenant) MarshalYAML() (any, error) {
	type plain Tenant
	var n yaml.Node
	if err := n.Encode(plain(t)); err != nil {
		return nil, err
	}
	if len(t.Reserved) == 0 {
		return &n, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != "numbers" {
			continue
		}
		m := n.Content[i+1]
		for j := 0; j+1 < len(m.Content); j += 2 {
			note, held := t.Reserved[m.Content[j].Value]
			if !held {
				continue
			}
			e := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
			e.Content = append(e.Content, scalar("status"), scalar(string(NumberReserved)))
			if note != "" {
				e.Content = append(e.Content, scalar("note"), scalar(note))
			}
			m.Content[j+1] = e
		}
	}
	return &n, nil
}

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }

// MoveDirectNumber keeps the inventory in step when user u (replacing old;
// nil when new, u nil when deleted) changes its direct number: the new one
// becomes assigned to the user (leaving reserved), and the number the user
// no longer has returns to available — kept by the tenant, never lost.
func (t *Tenant) MoveDirectNumber(old, u *User) {
	var oldN, newN, id string
	if old != nil {
		oldN, id = old.DirectNumber, old.ID
	}
	if u != nil {
		newN, id = u.DirectNumber, u.ID
	}
	if oldN != "" && oldN != newN {
		if tg, listed := t.Numbers[oldN]; !listed || tg == "user:"+id {
			t.SetNumber(oldN, NumberAvailable, "", "")
		}
	}
	if newN != "" {
		if tg, listed := t.Numbers[newN]; listed && tg == "" {
			t.SetNumber(newN, NumberAssigned, "user:"+id, "")
		}
	}
}

// IsE164 reports whether n is an E.164 number with its "+".
func IsE164(n string) bool { return e164Pattern.MatchString(n) }
