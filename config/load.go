package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"

	"go.yaml.in/yaml/v3"

	"github.com/switchboard/switchboard/internal/problem"
)

// Load reads the YAML config file at path over Default. Unknown keys, wrong
// types and YAML syntax errors are returned as Problems naming file, line and
// field; the returned Config then holds every value that did decode, so a
// caller can still Validate it to list the remaining problems. Relative file
// paths in the file (directory, sip.tls.cert/key, media.prompts,
// http.admin_token_file) are resolved against the file's folder, and the
// admin token file, when set, is read into HTTP.AdminToken.
//
// A key present with no value (null) keeps its default.
func Load(path string) (Config, error) {
	c := Default()
	c.File = path
	data, err := os.ReadFile(path)
	if err != nil {
		return c, Problems{{File: path, Reason: "cannot read config: " + pathErr(err)}}
	}
	c.origins = make(map[string]origin)
	d := decoder{file: path, dir: filepath.Dir(path), c: &c}
	d.document(data)
	c.readAdminToken()
	return c, d.probs.Err()
}

type decoder struct {
	file  string
	dir   string
	c     *Config
	probs Problems
}

func (d *decoder) document(data []byte) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return // empty file: defaults
		}
		d.syntax(err)
		return
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.probs = append(d.probs, Problem{File: d.file, Line: extra.Line, Reason: "more than one YAML document"})
	} else if !errors.Is(err, io.EOF) {
		d.syntax(err)
	}
	if len(doc.Content) == 0 {
		return
	}
	d.value(doc.Content[0], reflect.ValueOf(d.c).Elem(), "", false)
}

// syntax turns a YAML syntax error into a Problem with its line.
func (d *decoder) syntax(err error) {
	d.probs = append(d.probs, problem.YAMLSyntax(d.file, err))
}

func (d *decoder) add(n *yaml.Node, path, format string, args ...any) {
	d.probs = append(d.probs, Problem{File: d.file, Line: n.Line, Field: path, Reason: fmt.Sprintf(format, args...)})
}

// value decodes n into v, whose YAML path is path; isPath marks a file path
// to resolve against the config file's folder.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string, isPath bool) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // keep the default
	}
	t := v.Type()
	switch {
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.add(n, path, "expected a mapping, got %s", problem.YAMLKind(n))
			return
		}
		d.mapping(n, v, path)
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.add(n, path, "expected a list, got %s", problem.YAMLKind(n))
			return
		}
		list := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.c.origins[p] = origin{d.file, item.Line}
			d.value(item, list.Index(i), p, false)
		}
		v.Set(list)
	default:
		d.scalar(n, v, path, isPath)
	}
}

func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string, isPath bool) {
	if n.Kind != yaml.ScalarNode {
		d.add(n, path, "expected %s, got %s", want(v.Type()), problem.YAMLKind(n))
		return
	}
	if err := setLeaf(v, n.Value); err != nil {
		d.add(n, path, "%v", err)
		return
	}
	if isPath && v.String() != "" && !filepath.IsAbs(v.String()) {
		v.SetString(filepath.Join(d.dir, v.String()))
	}
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	t := v.Type()
	fields := make(map[string]int, t.NumField())
	var names []string
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			fields[name] = i
			names = append(names, name)
		}
	}
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		if k.Kind != yaml.ScalarNode {
			d.add(k, path, "mapping key must be a string, got %s", problem.YAMLKind(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.add(k, p, "duplicate key (first at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		fi, ok := fields[k.Value]
		if !ok {
			reason := "unknown field"
			if s := suggest(k.Value, names); s != "" {
				reason += " (did you mean " + s + "?)"
			}
			d.add(k, p, "%s", reason)
			continue
		}
		d.c.origins[p] = origin{d.file, k.Line}
		d.value(val, v.Field(fi), p, t.Field(fi).Tag.Get("config") == "path")
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func want(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration"
	case t.Kind() == reflect.Int:
		return "a number"
	}
	return "a string"
}

// suggest returns the name closest to key, or "" when none is close: at
// most two edits away, and fewer than half of key's length.
func suggest(key string, names []string) string {
	best, _ := problem.Closest(key, names, min(3, len(key)/2+1))
	return best
}

// pathErr is err without the file name an *fs.PathError repeats.
func pathErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
