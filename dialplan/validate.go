package dialplan

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

var (
	idPattern       = regexp.MustCompile(`^[a-z0-9._-]+$`)
	extPattern      = regexp.MustCompile(`^[0-9]{2,8}$`)
	e164Pattern     = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	greetingPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	policyPattern   = regexp.MustCompile(`^[0-9]*[Xx]+$`)
	hexMD5          = regexp.MustCompile(`^[0-9a-f]{32}$`)
	hexSHA256       = regexp.MustCompile(`^[0-9a-f]{64}$`)
	hostLabel       = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// Validate checks a directory and returns every problem found (nil when it is
// valid). It works on any Directory — from a file, the admin API or code —
// and reports Field paths such as "tenants[acme.example].users[john].extensions[0]";
// Line is 0 (Parse fills lines in). It does not modify d and accepts values
// left empty for SetDefaults to fill.
//
// Within a tenant, user ids, extensions (of users and groups) and alias names
// share one namespace: the user part of a SIP URI. Numbers are owned by one
// tenant: its main_number, the keys of numbers and the users' direct numbers.
func Validate(d *Directory) Problems {
	var ps Problems
	for _, lp := range validate(d) {
		ps = append(ps, lp.Problem)
	}
	return ps
}

// validate is Validate keeping each problem's position for Parse.
func validate(d *Directory) []located {
	c := &checker{numberOwner: map[string]string{}}
	domains := map[string]string{}
	for i, t := range d.Tenants {
		if t == nil {
			c.add(pos{d, "tenants", fmt.Sprint(i)}, fmt.Sprintf("tenants[%d]", i), "empty tenant")
			continue
		}
		tp := "tenants[" + label(i, t.Domain) + "]"
		dom := strings.ToLower(strings.TrimSpace(t.Domain))
		switch {
		case dom == "":
			c.add(pos{t, "domain", ""}, tp+".domain", "required (the tenant's SIP domain, e.g. acme.example)")
		case !isHostname(dom):
			c.add(pos{t, "domain", ""}, tp+".domain", "%q is not a hostname", t.Domain)
		default:
			if prev, dup := domains[dom]; dup {
				c.conflict(pos{t, "domain", ""}, tp+".domain", "%s is already the domain of %s", dom, prev)
			}
			domains[dom] = tp
		}
		c.tenant(t, tp, dom)
	}
	return c.probs
}

type checker struct {
	probs       []located
	numberOwner map[string]string // E.164 -> tenant domain, across tenants
}

func (c *checker) add(at pos, field, format string, args ...any) {
	c.probs = append(c.probs, located{Problem: Problem{Field: field, Reason: fmt.Sprintf(format, args...)}, at: at})
}

// conflict is add for a clash with something already taken (Problem.Conflict).
func (c *checker) conflict(at pos, field, format string, args ...any) {
	c.add(at, field, format, args...)
	c.probs[len(c.probs)-1].Conflict = true
}

// tenantIndex is what targets and members of one tenant may refer to.
type tenantIndex struct {
	names      map[string]string // SIP user part -> what owns it, e.g. "user alice's extension"
	users      map[string]*User
	aliases    map[string]*User
	groups     map[string]*Group
	attendants map[string]*Attendant
	exts       map[string]bool // user and group extensions
	mailboxes  map[string]bool // tenant mailbox ids
}

func (c *checker) tenant(t *Tenant, tp, dom string) {
	x := tenantIndex{
		names: map[string]string{}, users: map[string]*User{}, aliases: map[string]*User{},
		groups: map[string]*Group{}, attendants: map[string]*Attendant{}, exts: map[string]bool{},
		mailboxes: map[string]bool{},
	}
	if t.MainNumber != "" {
		c.e164(pos{t, "main_number", ""}, tp+".main_number", t.MainNumber)
	}
	if p := t.ExtensionPolicy; p != "" && (!policyPattern.MatchString(p) || len(p) < 2 || len(p) > 8) {
		c.add(pos{t, "extension_policy", ""}, tp+".extension_policy", "%q: want leading digits then Xs, 2-8 long (e.g. 7XXX)", p)
	}
	c.limits(t, tp) // limits.go
	c.moh(t, tp)    // moh.go
	seenTrunk := map[string]bool{}
	for i, name := range t.Trunks {
		switch {
		case name == "":
			c.add(pos{t, "trunks", fmt.Sprint(i)}, fmt.Sprintf("%s.trunks[%d]", tp, i), "empty trunk name")
		case seenTrunk[name]:
			c.add(pos{t, "trunks", fmt.Sprint(i)}, fmt.Sprintf("%s.trunks[%d]", tp, i), "trunk %q listed twice", name)
		}
		seenTrunk[name] = true
	}

	// Pass 1: group and attendant ids, so that later references resolve
	// whatever the order.
	for i, g := range t.Groups {
		gp := tp + ".groups[" + label(i, idOrEmpty(g)) + "]"
		if g == nil {
			c.add(pos{t, "groups", fmt.Sprint(i)}, gp, "empty group")
			continue
		}
		if c.newID(pos{g, "id", ""}, gp+".id", "group", g.ID, x.groups[g.ID] != nil) {
			x.groups[g.ID] = g
		}
	}
	for i, a := range t.Attendants {
		ap := tp + ".attendants[" + label(i, idOrEmpty(a)) + "]"
		if a == nil {
			c.add(pos{t, "attendants", fmt.Sprint(i)}, ap, "empty attendant")
			continue
		}
		if c.newID(pos{a, "id", ""}, ap+".id", "attendant", a.ID, x.attendants[a.ID] != nil) {
			x.attendants[a.ID] = a
		}
	}

	c.mailboxes(&x, t, tp)

	// Pass 2: user ids, extensions and aliases into the shared namespace, in
	// file order so that a collision is reported where it is introduced.
	for i, u := range t.Users {
		up := tp + ".users[" + label(i, idOrEmpty(u)) + "]"
		if u == nil {
			c.add(pos{t, "users", fmt.Sprint(i)}, up, "empty user")
			continue
		}
		if c.newID(pos{u, "id", ""}, up+".id", "user", u.ID, x.users[u.ID] != nil) &&
			c.claim(&x, pos{u, "id", ""}, up+".id", u.ID, "user "+u.ID+"'s id") {
			x.users[u.ID] = u
		}
		for j, e := range u.Extensions {
			at, fp := pos{u, "extensions", fmt.Sprint(j)}, fmt.Sprintf("%s.extensions[%d]", up, j)
			if !extPattern.MatchString(e) {
				c.add(at, fp, "%q: an extension is 2-8 digits", e)
				continue
			}
			if c.claim(&x, at, fp, e, "user "+u.ID+"'s extension") {
				x.exts[e] = true
			}
		}
		for j, a := range u.Aliases {
			at, fp := pos{u, "aliases", fmt.Sprint(j)}, fmt.Sprintf("%s.aliases[%d]", up, j)
			if !idPattern.MatchString(a) {
				c.add(at, fp, "%q: use only a-z, 0-9, '.', '_' and '-' (lowercase)", a)
				continue
			}
			if x.groups[a] != nil {
				c.conflict(at, fp, "%q is already a group id", a)
				continue
			}
			if c.claim(&x, at, fp, a, "an alias of user "+u.ID) {
				x.aliases[a] = u
			}
		}
	}
	for i, g := range t.Groups {
		if g == nil {
			continue
		}
		gp := tp + ".groups[" + label(i, g.ID) + "]"
		at := pos{g, "extension", ""}
		switch {
		case g.Extension == "":
			c.add(at, gp+".extension", "required (groups are dialled by extension)")
		case !extPattern.MatchString(g.Extension):
			c.add(at, gp+".extension", "%q: an extension is 2-8 digits", g.Extension)
		default:
			if c.claim(&x, at, gp+".extension", g.Extension, "group "+g.ID+"'s extension") {
				x.exts[g.Extension] = true
			}
		}
	}

	// Pass 3: everything else, now that all names are known.
	direct := map[string]string{} // direct number -> user id
	for i, u := range t.Users {
		if u != nil {
			c.user(t, u, tp+".users["+label(i, u.ID)+"]", direct)
		}
	}
	for i, g := range t.Groups {
		if g != nil {
			c.group(&x, g, tp+".groups["+label(i, g.ID)+"]")
		}
	}
	for i, a := range t.Attendants {
		if a != nil {
			c.attendant(&x, a, tp+".attendants["+label(i, a.ID)+"]")
		}
	}
	c.mailboxRefs(&x, t, tp)
	c.numbers(&x, t, tp, dom, direct)
}

// claim takes name in the tenant's SIP namespace for owner, reporting a
// collision; it reports whether the name was free.
func (c *checker) claim(x *tenantIndex, at pos, field, name, owner string) bool {
	if prev, taken := x.names[name]; taken {
		c.conflict(at, field, "%q is already %s", name, prev)
		return false
	}
	x.names[name] = owner
	return true
}

func (c *checker) user(t *Tenant, u *User, up string, direct map[string]string) {
	if u.Password == "" && u.HA1MD5 == "" && u.HA1SHA256 == "" && len(u.Credentials) == 0 {
		c.add(pos{u, "", ""}, up+".password", "required (or ha1_md5 / ha1_sha256)")
	}
	if u.HA1MD5 != "" && !hexMD5.MatchString(u.HA1MD5) {
		c.add(pos{u, "ha1_md5", ""}, up+".ha1_md5", "want 32 lowercase hex digits")
	}
	if u.HA1SHA256 != "" && !hexSHA256.MatchString(u.HA1SHA256) {
		c.add(pos{u, "ha1_sha256", ""}, up+".ha1_sha256", "want 64 lowercase hex digits")
	}
	if n := u.DirectNumber; n != "" && c.e164(pos{u, "direct_number", ""}, up+".direct_number", n) {
		switch {
		case direct[n] != "":
			c.conflict(pos{u, "direct_number", ""}, up+".direct_number", "%s is already user %s's direct number", n, direct[n])
		case n == t.MainNumber:
			c.add(pos{u, "direct_number", ""}, up+".direct_number", "%s is the tenant's main_number; a direct number rings only its user", n)
		default:
			direct[n] = u.ID
		}
	}
	switch u.CallerID {
	case "":
	case CallerIDMain:
		if t.MainNumber == "" {
			c.add(pos{u, "caller_id", ""}, up+".caller_id", "main needs the tenant's main_number (set main_number, or caller_id: direct)")
		}
	case CallerIDDirect:
		if u.DirectNumber == "" {
			c.add(pos{u, "caller_id", ""}, up+".caller_id", "direct needs the user's direct_number")
		}
	default:
		c.add(pos{u, "caller_id", ""}, up+".caller_id", "%q: want main or direct", u.CallerID)
	}
	if f := u.Forward; f != nil {
		fp := up + ".forward"
		if f.Number == "" {
			c.add(pos{f, "number", ""}, fp+".number", "required (the E.164 number to forward to)")
		} else {
			c.e164(pos{f, "number", ""}, fp+".number", f.Number)
		}
		switch f.When {
		case ForwardAlways, ForwardNoAnswer, ForwardBusy, ForwardUnregistered:
		case "":
			c.add(pos{f, "when", ""}, fp+".when", "required: always, no_answer, busy or unregistered")
		default:
			c.add(pos{f, "when", ""}, fp+".when", "%q: want always, no_answer, busy or unregistered", f.When)
		}
		if f.After < 0 {
			c.add(pos{f, "after", ""}, fp+".after", "%s: must not be negative", f.After)
		}
	}
	if u.Email != "" && !strings.Contains(u.Email, "@") {
		c.add(pos{u, "email", ""}, up+".email", "%q is not an email address", u.Email)
	}
	if u.Mobile != "" {
		c.e164(pos{u, "mobile", ""}, up+".mobile", u.Mobile)
	}
	c.userVoicemail(u, up)
}

func (c *checker) group(x *tenantIndex, g *Group, gp string) {
	if len(g.Members) == 0 {
		c.add(pos{g, "members", ""}, gp+".members", "at least one member (a user id or alias) is required")
	}
	seen := map[string]bool{}
	for i, m := range g.Members {
		at, fp := pos{g, "members", fmt.Sprint(i)}, fmt.Sprintf("%s.members[%d]", gp, i)
		switch {
		case strings.Contains(m, ":"):
			c.add(at, fp, "%q: write the user id or alias name alone, without a kind prefix", m)
		case x.users[m] == nil && x.aliases[m] == nil:
			c.add(at, fp, "%q is not a user id or alias of this tenant", m)
		case seen[m]:
			c.add(at, fp, "%q is listed twice", m)
		}
		seen[m] = true
	}
	switch g.Strategy {
	case "", Simultaneous, Sequential:
	default:
		c.add(pos{g, "strategy", ""}, gp+".strategy", "%q: want simultaneous or sequential", g.Strategy)
	}
	if g.Ring < 0 {
		c.add(pos{g, "ring", ""}, gp+".ring", "%s: must not be negative", g.Ring)
	}
}

func (c *checker) attendant(x *tenantIndex, a *Attendant, ap string) {
	if a.Greeting != "" && !greetingPattern.MatchString(a.Greeting) {
		c.add(pos{a, "greeting", ""}, ap+".greeting", "%q: a prompt name uses only letters, digits, '_' and '-'", a.Greeting)
	}
	for _, k := range sortedKeys(a.Options) {
		at, fp := pos{a, "options", k}, ap+".options["+k+"]"
		if len(k) != 1 || !strings.Contains("0123456789*#", k) {
			c.add(at, fp, "%q: an option is one key: 0-9, * or #", k)
			continue
		}
		c.target(x, at, fp, a.Options[k])
	}
	if a.Timeout < 0 {
		c.add(pos{a, "timeout", ""}, ap+".timeout", "%s: must not be negative", a.Timeout)
	}
	if a.Retries < 0 {
		c.add(pos{a, "retries", ""}, ap+".retries", "%d: must not be negative", a.Retries)
	}
	if a.Fallback != "" {
		c.target(x, pos{a, "fallback", ""}, ap+".fallback", a.Fallback)
	}
	c.wait(a, ap) // moh.go
}

func (c *checker) numbers(x *tenantIndex, t *Tenant, tp, dom string, direct map[string]string) {
	owned := func(at pos, field, n string) {
		if dom == "" || !e164Pattern.MatchString(n) {
			return
		}
		if prev, taken := c.numberOwner[n]; taken && prev != dom {
			c.conflict(at, field, "%s is already owned by tenant %s", n, prev)
			return
		}
		c.numberOwner[n] = dom
	}
	if t.MainNumber != "" {
		owned(pos{t, "main_number", ""}, tp+".main_number", t.MainNumber)
	}
	for _, n := range sortedKeys(t.Numbers) {
		at, fp := pos{t, "numbers", n}, tp+".numbers["+n+"]"
		if !c.e164(at, fp, n) {
			continue
		}
		target := t.Numbers[n]
		if target == "" {
			// In the inventory, routed nowhere (available or reserved).
			if id, ok := direct[n]; ok {
				c.conflict(at, fp, "%s is user %s's direct_number, so it must route to user:%s (got no target)", n, id, id)
			}
			owned(at, fp, n)
			continue
		}
		if _, held := t.Reserved[n]; held {
			c.add(at, fp, "a reserved number routes nowhere: drop the target, or drop status: reserved to assign it")
			continue
		}
		if !c.target(x, at, fp, target) {
			continue
		}
		if id, ok := direct[n]; ok && target != "user:"+id {
			c.conflict(at, fp, "%s is user %s's direct_number, so it must route to user:%s (got %s)", n, id, id, target)
		}
		owned(at, fp, n)
	}
	for _, n := range sortedKeys(t.Reserved) {
		if _, ok := t.Numbers[n]; !ok {
			c.add(pos{t, "numbers", n}, tp+".reserved["+n+"]", "reserved but not one of the tenant's numbers")
		}
	}
	for i, u := range t.Users {
		if u != nil && u.DirectNumber != "" && direct[u.DirectNumber] == u.ID {
			if _, listed := t.Numbers[u.DirectNumber]; !listed {
				owned(pos{u, "direct_number", ""}, tp+".users["+label(i, u.ID)+"].direct_number", u.DirectNumber)
			}
		}
	}
}

// target checks that s parses and names something of the tenant.
func (c *checker) target(x *tenantIndex, at pos, field, s string) bool {
	tg, err := ParseTarget(s)
	if err != nil {
		c.add(at, field, "%v", err)
		return false
	}
	var ok bool
	switch tg.Kind {
	case TargetUser:
		ok = x.users[tg.ID] != nil
	case TargetAlias:
		ok = x.aliases[tg.ID] != nil
	case TargetGroup:
		ok = x.groups[tg.ID] != nil
	case TargetAttendant:
		ok = x.attendants[tg.ID] != nil
	case TargetExt:
		ok = x.exts[tg.ID]
	case TargetVoicemail:
		ok = x.voicemailTarget(tg.ID)
	}
	if !ok {
		c.add(at, field, "%s: no %s %q in this tenant", s, tg.Kind, tg.ID)
	}
	return ok
}

// e164 reports n unless it is an E.164 number; it returns whether it is.
func (c *checker) e164(at pos, field, n string) bool {
	if e164Pattern.MatchString(n) {
		return true
	}
	c.add(at, field, "%q is not an E.164 number (want + and 7-15 digits, e.g. +14155550100)", n)
	return false
}

func isHostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	for l := range strings.SplitSeq(s, ".") {
		if !hostLabel.MatchString(l) {
			return false
		}
	}
	return true
}

func idOrEmpty[T interface {
	*User | *Group | *Attendant
}](v T) string {
	switch v := any(v).(type) {
	case *User:
		if v != nil {
			return v.ID
		}
	case *Group:
		if v != nil {
			return v.ID
		}
	case *Attendant:
		if v != nil {
			return v.ID
		}
	}
	return ""
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// newID checks the id of a user, group, attendant or mailbox: present, of
// the id pattern, and not yet taken within its kind. It reports whether the
// id may be indexed.
func (c *checker) newID(at pos, path, kind, id string, taken bool) bool {
	switch {
	case id == "":
		c.add(at, path, "required")
	case !idPattern.MatchString(id):
		c.add(at, path, "%q: use only a-z, 0-9, '.', '_' and '-' (lowercase)", id)
	case taken:
		c.conflict(at, path, "duplicate %s id %q", kind, id)
	default:
		return true
	}
	return false
}
