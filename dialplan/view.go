package dialplan

import (
	"errors"
	"strings"
)

// ErrNotFound is returned by Reader methods when no tenant matches.
var ErrNotFound = errors.New("dialplan: not found")

// EntryKind says what a SIP name resolved to.
type EntryKind uint8

// Entry kinds; the zero EntryKind is no entry.
const (
	EntryUser EntryKind = iota + 1
	EntryAlias
	EntryGroup
)

// String names the kind: "user", "alias", "group" or "none".
func (k EntryKind) String() string {
	switch k {
	case EntryUser:
		return "user"
	case EntryAlias:
		return "alias"
	case EntryGroup:
		return "group"
	}
	return "none"
}

// Entry is what a SIP user part (a user id, an extension, an alias name or a
// group extension) names in a tenant.
type Entry struct {
	Kind  EntryKind
	User  *User  // the user, or the alias's owner; nil for a group
	Alias string // the alias name when Kind == EntryAlias
	Group *Group // the group when Kind == EntryGroup
}

// AOR returns the canonical address-of-record of the entry in domain, under
// which registrations are stored: "john@acme.example" for a user whichever
// name (id or extension) was used, "john-support@acme.example" for an alias
// and "<extension>@domain" for a group (groups do not register; the key is
// only unique). It returns "" for the zero Entry.
func (e Entry) AOR(domain string) string {
	domain = strings.ToLower(domain)
	switch e.Kind {
	case EntryUser:
		return e.User.ID + "@" + domain
	case EntryAlias:
		return e.Alias + "@" + domain
	case EntryGroup:
		return e.Group.Extension + "@" + domain
	}
	return ""
}

// View is one tenant compiled into indexes for the call path. It is
// immutable and safe for concurrent use; the values its methods return point
// into it and must not be modified.
type View struct {
	Tenant *Tenant

	entries    map[string]Entry      // user ids, extensions, aliases, group extensions
	creds      map[string]Credential // digest username (id or extension)
	users      map[string]*User
	groups     map[string]*Group
	attendants map[string]*Attendant
	numbers    map[string]Target // Tenant.Numbers plus the users' direct numbers
}

// Lookup resolves the user part of a SIP URI: a user id, any extension, an
// alias name or a group extension. Ids and aliases match case-insensitively.
func (v *View) Lookup(name string) (Entry, bool) { return lookupFold(v.entries, name) }

// Credential returns the HA1 values for a digest username (a user id or one
// of its extensions). The match is exact: the HA1 is bound to the username as
// the phone spelled it. Aliases authenticate as their owner.
func (v *View) Credential(username string) (Credential, bool) {
	c, ok := v.creds[username]
	return c, ok
}

// User returns the user with this id (case-insensitive).
func (v *View) User(id string) (*User, bool) { return lookupFold(v.users, id) }

// Group returns the ring group with this id (case-insensitive).
func (v *View) Group(id string) (*Group, bool) { return lookupFold(v.groups, id) }

// Attendant returns the auto attendant with this id (case-insensitive).
func (v *View) Attendant(id string) (*Attendant, bool) { return lookupFold(v.attendants, id) }

// Number returns where a tenant number (E.164) routes. A user's direct
// number routes to that user even when the numbers map does not list it.
func (v *View) Number(e164 string) (Target, bool) {
	t, ok := v.numbers[e164]
	return t, ok
}

// Snapshot is a whole directory compiled for lookups; immutable.
type Snapshot struct {
	dir     *Directory
	views   []*View
	tenants map[string]*View // lowercase domain
	numbers map[string]*View // every owned number: main, numbers, direct
}

// Tenant returns the view of a tenant by domain (case-insensitive).
func (s *Snapshot) Tenant(domain string) (*View, bool) { return lookupFold(s.tenants, domain) }

// TenantByNumber returns the view of the tenant owning an E.164 number.
func (s *Snapshot) TenantByNumber(e164 string) (*View, bool) {
	v, ok := s.numbers[e164]
	return v, ok
}

// Views returns every tenant's view in directory order.
func (s *Snapshot) Views() []*View { return append([]*View(nil), s.views...) }

// Compile validates d and builds the views of all its tenants. It returns
// Problems when d is not valid. The snapshot shares d's values: d must not be
// modified afterwards. Passwords are not hashed here: call HashPasswords
// first, or users without Credentials cannot authenticate.
func Compile(d *Directory) (*Snapshot, error) {
	if ps := Validate(d); len(ps) > 0 {
		return nil, ps
	}
	s := &Snapshot{dir: d, tenants: map[string]*View{}, numbers: map[string]*View{}}
	for _, t := range d.Tenants {
		v := compileTenant(t)
		s.views = append(s.views, v)
		s.tenants[strings.ToLower(t.Domain)] = v
		if t.MainNumber != "" {
			s.numbers[t.MainNumber] = v
		}
		for n := range v.numbers {
			s.numbers[n] = v
		}
		for n := range t.Numbers { // available and reserved ones too: owned, routed nowhere
			s.numbers[n] = v
		}
	}
	return s, nil
}

func compileTenant(t *Tenant) *View {
	v := &View{
		Tenant:     t,
		entries:    map[string]Entry{},
		creds:      map[string]Credential{},
		users:      map[string]*User{},
		groups:     map[string]*Group{},
		attendants: map[string]*Attendant{},
		numbers:    map[string]Target{},
	}
	for _, u := range t.Users {
		v.users[u.ID] = u
		v.entries[u.ID] = Entry{Kind: EntryUser, User: u}
		for _, e := range u.Extensions {
			v.entries[e] = Entry{Kind: EntryUser, User: u}
		}
		for _, a := range u.Aliases {
			v.entries[a] = Entry{Kind: EntryAlias, User: u, Alias: a}
		}
		for _, c := range u.Credentials {
			v.creds[c.Username] = c
		}
		if u.DirectNumber != "" {
			v.numbers[u.DirectNumber] = Target{Kind: TargetUser, ID: u.ID}
		}
	}
	for _, g := range t.Groups {
		v.groups[g.ID] = g
		v.entries[g.Extension] = Entry{Kind: EntryGroup, Group: g}
	}
	for _, a := range t.Attendants {
		v.attendants[a.ID] = a
	}
	for n, s := range t.Numbers {
		if s == "" {
			continue // available or reserved: routes nowhere
		}
		tg, _ := ParseTarget(s) // valid: Compile validated
		v.numbers[n] = tg
	}
	return v
}

// lookupFold looks key up exactly, then ASCII-lowercased, without allocating
// for keys up to 256 bytes.
func lookupFold[V any](m map[string]V, key string) (V, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	upper := false
	for i := 0; i < len(key); i++ {
		if c := key[i]; 'A' <= c && c <= 'Z' {
			upper = true
			break
		}
	}
	if !upper {
		var zero V
		return zero, false
	}
	var buf [256]byte
	if len(key) > len(buf) {
		v, ok := m[strings.ToLower(key)]
		return v, ok
	}
	b := buf[:len(key)]
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	v, ok := m[string(b)]
	return v, ok
}
