package config

import (
	"maps"
	"reflect"
	"strings"
)

// EnvPrefix starts the name of every environment variable ApplyEnv reads.
const EnvPrefix = "SWITCHBOARD_"

// ApplyEnv overrides c with the SWITCHBOARD_* variables in environ (the form
// of os.Environ: "KEY=value"). Every scalar and list field of the config file
// outside trunks has one, named by its YAML path upper-cased with dots turned
// into underscores: SWITCHBOARD_SIP_LISTEN, SWITCHBOARD_SIP_TLS_CERT,
// SWITCHBOARD_HTTP_ADMIN_TOKEN_FILE, SWITCHBOARD_SHUTDOWN_TIMEOUT, … (EnvVars
// lists them all). Lists are comma-separated. A variable set to "" sets the
// field to its zero value; SWITCHBOARD_* variables that name no field are
// ignored. Values that do not parse are returned as Problems naming the
// variable; the other variables are still applied.
func ApplyEnv(c *Config, environ []string) error {
	var probs Problems
	c.origins = maps.Clone(c.origins) // c may share the map with a copy it came from
	v := reflect.ValueOf(c).Elem()
	for _, kv := range environ {
		key, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(key, EnvPrefix) {
			continue
		}
		l, ok := leafByEnv[key]
		if !ok {
			continue
		}
		o := origin{file: "env " + key}
		if err := setLeaf(v.FieldByIndex(l.index), val); err != nil {
			probs = append(probs, Problem{File: o.file, Field: l.path, Reason: err.Error()})
			continue
		}
		c.setOrigin(l.path, o)
	}
	c.readAdminToken()
	return probs.Err()
}

// EnvVars returns the names of the environment variables ApplyEnv reads, in
// the order of the config file.
func EnvVars() []string {
	names := make([]string, len(leaves))
	for i, l := range leaves {
		names[i] = l.env
	}
	return names
}

var leafByEnv = func() map[string]leaf {
	m := make(map[string]leaf, len(leaves))
	for _, l := range leaves {
		m[l.env] = l
	}
	return m
}()
