package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a configuration, with where it came from.
type Problem struct {
	// File is the config file, or "env SWITCHBOARD_X" / "flag -x" for values
	// from the environment or the command line; "" when unknown.
	File string
	// Line is the line in File; 0 when unknown or not from a file.
	Line int
	// Field is the YAML path of the value, e.g. "sip.listen[1]" or
	// "trunks[0].address"; "" for problems with the file as a whole.
	Field  string
	Reason string
}

// String formats p as "file:line: field: reason", leaving out the parts that
// are unknown.
func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.File != "" && p.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", p.File, p.Line)
	case p.File != "":
		b.WriteString(p.File + ": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Reason)
	return b.String()
}

// Problems is a list of problems; it is an error when not empty.
type Problems []Problem

// Error joins the problems, one per line.
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

// sortProblems orders problems by file and line, those without a line last,
// keeping the order of problems on the same line.
func sortProblems(ps Problems) {
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

// origin is where a value came from.
type origin struct {
	file string
	line int
}

// setOrigin records where the value at path came from, forgetting what was
// known about the parts of the value it replaces.
func (c *Config) setOrigin(path string, o origin) {
	if c.origins == nil {
		c.origins = make(map[string]origin)
	}
	for k := range c.origins {
		if strings.HasPrefix(k, path+".") || strings.HasPrefix(k, path+"[") {
			delete(c.origins, k)
		}
	}
	c.origins[path] = o
}

// where returns the origin of the value at path, or of the nearest enclosing
// value whose origin is known.
func (c *Config) where(path string) origin {
	for path != "" {
		if o, ok := c.origins[path]; ok {
			return o
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return origin{file: c.File}
}

// problem builds a Problem for the value at path.
func (c *Config) problem(path, format string, args ...any) Problem {
	o := c.where(path)
	return Problem{File: o.file, Line: o.line, Field: path, Reason: fmt.Sprintf(format, args...)}
}
