package config

import (
	"errors"
	"flag"
	"maps"
	"reflect"
)

// flagTable maps the command-line flags to the fields they override.
var flagTable = []struct {
	name, path, usage string
}{
	{"sip-listen", "sip.listen", "SIP listen `URLs`, comma-separated: udp://, tcp://, tls://, ws://, wss:// host:port"},
	{"advertise", "sip.advertise", "`host[:port]` put in Via, Record-Route and Contact"},
	{"realm", "sip.realm", "digest `realm` (default: the tenant's domain)"},
	{"default-tenant", "sip.default_tenant", "tenant `domain` for requests addressed to the server's own IP or host"},
	{"media-address", "media.address", "RTP bind and SDP c= `IP` address"},
	{"http-listen", "http.listen", "admin API and metrics `host:port`"},
	{"admin-token", "http.admin_token", "admin API bearer `token` (empty: admin API disabled)"},
	{"redis", "store.redis", "Redis `URL` (empty: embedded memory store)"},
	{"directory", "directory", "directory YAML `file` loaded at start"},
	{"log-level", "log.level", "log `level`: debug, info, warn or error"},
	{"log-format", "log.format", "log `format`: text or json"},
}

// leafFlag is a flag.Value writing one field of a Config.
type leafFlag struct {
	c    *Config
	path string
}

func (f *leafFlag) field() reflect.Value {
	return reflect.ValueOf(f.c).Elem().FieldByIndex(leafByPath[f.path].index)
}

func (f *leafFlag) String() string {
	if f == nil || f.c == nil {
		return ""
	}
	return formatLeaf(f.field())
}

func (f *leafFlag) Set(s string) error { return setLeaf(f.field(), s) }

// BindFlags registers on fs the flags for the most used fields —
// -sip-listen, -advertise, -realm, -default-tenant, -media-address,
// -http-listen, -admin-token, -redis, -directory, -log-level, -log-format —
// which write into c when fs is parsed. Bind after loading the file and
// environment so the flags override them, or use FromArgs, which does the
// whole sequence. -sip-listen takes a comma-separated list; given twice, the
// last one wins.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	for _, f := range flagTable {
		fs.Var(&leafFlag{c: c, path: f.path}, f.name, f.usage)
	}
}

// FromArgs builds the configuration of a subcommand: it registers -config and
// the flags of BindFlags on fs, parses args, then applies Default, the
// -config file (none when not given), the SWITCHBOARD_* variables of environ,
// the flags that were set, and finally Validate. The error is what fs.Parse
// returned (flag.ErrHelp included), or Problems listing every problem found
// in all the layers, sorted by file and line. With Problems, the Config holds
// everything that did decode.
//
// When fs already defines -config, that flag is used.
//
//	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
//	cfg, err := config.FromArgs(fs, args, os.Environ())
//	if err != nil {
//		fmt.Fprintln(os.Stderr, err)
//		return 1
//	}
func FromArgs(fs *flag.FlagSet, args, environ []string) (Config, error) {
	if fs.Lookup("config") == nil {
		fs.String("config", "", "config `file` (YAML); none: built-in defaults")
	}
	flagged := Default()
	flagged.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}

	var probs Problems
	c := Default()
	if path := fs.Lookup("config").Value.String(); path != "" {
		var err error
		c, err = Load(path)
		probs = appendProblems(probs, err)
	}
	probs = appendProblems(probs, ApplyEnv(&c, environ))

	c.origins = maps.Clone(c.origins)
	dst, src := reflect.ValueOf(&c).Elem(), reflect.ValueOf(&flagged).Elem()
	for _, f := range flagTable {
		if !isSet(fs, f.name) {
			continue
		}
		idx := leafByPath[f.path].index
		dst.FieldByIndex(idx).Set(src.FieldByIndex(idx))
		c.setOrigin(f.path, origin{file: "flag -" + f.name})
	}
	c.readAdminToken()

	probs = append(probs, c.Validate()...)
	sortProblems(probs)
	return c, probs.Err()
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// appendProblems appends the problems err carries to ps; any other error
// becomes one Problem.
func appendProblems(ps Problems, err error) Problems {
	var more Problems
	switch {
	case err == nil:
		return ps
	case errors.As(err, &more):
		return append(ps, more...)
	}
	return append(ps, Problem{Reason: err.Error()})
}
