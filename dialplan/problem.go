package dialplan

import (
	"strconv"
	"strings"
)

// Problem is one thing wrong with a directory, located as precisely as the
// source allows: the file and line when it came from a file, always the field
// path (e.g. "tenants[acme.example].users[john].extensions[0]").
type Problem struct {
	File   string // "" when the directory did not come from a file
	Line   int    // 0 when unknown
	Field  string // readable path of the offending field; "" for file-level problems
	Reason string
	// Conflict marks a problem that is a clash with something that already
	// exists (a duplicate id, extension, alias, domain or number) rather
	// than a malformed value; the admin API answers it with 409.
	Conflict bool
}

// String formats the problem as "file:line: field: reason", leaving out the
// parts that are unknown.
func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.File != "" && p.Line > 0:
		b.WriteString(p.File + ":" + strconv.Itoa(p.Line) + ": ")
	case p.File != "":
		b.WriteString(p.File + ": ")
	case p.Line > 0:
		b.WriteString("line " + strconv.Itoa(p.Line) + ": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Reason)
	return b.String()
}

// Problems is every problem found in a directory. It is an error so that
// loading and replacing can return all of them at once; use errors.As to get
// the list back.
type Problems []Problem

// Conflict reports whether every problem is a conflict (see Problem.Conflict).
func (ps Problems) Conflict() bool {
	for _, p := range ps {
		if !p.Conflict {
			return false
		}
	}
	return len(ps) > 0
}

// Error lists the problems, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

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
