package dialplan

import (
	"fmt"
	"slices"
	"strings"
)

// importer applies the rows of one import to a working copy of a tenant. It
// keeps the indexes that Validate would build — the SIP namespace, direct
// and routed numbers, references to extensions and aliases — up to date as
// rows land, so that each row is checked in O(its size) with the rules of
// Validate, and the final Validate by the store finds nothing new.
type importer struct {
	t         *Tenant
	elsewhere map[string]string // number -> the other tenant owning it
	pos       map[string]int    // user id -> index in t.Users
	names     map[string]string // SIP name -> owner ("user:john", "group:sales")
	groupIDs  map[string]bool
	direct    map[string]string // direct number -> user id
	refs      map[string]string // "ext:7001", "alias:x", "member:x" -> who refers to it
	pool      *extensionPool    // nil when the policy is unusable
	seen      map[string]int    // id -> line of its first row in this file
	ownOnly   bool              // direct numbers must come from the tenant's inventory
	progress  func(done int)    // nil: nobody asked
	generated string            // the password applyRow generated for the row it is on
}

func newImporter(t *Tenant, elsewhere map[string]string) *importer {
	im := &importer{
		t:         t,
		elsewhere: elsewhere,
		pos:       make(map[string]int, len(t.Users)),
		names:     tenantNames(t),
		groupIDs:  map[string]bool{},
		direct:    map[string]string{},
		refs:      map[string]string{},
		seen:      map[string]int{},
	}
	im.pool, _ = newExtensionPool(t.ExtensionPolicy)
	for i, u := range t.Users {
		im.pos[u.ID] = i
		if u.DirectNumber != "" {
			im.direct[u.DirectNumber] = u.ID
		}
	}
	for n, tg := range t.Numbers {
		im.refs[tg] = "the target of number " + n
	}
	for _, g := range t.Groups {
		im.groupIDs[g.ID] = true
		for _, m := range g.Members {
			im.refs["member:"+m] = "a member of group " + g.ID
		}
	}
	for _, a := range t.Attendants {
		for k, tg := range a.Options {
			im.refs[tg] = "option " + k + " of attendant " + a.ID
		}
		if a.Fallback != "" {
			im.refs[a.Fallback] = "the fallback of attendant " + a.ID
		}
	}
	return im
}

// run applies every row and reports on each.
func (im *importer) run(f *csvFile) (*ImportReport, error) {
	rep := &ImportReport{Format: f.format, Rows: make([]ImportRow, 0, len(f.rows))}
	for i := range f.rows {
		row := im.apply(f, &f.rows[i])
		switch row.Status {
		case ImportCreated:
			rep.Created++
		case ImportUpdated:
			rep.Updated++
		default:
			rep.Failed++
		}
		rep.Rows = append(rep.Rows, row)
		if im.progress != nil && (i+1)%progressEvery == 0 {
			im.progress(i + 1)
		}
	}
	return rep, nil
}

// rowError is why a row failed, with the column it is about.
type rowError struct{ field, reason string }

func rowErr(field, format string, args ...any) *rowError {
	return &rowError{field: field, reason: fmt.Sprintf(format, args...)}
}

func (im *importer) apply(f *csvFile, r *csvRow) ImportRow {
	res := ImportRow{Row: r.line, ID: r.cell(colID), Status: ImportUpdated}
	created, password, e := im.applyRow(f, r)
	switch {
	case e != nil:
		res.Status, res.Error, res.Field = ImportFailed, e.reason, e.field
	case created:
		res.Status, res.Password = ImportCreated, password
	}
	return res
}

// applyRow checks one row and, when it is good, lands it in the tenant.
// It reports whether the row created the user, and the password it
// generated for a new user of a foreign file.
func (im *importer) applyRow(f *csvFile, r *csvRow) (bool, string, *rowError) {
	created, e := im.applyRowInner(f, r)
	return created, im.generated, e
}

func (im *importer) applyRowInner(f *csvFile, r *csvRow) (bool, *rowError) {
	im.generated = ""
	if r.err != "" {
		return false, rowErr("", "%s", r.err)
	}
	id := r.cell(colID)
	switch {
	case id == "":
		return false, rowErr("id", "required")
	case !idPattern.MatchString(id):
		return false, rowErr("id", "%q: use only a-z, 0-9, '.', '_' and '-' (lowercase)", id)
	}
	if prev, dup := im.seen[id]; dup {
		return false, rowErr("id", "%s is already in row %d of this file", id, prev)
	}
	im.seen[id] = r.line

	var old *User
	u := &User{ID: id}
	if i, ok := im.pos[id]; ok {
		old = im.t.Users[i]
		u = cloneUser(old)
	}
	if e := fill(f, r, u); e != nil {
		return false, e
	}
	if old == nil && u.Password == "" && f.format != "" {
		im.generated = generatedPassword()
		u.Password = im.generated
	}
	if e := im.check(u, old); e != nil {
		return false, e
	}
	if old == nil && len(u.Extensions) == 0 {
		if im.pool == nil {
			return false, rowErr("extension", "blank, and the tenant's extension_policy %q cannot assign one", im.t.ExtensionPolicy)
		}
		e, err := im.pool.take(func(e string) bool { _, ok := im.names[e]; return ok || e == id || slices.Contains(u.Aliases, e) })
		if err != nil {
			return false, rowErr("extension", "%v", err)
		}
		u.Extensions = []string{e}
	}
	im.commit(u, old)
	return old == nil, nil
}

// fill sets the fields of u that the file has columns for. A blank cell
// clears its field, except extension and password, where blank keeps what
// the user has (and a new user gets the next free extension).
func fill(f *csvFile, r *csvRow, u *User) *rowError {
	if f.has[colFirstName] || f.has[colLastName] {
		u.SyncName()
		if f.has[colFirstName] {
			u.FirstName = r.cell(colFirstName)
		}
		if f.has[colLastName] {
			u.LastName = r.cell(colLastName)
		}
		u.Name = JoinName(u.FirstName, u.LastName)
	}
	if f.has[colEmail] {
		u.Email = r.cell(colEmail)
	}
	if v := r.cell(colExtension); v != "" {
		u.Extensions = splitList(v)
	}
	if v := r.cell(colPassword); v != "" {
		u.Password = v
	}
	if f.has[colDirectNumber] {
		u.DirectNumber = r.cell(colDirectNumber)
	}
	if f.has[colCallerID] {
		u.CallerID = CallerID(strings.ToLower(r.cell(colCallerID)))
	}
	if f.has[colAliases] {
		u.Aliases = splitList(r.cell(colAliases))
	}
	return fillForward(f, r, u)
}

func fillForward(f *csvFile, r *csvRow, u *User) *rowError {
	if !f.has[colForwardNumber] && !f.has[colForwardWhen] && !f.has[colForwardScreening] {
		return nil
	}
	fw := Forward{}
	if u.Forward != nil {
		fw = *u.Forward
	}
	if f.has[colForwardNumber] {
		fw.Number = r.cell(colForwardNumber)
	}
	if f.has[colForwardWhen] {
		fw.When = ForwardWhen(strings.ToLower(r.cell(colForwardWhen)))
	}
	if f.has[colForwardScreening] {
		v := strings.ToLower(r.cell(colForwardScreening))
		switch v {
		case "", "false", "no", "0", "n":
			fw.Screening = false
		case "true", "yes", "1", "y":
			fw.Screening = true
		default:
			return rowErr("forward_screening", "%q: want true or false", v)
		}
	}
	if fw.Number == "" {
		if fw.When != "" || fw.Screening {
			return rowErr("forward_number", "required when forward_when or forward_screening is set")
		}
		u.Forward = nil
		return nil
	}
	u.Forward = &fw
	return nil
}

// check applies Validate's rules to one user about to replace old (nil
// when new) in the tenant.
func (im *importer) check(u, old *User) *rowError {
	c := &checker{}
	c.user(im.t, u, "", map[string]string{})
	if len(c.probs) > 0 {
		p := c.probs[0].Problem
		field := strings.ReplaceAll(strings.TrimPrefix(p.Field, "."), ".", "_")
		if field == "password" && old == nil {
			return rowErr(field, "required for a new user")
		}
		return rowErr(field, "%s", p.Reason)
	}
	mine := "user:" + u.ID
	inRow := map[string]bool{u.ID: true}
	claim := func(col, name string) *rowError {
		if inRow[name] {
			return rowErr(col, "%q appears twice in this row", name)
		}
		inRow[name] = true
		if owner, taken := im.names[name]; taken && owner != mine {
			return rowErr(col, "%q is already %s", name, describe(owner))
		}
		return nil
	}
	if owner, taken := im.names[u.ID]; taken && owner != mine {
		return rowErr("id", "%q is already %s", u.ID, describe(owner))
	}
	for _, e := range u.Extensions {
		if !extPattern.MatchString(e) {
			return rowErr("extension", "%q: an extension is 2-8 digits", e)
		}
		if e := claim("extension", e); e != nil {
			return e
		}
	}
	for _, a := range u.Aliases {
		if !idPattern.MatchString(a) {
			return rowErr("aliases", "%q: use only a-z, 0-9, '.', '_' and '-' (lowercase)", a)
		}
		if im.groupIDs[a] {
			return rowErr("aliases", "%q is already a group id", a)
		}
		if e := claim("aliases", a); e != nil {
			return e
		}
	}
	if old != nil {
		for _, e := range old.Extensions {
			if ref, ok := im.refs["ext:"+e]; ok && !slices.Contains(u.Extensions, e) {
				return rowErr("extension", "cannot drop extension %s: it is %s", e, ref)
			}
		}
		for _, a := range old.Aliases {
			if slices.Contains(u.Aliases, a) {
				continue
			}
			for _, k := range []string{"alias:" + a, "member:" + a} {
				if ref, ok := im.refs[k]; ok {
					return rowErr("aliases", "cannot drop alias %s: it is %s", a, ref)
				}
			}
		}
	}
	if n := u.DirectNumber; n != "" {
		if owner, ok := im.direct[n]; ok && owner != u.ID {
			return rowErr("direct_number", "%s is already user %s's direct number", n, owner)
		}
		tg, listed := im.t.Numbers[n]
		if listed && tg != "" && tg != mine {
			return rowErr("direct_number", "%s is already routed to %s", n, tg)
		}
		if im.ownOnly && !listed && (old == nil || old.DirectNumber != n) {
			if _, ok := im.direct[n]; !ok {
				return rowErr("direct_number", "%s is not one of the tenant's numbers (ask your provider to allocate it)", n)
			}
		}
		if dom, ok := im.elsewhere[n]; ok {
			return rowErr("direct_number", "%s is already owned by tenant %s", n, dom)
		}
	}
	return nil
}

// commit lands u in the tenant and the indexes.
func (im *importer) commit(u, old *User) {
	mine := "user:" + u.ID
	if old != nil {
		for _, n := range slices.Concat(old.Extensions, old.Aliases) {
			if im.names[n] == mine {
				delete(im.names, n)
			}
		}
		if im.direct[old.DirectNumber] == u.ID {
			delete(im.direct, old.DirectNumber)
		}
		im.t.Users[im.pos[u.ID]] = u
	} else {
		im.pos[u.ID] = len(im.t.Users)
		im.t.Users = append(im.t.Users, u)
	}
	im.names[u.ID] = mine
	for _, n := range slices.Concat(u.Extensions, u.Aliases) {
		im.names[n] = mine
	}
	if u.DirectNumber != "" {
		im.direct[u.DirectNumber] = u.ID
	}
	im.t.MoveDirectNumber(old, u)
}

// describe writes an owner target for a message: "user:jane" -> "used by user jane".
func describe(owner string) string {
	kind, id, _ := strings.Cut(owner, ":")
	if kind == "group" {
		return "group " + id + "'s extension"
	}
	return "used by " + kind + " " + id
}

func cloneUser(u *User) *User {
	c := *u
	c.Extensions = slices.Clone(u.Extensions)
	c.Aliases = slices.Clone(u.Aliases)
	c.Credentials = slices.Clone(u.Credentials)
	if u.Forward != nil {
		f := *u.Forward
		c.Forward = &f
	}
	return &c
}

// splitList splits a ";"-separated cell, dropping blanks.
func splitList(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ";") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
