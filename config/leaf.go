package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// A leaf is a scalar or list-of-scalars value of Config outside a list: one
// environment variable each. Trunks, a list of structs, have none.
type leaf struct {
	path  string // YAML path, "sip.tls.cert"
	env   string // SWITCHBOARD_SIP_TLS_CERT
	index []int  // reflect field index from Config
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	stringSliceType = reflect.TypeFor[[]string]()
	leaves          = collectLeaves(reflect.TypeFor[Config](), "", nil)
	leafByPath      = func() map[string]leaf {
		m := make(map[string]leaf, len(leaves))
		for _, l := range leaves {
			m[l.path] = l
		}
		return m
	}()
)

func collectLeaves(t reflect.Type, prefix string, index []int) []leaf {
	var ls []leaf
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		path := prefix + name
		idx := append(append([]int(nil), index...), i)
		switch {
		case f.Type.Kind() == reflect.Struct:
			ls = append(ls, collectLeaves(f.Type, path+".", idx)...)
		case isLeaf(f.Type):
			env := "SWITCHBOARD_" + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
			ls = append(ls, leaf{path: path, env: env, index: idx})
		}
	}
	return ls
}

// yamlName is the YAML key of a struct field; "" for fields not in the file.
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

func isLeaf(t reflect.Type) bool {
	return t == stringSliceType || t == durationType || t.Kind() == reflect.String || t.Kind() == reflect.Int || t.Kind() == reflect.Bool
}

// setLeaf parses raw into v, a leaf. A list is written comma-separated.
func setLeaf(v reflect.Value, raw string) error {
	switch {
	case v.Type() == stringSliceType:
		var list []string
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		v.Set(reflect.ValueOf(list))
	case v.Type() == durationType:
		d, err := parseDuration(raw)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.Int:
		n, err := parseBytes(raw)
		if err != nil {
			return err
		}
		v.SetInt(int64(n))
	case v.Kind() == reflect.String:
		v.SetString(raw)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", raw)
		}
		v.SetBool(b)
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// formatLeaf is the inverse of setLeaf.
func formatLeaf(v reflect.Value) string {
	switch {
	case v.Type() == stringSliceType:
		return strings.Join(v.Interface().([]string), ",")
	case v.Type() == durationType:
		return time.Duration(v.Int()).String()
	case v.Kind() == reflect.Int:
		return strconv.FormatInt(v.Int(), 10)
	case v.Kind() == reflect.Bool:
		return strconv.FormatBool(v.Bool())
	default:
		return v.String()
	}
}

// parseDuration reads "60s", "1m30s" or a bare number of seconds.
func parseDuration(raw string) (time.Duration, error) {
	s := strings.TrimSpace(raw)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (want e.g. 60s or a number of seconds)", raw)
	}
	return d, nil
}

// parseBytes reads a byte count: "4194304", "4MiB", "512 KiB", "1GiB".
func parseBytes(raw string) (int, error) {
	s := strings.TrimSpace(raw)
	mult := 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > (1<<31)/mult {
		return 0, fmt.Errorf("invalid size %q (want bytes, e.g. 4194304 or 4MiB)", raw)
	}
	return n * mult, nil
}
