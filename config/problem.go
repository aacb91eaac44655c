package config

import (
	"fmt"
	"strings"

	"github.com/switchboard/switchboard/internal/problem"
)

// Problem is one thing wrong with a configuration: its File is the config
// file, or "env SWITCHBOARD_X" / "flag -x" for values from the environment or
// the command line, and its Field the YAML path ("sip.listen[1]").
type Problem = problem.Problem

// Problems is every problem found; it is an error when not empty.
type Problems = problem.Problems

func sortProblems(ps Problems) { problem.Sort(ps) }

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
