package dialplan

import (
	"encoding/json"
	"maps"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Attendant retries default to DefaultRetries when the key is absent, while an
// explicit 0 means "no retry". The tag keeps omitempty, so these methods make
// YAML and JSON round trips keep a 0 and fill the default when absent.

// UnmarshalJSON decodes an attendant, defaulting retries to DefaultRetries.
func (a *Attendant) UnmarshalJSON(b []byte) error {
	type plain Attendant
	p := plain{Retries: DefaultRetries}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*a = Attendant(p)
	return nil
}

// MarshalJSON encodes an attendant, always writing retries.
func (a Attendant) MarshalJSON() ([]byte, error) {
	type plain Attendant
	return json.Marshal(struct {
		plain
		Retries int `json:"retries"`
	}{plain(a), a.Retries})
}

// UnmarshalYAML decodes an attendant with yaml.Unmarshal (Parse has its own
// decoder), defaulting retries to DefaultRetries.
func (a *Attendant) UnmarshalYAML(n *yaml.Node) error {
	type plain Attendant
	p := plain{Retries: DefaultRetries}
	if err := n.Decode(&p); err != nil {
		return err
	}
	*a = Attendant(p)
	return nil
}

// MarshalYAML encodes an attendant, always writing retries.
func (a Attendant) MarshalYAML() (any, error) {
	type plain Attendant
	var n yaml.Node
	if err := n.Encode(plain(a)); err != nil {
		return nil, err
	}
	if a.Retries == 0 {
		n.Content = append(n.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Value: "retries"},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: "0"})
	}
	return &n, nil
}

// Clone returns a deep copy of d, Credentials included; nil for nil. It is
// the same as d.Clone().
func Clone(d *Directory) *Directory { return d.Clone() }

// Clone returns a deep copy of the directory, Credentials included.
func (d *Directory) Clone() *Directory {
	if d == nil {
		return nil
	}
	c := &Directory{Tenants: make([]*Tenant, 0, len(d.Tenants))}
	for _, t := range d.Tenants {
		if t == nil {
			continue
		}
		tc := *t
		tc.Numbers = maps.Clone(t.Numbers)
		tc.Reserved = maps.Clone(t.Reserved)
		if t.Limits != nil {
			l := *t.Limits
			l.AllowCountries, l.DenyPrefixes = slices.Clone(l.AllowCountries), slices.Clone(l.DenyPrefixes)
			tc.Limits = &l
		}
		if t.MOH != nil {
			m := *t.MOH
			tc.MOH = &m
		}
		tc.Users = cloneEach(t.Users, func(u User) User {
			u.Extensions = slices.Clone(u.Extensions)
			u.Aliases = slices.Clone(u.Aliases)
			u.Credentials = slices.Clone(u.Credentials)
			if u.Forward != nil {
				f := *u.Forward
				u.Forward = &f
			}
			return u
		})
		tc.Groups = cloneEach(t.Groups, func(g Group) Group {
			g.Members = slices.Clone(g.Members)
			return g
		})
		tc.Attendants = cloneEach(t.Attendants, func(a Attendant) Attendant {
			a.Options = maps.Clone(a.Options)
			return a
		})
		c.Tenants = append(c.Tenants, &tc)
	}
	return c
}

func cloneEach[T any](in []*T, deep func(T) T) []*T {
	if in == nil {
		return nil
	}
	out := make([]*T, 0, len(in))
	for _, v := range in {
		if v != nil {
			c := deep(*v)
			out = append(out, &c)
		}
	}
	return out
}
