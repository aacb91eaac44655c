package problem

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserErrors are the messages of go.yaml.in/yaml/v3's parser (as
// opposed to its scanner). The parser reports 0-based line numbers, and none
// at all for the first line; the scanner reports 1-based ones.
var yamlParserErrors = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected node content",
	"did not find expected <document start>",
	"found undefined tag handle",
	"found incompatible YAML document",
}

// YAMLSyntax turns a YAML syntax error from file into a Problem on the line
// where the broken construct starts.
func YAMLSyntax(file string, err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if slices.Contains(yamlParserErrors, msg) {
			line++
		}
	}
	return Problem{File: file, Line: line, Reason: "invalid YAML: " + msg}
}

// YAMLKind describes what a node holds, for "want X, got Y" reasons.
func YAMLKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}
