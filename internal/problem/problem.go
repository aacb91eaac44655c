// Package problem is how switchboard reports what is wrong with input a
// person wrote — the config file, the directory file, an admin API body: every
// problem at once, each located as "file:line: field: reason". config and
// dialplan expose these types under their own names.
package problem

import (
	"sort"
	"strconv"
	"strings"
)

// Problem is one thing wrong with some input, located as precisely as the
// source allows.
type Problem struct {
	// File is the file the value came from, or "env SWITCHBOARD_X" /
	// "flag -x" for values from the environment or the command line; ""
	// when unknown (e.g. an admin API body).
	File string
	// Line is the line in File; 0 when unknown.
	Line int
	// Field is the path of the offending value, e.g. "sip.listen[1]" or
	// "tenants[acme.example].users[john].extensions[0]"; "" for problems
	// with the input as a whole.
	Field  string
	Reason string
	// Conflict marks a clash with something that already exists (a
	// duplicate id, extension, alias, domain or number) rather than a
	// malformed value; the admin API answers it with 409.
	Conflict bool
}

// String formats p as "file:line: field: reason", leaving out the parts that
// are unknown.
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

// Problems is every problem found. It is an error so that all of them can
// be returned at once; use errors.As to get the list back.
type Problems []Problem

// Error lists the problems, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Err returns ps as an error, or nil when there are no problems.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// Conflict reports whether every problem is a conflict (see Problem.Conflict).
func (ps Problems) Conflict() bool {
	for _, p := range ps {
		if !p.Conflict {
			return false
		}
	}
	return len(ps) > 0
}

// Sort orders problems by file and line, those without a line last, keeping
// the order of problems on the same line.
func Sort(ps Problems) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if (a.Line == 0) != (b.Line == 0) {
			return a.Line != 0
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
}

// Closest returns the name nearest to key by edit distance when it is fewer
// than maxDist edits away, for "did you mean …?" hints on typos.
func Closest(key string, names []string, maxDist int) (string, bool) {
	best, bestDist := "", maxDist
	for _, n := range names {
		if d := distance(key, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best, best != ""
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
