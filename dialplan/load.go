package dialplan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/switchboard/switchboard/internal/problem"
)

// LoadOptions tune Load and Parse.
type LoadOptions struct {
	// Realm is the digest realm the HA1 values are computed for; "" means each
	// tenant's own domain (the default of the sip.realm setting).
	Realm string
	// KeepPasswords skips hashing: plaintext passwords stay in the returned
	// directory and Credentials stay empty. For callers that show the
	// passwords (the demo) or hash later (Store.Replace hashes anyway).
	KeepPasswords bool
	// Trunks, when not nil, are the configured trunk names: a tenant naming
	// any other trunk is a problem.
	Trunks []string
}

// Load reads, checks and prepares a directory file; see Parse. I/O errors are
// wrapped with the path; a file with problems returns Problems unwrapped (each
// problem already names the file) so that they print one per line.
func Load(path string, opts LoadOptions) (*Directory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load directory %s: %w", path, err)
	}
	return Parse(data, path, opts)
}

// Parse decodes a directory YAML document, applies SetDefaults, validates it
// and, unless opts.KeepPasswords, hashes the passwords (HashPasswords with
// opts.Realm). On any problem it returns a nil directory and Problems listing
// every problem found, each as file:line: field: reason. Unknown keys are
// problems. filename is used in the problems only.
func Parse(data []byte, filename string, opts LoadOptions) (*Directory, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return nil, Problems{problem.YAMLSyntax(filename, err)}
	}
	d := &Directory{}
	pd := &decoder{lines: map[pos]int{}}
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		pd.decodeStruct(root.Content[0], reflect.ValueOf(d), "")
	}
	// Validate even after decoding problems so that every problem is listed,
	// leaving out what follows from a value that could not be decoded.
	SetDefaults(d)
	bad := map[pos]bool{}
	for _, lp := range pd.probs {
		bad[pos{lp.at.obj, lp.at.field, ""}] = true
	}
	for _, lp := range append(validate(d), unknownTrunks(d, opts.Trunks)...) {
		if !bad[pos{lp.at.obj, lp.at.field, ""}] && !bad[pos{lp.at.obj, "", ""}] {
			pd.probs = append(pd.probs, lp)
		}
	}
	if len(pd.probs) > 0 {
		ps := make(Problems, len(pd.probs))
		for i, lp := range pd.probs {
			lp.File = filename
			lp.Line = lineOf(pd.lines, lp.at)
			ps[i] = lp.Problem
		}
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
		return nil, ps
	}
	if !opts.KeepPasswords {
		HashPasswords(d, realmFunc(opts.Realm))
	}
	return d, nil
}

// realmFunc returns the realm chooser for HashPasswords: realm when set,
// otherwise the tenant's domain.
func realmFunc(realm string) func(string) string {
	if realm == "" {
		return nil
	}
	return func(string) string { return realm }
}

// decoder walks a yaml.Node tree into the model structs by their yaml tags,
// recording the line of every value and a problem for every mismatch instead
// of stopping at the first.
type decoder struct {
	lines   map[pos]int
	probs   []located
	aliases int // alias expansions so far, bounded against "billion laughs"
}

// maxAliases bounds alias (*anchor) expansions per document.
const maxAliases = 10000

// deref follows an alias node; past maxAliases it reports a problem once and
// returns a null node so the walk ends quickly.
func (d *decoder) deref(n *yaml.Node) *yaml.Node {
	if n.Kind != yaml.AliasNode {
		return n
	}
	d.aliases++
	if d.aliases > maxAliases {
		if d.aliases == maxAliases+1 {
			d.add(pos{d, "", ""}, n.Line, "", "more than %d alias expansions", maxAliases)
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line}
	}
	return deref(n)
}

func (d *decoder) add(at pos, line int, field, format string, args ...any) {
	if line > 0 {
		d.lines[at] = line
	}
	d.probs = append(d.probs, located{Problem: Problem{Field: field, Reason: fmt.Sprintf(format, args...)}, at: at})
}

var durationType = reflect.TypeFor[Duration]()

// decodeStruct fills the struct ptr points to from mapping node n.
func (d *decoder) decodeStruct(n *yaml.Node, ptr reflect.Value, path string) {
	n = d.deref(n)
	obj := ptr.Interface()
	d.lines[pos{obj, "", ""}] = n.Line
	if n.Kind != yaml.MappingNode {
		d.add(pos{obj, "", ""}, n.Line, pathOr(path), "want a mapping (key: value), got %s", problem.YAMLKind(n))
		return
	}
	if a, ok := obj.(*Attendant); ok {
		a.Retries = DefaultRetries // absent key means the default; an explicit 0 stays 0
	}
	sv := ptr.Elem()
	fields, names := yamlFields(sv.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.deref(n.Content[i]), n.Content[i+1]
		key := k.Value
		fp := join(path, key)
		if first, dup := seen[key]; dup {
			d.add(pos{obj, key, "dup"}, k.Line, fp, "duplicate key (first at line %d)", first)
			continue
		}
		seen[key] = k.Line
		idx, ok := fields[key]
		if !ok {
			d.add(pos{obj, key, "unknown"}, k.Line, fp, "unknown key %q%s", key, suggest(key, names))
			continue
		}
		d.lines[pos{obj, key, ""}] = k.Line
		d.decodeValue(v, sv.Field(idx), fp, obj, key)
	}
}

// decodeValue fills field value fv (key field of obj) from node n.
func (d *decoder) decodeValue(n *yaml.Node, fv reflect.Value, path string, obj any, field string) {
	n = d.deref(n)
	at := pos{obj, field, ""}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	t := fv.Type()
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode {
			d.add(at, n.Line, path, "want a duration such as 20s, got %s", problem.YAMLKind(n))
			return
		}
		if err := fv.Addr().Interface().(*Duration).UnmarshalText([]byte(n.Value)); err != nil {
			d.add(at, n.Line, path, "%v", err)
		}
	case t.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.add(at, n.Line, path, "want a single value, got %s", problem.YAMLKind(n))
			return
		}
		fv.SetString(n.Value)
	case t.Kind() == reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
			d.add(at, n.Line, path, "want true or false, got %s", problem.YAMLKind(n))
			return
		}
		fv.SetBool(b)
	case t.Kind() == reflect.Int:
		i, err := strconv.Atoi(n.Value)
		if n.Kind != yaml.ScalarNode || err != nil {
			d.add(at, n.Line, path, "want a whole number, got %s", problem.YAMLKind(n))
			return
		}
		fv.SetInt(int64(i))
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		if n.Kind != yaml.SequenceNode {
			d.add(at, n.Line, path, "want a list such as [\"a\", \"b\"], got %s", problem.YAMLKind(n))
			return
		}
		for i, e := range n.Content {
			e = d.deref(e)
			ep := path + "[" + strconv.Itoa(i) + "]"
			eat := pos{obj, field, strconv.Itoa(i)}
			d.lines[eat] = e.Line
			if e.Kind != yaml.ScalarNode {
				d.add(eat, e.Line, ep, "want a single value, got %s", problem.YAMLKind(e))
				continue
			}
			fv.Set(reflect.Append(fv, reflect.ValueOf(e.Value).Convert(t.Elem())))
		}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Pointer:
		if n.Kind != yaml.SequenceNode {
			d.add(at, n.Line, path, "want a list, got %s", problem.YAMLKind(n))
			return
		}
		for i, e := range n.Content {
			ev := reflect.New(t.Elem().Elem())
			d.decodeStruct(e, ev, path+"["+label(i, idOf(e))+"]")
			fv.Set(reflect.Append(fv, ev))
		}
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.add(at, n.Line, path, "want a mapping (key: value), got %s", problem.YAMLKind(n))
			return
		}
		m := reflect.MakeMap(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := d.deref(n.Content[i]), d.deref(n.Content[i+1])
			ep := path + "[" + k.Value + "]"
			eat := pos{obj, field, k.Value}
			if _, dup := d.lines[eat]; dup {
				d.add(pos{obj, field, k.Value + "\x00dup"}, k.Line, ep, "listed twice (first at line %d)", d.lines[eat])
				continue
			}
			d.lines[eat] = k.Line
			if t, ok := obj.(*Tenant); ok && field == "numbers" && k.Kind == yaml.ScalarNode && v.Kind == yaml.MappingNode {
				if target, ok := d.numberEntry(v, t, k.Value, eat, ep); ok {
					m.SetMapIndex(reflect.ValueOf(k.Value), reflect.ValueOf(target))
				}
				continue
			}
			if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
				d.add(eat, k.Line, ep, "want key: value, got %s", problem.YAMLKind(v))
				continue
			}
			m.SetMapIndex(reflect.ValueOf(k.Value), reflect.ValueOf(v.Value))
		}
		fv.Set(m)
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
		ev := reflect.New(t.Elem())
		d.decodeStruct(n, ev, path)
		fv.Set(ev)
	default:
		panic("dialplan: decoder has no case for " + t.String())
	}
}

// yamlFields maps the yaml keys of struct type t to field indexes, and lists
// the keys for suggestions.
func yamlFields(t reflect.Type) (map[string]int, []string) {
	fields := map[string]int{}
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		fields[name] = i
		names = append(names, name)
	}
	return fields, names
}

// suggest names the closest known key, or lists them all.
func suggest(key string, names []string) string {
	if best, ok := problem.Closest(key, names, 3); ok {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return " (known keys: " + strings.Join(names, ", ") + ")"
}

// idOf returns the value of the "id" or "domain" key of a mapping node, used
// to name list elements readably.
func idOf(n *yaml.Node) string {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; k == "id" || k == "domain" {
			return deref(n.Content[i+1]).Value
		}
	}
	return ""
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func pathOr(path string) string {
	if path == "" {
		return "(top level)"
	}
	return path
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// label names a list element by its id when it has one, else by its index.
func label(i int, id string) string {
	if id != "" {
		return id
	}
	return strconv.Itoa(i)
}

// unknownTrunks lists tenants' trunk names that are not configured; nil
// known means the configuration is not at hand and nothing is checked.
func unknownTrunks(d *Directory, known []string) []located {
	if known == nil {
		return nil
	}
	var out []located
	for i, t := range d.Tenants {
		if t == nil {
			continue
		}
		for j, name := range t.Trunks {
			if name != "" && !slices.Contains(known, name) {
				out = append(out, located{
					Problem: Problem{Field: fmt.Sprintf("tenants[%s].trunks[%d]", label(i, t.Domain), j),
						Reason: fmt.Sprintf("unknown trunk %q (configured: %s)", name, strings.Join(known, ", "))},
					at: pos{t, "trunks", strconv.Itoa(j)},
				})
			}
		}
	}
	return out
}
