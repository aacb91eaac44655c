package dialplan

import (
	"github.com/switchboard/switchboard/internal/problem"
)

// Problem is one thing wrong with a directory, located as precisely as the
// source allows: the file and line when it came from a file, always the field
// path (e.g. "tenants[acme.example].users[john].extensions[0]"). Conflict
// marks a clash with something that exists (duplicate id, extension, alias,
// domain or number), which the admin API answers with 409.
type Problem = problem.Problem

// Problems is every problem found in a directory. It is an error so that
// loading and replacing can return all of them at once; use errors.As to get
// the list back.
type Problems = problem.Problems

// pos locates a value of a decoded directory so a problem found later, by
// Validate on the Go values, can be given the line it came from. obj is the
// pointer to the struct holding the value (*Tenant, *User, *Forward, …).
type pos struct {
	obj   any
	field string // yaml key; "" for the object itself
	key   string // list index or map key; "" for the field as a whole
}

// located is a problem still carrying its position, before lines are known.
type located struct {
	Problem
	at pos
}

// lineOf finds the line of at, falling back to its field and then to its
// object when the exact entry was not in the file (e.g. a missing key).
func lineOf(lines map[pos]int, at pos) int {
	for _, p := range []pos{at, {at.obj, at.field, ""}, {at.obj, "", ""}} {
		if l, ok := lines[p]; ok {
			return l
		}
	}
	return 0
}
