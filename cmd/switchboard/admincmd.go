package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// The admin client commands — `switchboard users|numbers|tenants|groups|
// attendants VERB [flags] [KEY]` — are rows of the nouns table below: which
// flags set which JSON fields and which columns a table shows. One function
// (runNoun) runs them all.

// fieldKind says how a flag's text becomes JSON.
type fieldKind int

const (
	text    fieldKind = iota // "s"
	list                     // "a,b" -> ["a","b"]; "" -> []
	boolean                  // -flag, -flag=false
	integer                  // "2" -> 2
	mapping                  // "1=group:sales,2=user:john" -> {"1": …}
	clear                    // -flag sets the JSON field to null (set only)
)

// field is one flag of a noun and the JSON field it sets ("forward.number"
// nests).
type field struct {
	flag, json string
	kind       fieldKind
	usage      string
}

// column is one column of a noun's table.
type column struct {
	header, json string
	format       func(v any) string // nil: formatValue
}

type noun struct {
	name     string // "users"
	singular string // "user"
	scoped   bool   // lives in a tenant: needs -tenant
	key      string // JSON field naming one object: "id", "domain", "number"
	// add and set: POST to the collection and PATCH the object, unless
	// putOnly (numbers: PUT the object for both).
	putOnly bool
	fields  []field
	columns []column
	// rows turns a list answer into table rows; nil: the answer's noun-named list.
	rows func(body map[string]any) []any
	// extra verbs: name -> the path below the object and what it prints.
	extra map[string]extraVerb
}

type extraVerb struct {
	usage, method, suffix string
}

var userFields = []field{
	{"name", "name", text, "full name"},
	{"extensions", "extensions", list, "extensions, comma-separated (default: the next free one)"},
	{"password", "password", text, "SIP password (default on add: generated and shown once)"},
	{"direct-number", "direct_number", text, "E.164 direct number (\"\" to clear)"},
	{"aliases", "aliases", list, "SIP aliases, comma-separated"},
	{"caller-id", "caller_id", text, "outbound caller-ID: main or direct"},
	{"email", "email", text, "email address"},
	{"mobile", "mobile", text, "E.164 mobile number"},
	{"forward", "forward.number", text, "forward calls to this E.164 number"},
	{"forward-when", "forward.when", text, "always, no_answer, busy or unregistered"},
	{"forward-after", "forward.after", text, "with no_answer: ring this long first, e.g. 20s"},
	{"screening", "forward.screening", boolean, "forwarded calls must press 1 to accept"},
	{"no-forward", "forward", clear, "stop forwarding (set)"},
}

var nouns = []*noun{
	{
		name: "tenants", singular: "tenant", key: "domain",
		fields: []field{
			{"name", "name", text, "company name"},
			{"main-number", "main_number", text, "E.164 main number"},
			{"country-code", "country_code", text, "country calling code of national dialling (default 1)"},
			{"extension-policy", "extension_policy", text, "pattern new extensions come from (default 7XXX)"},
		},
		columns: []column{{"DOMAIN", "domain", nil}, {"NAME", "name", nil}, {"MAIN NUMBER", "main_number", nil},
			{"POLICY", "extension_policy", nil}, {"USERS", "user_count", nil}, {"NUMBERS", "number_count", nil}},
	},
	{
		name: "users", singular: "user", scoped: true, key: "id", fields: userFields,
		columns: []column{{"ID", "id", nil}, {"NAME", "name", nil}, {"EXTENSIONS", "extensions", nil},
			{"DIRECT NUMBER", "direct_number", nil}, {"ALIASES", "aliases", nil}, {"CALLER ID", "caller_id", nil},
			{"FORWARD", "forward", formatForward}, {"EMAIL", "email", nil}},
		extra: map[string]extraVerb{
			"password": {usage: "generate a new SIP password and print it once", method: "POST", suffix: "/password"},
		},
	},
	{
		name: "numbers", singular: "number", scoped: true, key: "number", putOnly: true,
		fields:  []field{{"target", "target", text, "where it rings: user:ID, alias:NAME, group:ID, attendant:ID or ext:NNNN"}},
		columns: []column{{"NUMBER", "number", nil}, {"TARGET", "target", nil}},
		rows: func(body map[string]any) []any {
			m, _ := body["numbers"].(map[string]any)
			var rows []any
			for _, n := range sortedKeys(m) {
				rows = append(rows, map[string]any{"number": n, "target": m[n]})
			}
			return rows
		},
	},
	{
		name: "groups", singular: "group", scoped: true, key: "id",
		fields: []field{
			{"extension", "extension", text, "the group's extension (default: the next free one)"},
			{"members", "members", list, "user ids or aliases, comma-separated"},
			{"strategy", "strategy", text, "simultaneous or sequential"},
			{"ring", "ring", text, "how long to ring, e.g. 20s"},
		},
		columns: []column{{"ID", "id", nil}, {"EXTENSION", "extension", nil}, {"STRATEGY", "strategy", nil},
			{"RING", "ring", nil}, {"MEMBERS", "members", nil}},
	},
	{
		name: "attendants", singular: "attendant", scoped: true, key: "id",
		fields: []field{
			{"greeting", "greeting", text, "prompt name"},
			{"options", "options", mapping, "menu, e.g. 1=group:sales,2=user:john"},
			{"dial-by-extension", "dial_by_extension", boolean, "callers may dial an extension"},
			{"timeout", "timeout", text, "wait for a digit this long, e.g. 5s"},
			{"retries", "retries", integer, "replays of the menu"},
			{"fallback", "fallback", text, "target when nothing is chosen"},
		},
		columns: []column{{"ID", "id", nil}, {"GREETING", "greeting", nil}, {"OPTIONS", "options", nil},
			{"FALLBACK", "fallback", nil}, {"TIMEOUT", "timeout", nil}, {"RETRIES", "retries", nil}},
	},
}

func findNoun(name string) *noun {
	for _, n := range nouns {
		if n.name == name {
			return n
		}
	}
	return nil
}

// usage explains a noun's verbs and flags.
func (n *noun) usage(w io.Writer, fs *flag.FlagSet) {
	key := strings.ToUpper(n.key)
	scope := ""
	if n.scoped {
		scope = " -tenant DOMAIN"
	}
	fmt.Fprintf(w, "Usage:\n  switchboard %s list%s [-q TEXT] [-limit N] [-offset N]\n", n.name, scope)
	fmt.Fprintf(w, "  switchboard %s get%s %s\n", n.name, scope, key)
	fmt.Fprintf(w, "  switchboard %s add%s [flags] %s\n", n.name, scope, key)
	fmt.Fprintf(w, "  switchboard %s set%s [flags] %s\n", n.name, scope, key)
	fmt.Fprintf(w, "  switchboard %s delete%s %s", n.name, scope, key)
	if n.name == "tenants" {
		fmt.Fprint(w, " [-force]")
	}
	fmt.Fprintln(w)
	for _, v := range sortedKeys(n.extra) {
		fmt.Fprintf(w, "  switchboard %s %s%s %s   %s\n", n.name, v, scope, key, n.extra[v].usage)
	}
	fmt.Fprintf(w, "\n%s may also be given as -%s. \"set\" changes only the flags given.\n\nFlags:\n", key, n.key)
	fs.PrintDefaults()
}

// runNoun runs `switchboard NOUN VERB …`.
func runNoun(ctx context.Context, n *noun, args, environ []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(n.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs, environ)
	tenant := fs.String("tenant", envOf(environ, "SWITCHBOARD_TENANT"), "tenant `domain` (env SWITCHBOARD_TENANT)")
	key := fs.String(n.key, "", "the "+n.singular+"'s "+n.key)
	q := fs.String("q", "", "list: only those matching this text")
	limit := fs.Int("limit", 0, "list: at most this many (default 100)")
	offset := fs.Int("offset", 0, "list: skip this many")
	force := fs.Bool("force", false, "delete a tenant with everything in it")
	raw := map[string]*rawValue{}
	for _, f := range n.fields {
		raw[f.flag] = &rawValue{boolean: f.kind == boolean || f.kind == clear}
		fs.Var(raw[f.flag], f.flag, f.usage)
	}
	fs.Usage = func() { n.usage(stderr, fs) }

	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fs.Usage()
			return 0
		}
		fmt.Fprintf(stderr, "switchboard %s: missing verb\n\n", n.name)
		fs.Usage()
		return 2
	}
	verb := args[0]
	positional, err := parseInterleaved(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if len(positional) > 1 {
		fmt.Fprintf(stderr, "switchboard %s %s: unexpected arguments %q\n", n.name, verb, positional[1:])
		return 2
	}
	if len(positional) == 1 {
		*key = positional[0]
	}
	c, err := cf.client()
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return 2
	}
	if n.scoped && *tenant == "" {
		fmt.Fprintf(stderr, "switchboard %s %s: -tenant DOMAIN is required\n", n.name, verb)
		return 2
	}
	base := "/" + n.name
	if n.scoped {
		base = "/tenants/" + url.PathEscape(*tenant) + base
	}
	needKey := verb != "list" && (verb != "add" || n.putOnly)
	if needKey && *key == "" {
		fmt.Fprintf(stderr, "switchboard %s %s: which %s? give its %s\n", n.name, verb, n.singular, n.key)
		return 2
	}
	item := base + "/" + url.PathEscape(*key)
	body, err := n.body(fs, raw, verb)
	if err != nil {
		fmt.Fprintf(stderr, "switchboard %s %s: %v\n", n.name, verb, err)
		return 2
	}

	var (
		data  []byte
		shown = "table"
	)
	switch verb {
	case "list":
		v := url.Values{}
		if *q != "" {
			v.Set("q", *q)
		}
		if *limit > 0 {
			v.Set("limit", strconv.Itoa(*limit))
		}
		if *offset > 0 {
			v.Set("offset", strconv.Itoa(*offset))
		}
		path := base
		if len(v) > 0 {
			path += "?" + v.Encode()
		}
		data, err = c.doJSON(ctx, "GET", path, nil)
		shown = "list"
	case "get":
		data, err = c.doJSON(ctx, "GET", item, nil)
	case "add", "set":
		switch {
		case n.putOnly:
			data, err = c.doJSON(ctx, "PUT", item, body)
		case verb == "add":
			if *key != "" {
				body[n.key] = *key
			}
			data, err = c.doJSON(ctx, "POST", base, body)
		default:
			data, err = c.doJSON(ctx, "PATCH", item, body)
		}
	case "delete":
		path := item
		if *force {
			path += "?force=true"
		}
		data, err = c.doJSON(ctx, "DELETE", path, nil)
		shown = "deleted"
	default:
		x, ok := n.extra[verb]
		if !ok {
			fmt.Fprintf(stderr, "switchboard %s: unknown verb %q\n\n", n.name, verb)
			fs.Usage()
			return 2
		}
		data, err = c.doJSON(ctx, x.method, item+x.suffix, nil)
		shown = verb
	}
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return 1
	}
	if cf.json {
		printJSON(stdout, data)
		return 0
	}
	var answer map[string]any
	if err := json.Unmarshal(data, &answer); err != nil {
		fmt.Fprintf(stderr, "switchboard: the API answered something that is not a JSON object: %v\n", err)
		return 1
	}
	switch shown {
	case "list":
		rows := n.listRows(answer)
		n.table(stdout, rows)
		if total, ok := answer["total"].(float64); ok && int(total) > len(rows) {
			fmt.Fprintf(stdout, "(%d of %d; use -offset and -limit for more)\n", len(rows), int(total))
		}
	case "deleted":
		fmt.Fprintf(stdout, "deleted %s %s\n", n.singular, *key)
	case "password":
		fmt.Fprintf(stdout, "new SIP password of %s: %v\n(shown once; the old one no longer works)\n", answer["id"], answer["password"])
	default:
		n.table(stdout, []any{answer})
		if pw, ok := answer["password"].(string); ok && pw != "" {
			fmt.Fprintf(stdout, "\ngenerated SIP password: %s (shown once)\n", pw)
		}
	}
	return 0
}

func (n *noun) listRows(answer map[string]any) []any {
	if n.rows != nil {
		return n.rows(answer)
	}
	rows, _ := answer[n.name].([]any)
	return rows
}

// body builds the JSON body from the flags given: for set, only those.
func (n *noun) body(fs *flag.FlagSet, raw map[string]*rawValue, verb string) (map[string]any, error) {
	body := map[string]any{}
	var err error
	fs.Visit(func(fl *flag.Flag) {
		i := slices.IndexFunc(n.fields, func(f field) bool { return f.flag == fl.Name })
		if i < 0 || err != nil {
			return
		}
		f := n.fields[i]
		var v any
		if v, err = f.value(raw[f.flag].s); err != nil {
			return
		}
		if f.kind == clear {
			if verb != "set" {
				err = fmt.Errorf("-%s: only with set", f.flag)
				return
			}
			if raw[f.flag].s != "true" {
				return
			}
			v = nil
		}
		setPath(body, f.json, v)
	})
	return body, err
}

func (f field) value(s string) (any, error) {
	switch f.kind {
	case list:
		out := []string{}
		for v := range strings.SplitSeq(s, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
		return out, nil
	case boolean, clear:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("-%s=%s: want true or false", f.flag, s)
		}
		return b, nil
	case integer:
		i, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("-%s %s: want a whole number", f.flag, s)
		}
		return i, nil
	case mapping:
		m := map[string]string{}
		for kv := range strings.SplitSeq(s, ",") {
			if kv = strings.TrimSpace(kv); kv == "" {
				continue
			}
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, fmt.Errorf("-%s: %q: want KEY=VALUE", f.flag, kv)
			}
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		return m, nil
	}
	return s, nil
}

// setPath sets body["a"]["b"] for path "a.b".
func setPath(body map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	m := body
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// table prints rows under the noun's columns, aligned.
func (n *noun) table(w io.Writer, rows []any) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	headers := make([]string, len(n.columns))
	for i, c := range n.columns {
		headers[i] = c.header
	}
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	for _, r := range rows {
		obj, _ := r.(map[string]any)
		cells := make([]string, len(n.columns))
		for i, c := range n.columns {
			format := formatValue
			if c.format != nil {
				format = c.format
			}
			if cells[i] = format(obj[c.json]); cells[i] == "" {
				cells[i] = "-"
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
}

func formatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		if v {
			return "yes"
		}
		return "no"
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = formatValue(x)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		parts := []string{}
		for _, k := range sortedKeys(v) {
			parts = append(parts, k+"="+formatValue(v[k]))
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}

// formatForward writes a forward as "+14085551234 no_answer 20s screening".
func formatForward(v any) string {
	f, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	parts := []string{formatValue(f["number"]), formatValue(f["when"])}
	if after := formatValue(f["after"]); after != "" && f["when"] == "no_answer" {
		parts = append(parts, after)
	}
	if f["screening"] == true {
		parts = append(parts, "screening")
	}
	return strings.Join(parts, " ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// rawValue keeps a flag's text as given; boolean ones work as -flag alone.
type rawValue struct {
	s       string
	boolean bool
}

func (v *rawValue) String() string     { return v.s }
func (v *rawValue) Set(s string) error { v.s = s; return nil }
func (v *rawValue) IsBoolFlag() bool   { return v.boolean }

// parseInterleaved parses flags that may come before and after positional
// arguments ("users set john -name John") and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}
