package admin

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/switchboard/switchboard/dialplan"
)

func groupResource() *resource[dialplan.Group] {
	return &resource[dialplan.Group]{
		kind:  "group",
		items: func(t *dialplan.Tenant) *[]*dialplan.Group { return &t.Groups },
		id:    func(g *dialplan.Group) string { return g.ID },
		match: func(g *dialplan.Group, q string) bool {
			return strings.Contains(g.ID, q) || strings.Contains(g.Extension, q) || slices.Contains(g.Members, q)
		},
		prepare: func(_ context.Context, t *dialplan.Tenant, old, g *dialplan.Group) (string, error) {
			if old == nil && g.Extension == "" {
				e, err := dialplan.NextExtension(t)
				if err != nil {
					return "", conflict("extension", "%v", err)
				}
				g.Extension = e
			}
			return "", nil
		},
		detach: func(t *dialplan.Tenant, g *dialplan.Group) error {
			return referenced(t, "group "+g.ID, "group:"+g.ID, "ext:"+g.Extension)
		},
	}
}

func attendantResource() *resource[dialplan.Attendant] {
	return &resource[dialplan.Attendant]{
		kind:  "attendant",
		items: func(t *dialplan.Tenant) *[]*dialplan.Attendant { return &t.Attendants },
		id:    func(a *dialplan.Attendant) string { return a.ID },
		match: func(a *dialplan.Attendant, q string) bool { return strings.Contains(a.ID, q) },
		detach: func(t *dialplan.Tenant, a *dialplan.Attendant) error {
			return referenced(t, "attendant "+a.ID, "attendant:"+a.ID)
		},
	}
}

// referenced refuses (409) to delete what numbers or attendant menus still
// route to: unlike a user's, a group's or menu's callers need somewhere else
// to go, which is the admin's decision.
func referenced(t *dialplan.Tenant, what string, targets ...string) error {
	var ps dialplan.Problems
	for _, n := range sortedKeys(t.Numbers) {
		if slices.Contains(targets, t.Numbers[n]) {
			ps = append(ps, dialplan.Problem{Field: "numbers[" + n + "]", Conflict: true,
				Reason: fmt.Sprintf("%s routes to %s; route or release the number first", n, what)})
		}
	}
	for _, at := range t.Attendants {
		for _, k := range sortedKeys(at.Options) {
			if slices.Contains(targets, at.Options[k]) {
				ps = append(ps, dialplan.Problem{Field: "attendants[" + at.ID + "].options[" + k + "]", Conflict: true,
					Reason: fmt.Sprintf("option %s of attendant %s routes to %s; change the menu first", k, at.ID, what)})
			}
		}
		if slices.Contains(targets, at.Fallback) {
			ps = append(ps, dialplan.Problem{Field: "attendants[" + at.ID + "].fallback", Conflict: true,
				Reason: fmt.Sprintf("the fallback of attendant %s is %s; change the menu first", at.ID, what)})
		}
	}
	if len(ps) > 0 {
		return ps
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
