package admin

import (
	"context"
	"crypto/rand"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/switchboard/switchboard/dialplan"
)

func userResource(a *API) *resource[dialplan.User] {
	return &resource[dialplan.User]{
		kind:  "user",
		items: func(t *dialplan.Tenant) *[]*dialplan.User { return &t.Users },
		id:    func(u *dialplan.User) string { return u.ID },
		match: matchUser,
		sorts: userSorts,
		prepare: func(ctx context.Context, t *dialplan.Tenant, old, u *dialplan.User) (string, error) {
			renamed(old, u)
			if err := a.foreignNumber(ctx, t.Domain, "direct_number", u.DirectNumber); err != nil {
				return "", err
			}
			if n := u.DirectNumber; n != "" && (old == nil || old.DirectNumber != n) {
				if err := ownNumber(ctx, t, n); err != nil {
					return "", conflict("direct_number", "%v", err)
				}
				if tg := t.Numbers[n]; tg != "" && tg != "user:"+u.ID {
					return "", conflict("direct_number", "%s is already routed to %s", n, tg)
				}
			}
			secret, err := prepareUser(t, old, u)
			if err == nil {
				t.MoveDirectNumber(old, u) // from the pool: assigned; the one it had: available
			}
			return secret, err
		},
		detach: detachUser,
		show:   showUser,
		stored: func(ctx context.Context, domain string, old, u *dialplan.User) {
			if old == nil {
				return
			}
			// Drop the bindings of every name the user no longer has.
			var keep []string
			if u != nil {
				keep = append([]string{u.ID}, u.Aliases...)
			}
			for _, name := range append([]string{old.ID}, old.Aliases...) {
				if !slices.Contains(keep, name) {
					a.unbind(ctx, name+"@"+strings.ToLower(domain))
				}
			}
		},
	}
}

// unbind drops an AOR's bindings; a failure is logged, not returned: the
// directory change stands and the bindings expire on their own.
func (a *API) unbind(ctx context.Context, aor string) {
	if a.unbinder == nil {
		return
	}
	if err := a.unbinder.Unbind(ctx, aor); err != nil {
		a.log.Warn("admin: drop bindings", "aor", aor, "error", err)
	}
}

func matchUser(u *dialplan.User, q string) bool {
	for _, s := range slices.Concat([]string{u.ID, u.Name, u.FirstName, u.LastName, u.Email, u.DirectNumber, u.Mobile}, u.Extensions, u.Aliases) {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}

// prepareUser gives a new user the next free extension and, without a
// password, a generated one (returned to show once); an updated user
// without a new password keeps its credentials.
func prepareUser(t *dialplan.Tenant, old, u *dialplan.User) (string, error) {
	// Set only through portal-password or an invitation (invite.go); the
	// shown status is never stored.
	u.PortalHash, u.Invitation, u.Status = "", nil, ""
	if old != nil {
		u.PortalHash, u.Invitation = old.PortalHash, old.Invitation
	}
	keepPIN(old, u)
	if old == nil && len(u.Extensions) == 0 {
		e, err := dialplan.NextExtension(t)
		if err != nil {
			return "", conflict("extensions", "%v", err)
		}
		u.Extensions = []string{e}
	}
	if u.Password != "" {
		return "", nil
	}
	if old != nil {
		if u.HA1MD5 == "" && u.HA1SHA256 == "" {
			u.HA1MD5, u.HA1SHA256 = old.HA1MD5, old.HA1SHA256
		}
		if u.HA1MD5 == old.HA1MD5 && u.HA1SHA256 == old.HA1SHA256 {
			u.Credentials = old.Credentials
		}
		return "", nil
	}
	if u.HA1MD5 != "" || u.HA1SHA256 != "" {
		return "", nil
	}
	u.Password = newPassword()
	return u.Password, nil
}

// keepPIN keeps the stored voicemail PIN of an updated user whose voicemail
// names neither a new pin nor a pin_hash: responses never show the hash, so
// a GET → edit → PUT round trip carries none back and must not erase it.
func keepPIN(old, u *dialplan.User) {
	if old == nil || old.Voicemail == nil || u.Voicemail == nil {
		return
	}
	if v := u.Voicemail; v.PIN == "" && v.PINHash == "" {
		v.PINHash = old.Voicemail.PINHash
	}
}

// newPassword returns a random 26-character password (130 bits).
func newPassword() string { return rand.Text() }

// detachUser frees what the user held: numbers routed to the user, its
// aliases or extensions are released and it leaves its ring groups. It
// refuses (409) when a group would be left with no member or an attendant
// menu routes to the user: those need the admin's decision.
func detachUser(t *dialplan.Tenant, u *dialplan.User) error {
	targets := map[string]bool{"user:" + u.ID: true}
	for _, e := range u.Extensions {
		targets["ext:"+e] = true
	}
	for _, al := range u.Aliases {
		targets["alias:"+al] = true
	}
	members := append([]string{u.ID}, u.Aliases...)
	var ps dialplan.Problems
	for _, at := range t.Attendants {
		for _, k := range sortedKeys(at.Options) {
			if targets[at.Options[k]] {
				ps = append(ps, dialplan.Problem{Field: "attendants[" + at.ID + "].options[" + k + "]", Conflict: true,
					Reason: fmt.Sprintf("option %s routes to %s; change the menu first", k, at.Options[k])})
			}
		}
		if targets[at.Fallback] {
			ps = append(ps, dialplan.Problem{Field: "attendants[" + at.ID + "].fallback", Conflict: true,
				Reason: fmt.Sprintf("the fallback is %s; change the menu first", at.Fallback)})
		}
	}
	for _, g := range t.Groups {
		left := slices.DeleteFunc(slices.Clone(g.Members), func(m string) bool { return slices.Contains(members, m) })
		if len(left) == 0 {
			ps = append(ps, dialplan.Problem{Field: "groups[" + g.ID + "].members", Conflict: true,
				Reason: fmt.Sprintf("user %s is the group's only member; change or delete the group first", u.ID)})
		}
		g.Members = left
	}
	if len(ps) > 0 {
		return ps
	}
	// What routed to the user returns to the inventory as available.
	for n, tg := range t.Numbers {
		if targets[tg] {
			t.SetNumber(n, dialplan.NumberAvailable, "", "")
		}
	}
	t.MoveDirectNumber(u, nil)
	return nil
}

// renamed lets a client that knows only the single name field rename a
// user: a new name with first and last name left as they were replaces them.
func renamed(old, u *dialplan.User) {
	// A patch that drops name (the console sends "name": null with first
	// and last name) is no rename: it must not wipe first and last name.
	if old != nil && u.Name != "" && u.Name != old.Name && u.FirstName == old.FirstName && u.LastName == old.LastName {
		u.FirstName, u.LastName = "", ""
	}
}

// showUser is a user as responses show it: never a password or HA1, except
// a generated password, once.
func showUser(u *dialplan.User, secret string) any {
	c := *u
	c.Password, c.HA1MD5, c.HA1SHA256, c.Credentials, c.PortalHash = secret, "", "", nil, ""
	if c.Voicemail != nil { // the PIN's hash stays stored (keepPIN)
		vm := *c.Voicemail
		vm.PIN, vm.PINHash = "", ""
		c.Voicemail = &vm
	}
	c.Status = u.SignInStatus(time.Now())
	if iv := c.Invitation; iv != nil { // when it was sent and expires; never the hash
		c.Invitation = &dialplan.Invitation{Sent: iv.Sent, Expires: iv.Expires}
	}
	c.SyncName() // a user stored before first/last names existed
	return &c
}

// resetPassword gives a user a new generated password and returns it once.
// The store re-hashes at once, so the old password stops working for the
// next REGISTER or INVITE challenge.
func (a *API) resetPassword(w http.ResponseWriter, r *http.Request) error {
	domain, id := r.PathValue("domain"), r.PathValue("id")
	pw := newPassword()
	err := a.dir.UpdateTenant(r.Context(), domain, func(t *dialplan.Tenant) error {
		for _, u := range t.Users {
			if strings.EqualFold(u.ID, id) {
				u.Password, id = pw, u.ID
				return nil
			}
		}
		return notFound("user %s in tenant %s", id, domain)
	})
	if err != nil {
		return err
	}
	a.audit(r, "user.password_reset", domain, id)
	writeJSON(w, http.StatusOK, map[string]string{"id": id, "password": pw})
	return nil
}

// importUsers runs a CSV bulk import and answers the per-row report.
func (a *API) importUsers(w http.ResponseWriter, r *http.Request) error {
	domain := r.PathValue("domain")
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		switch mt {
		case "text/csv", "text/plain", "application/csv", "application/octet-stream":
		default:
			return &requestError{status: http.StatusUnsupportedMediaType, field: "Content-Type",
				msg: fmt.Sprintf("Content-Type %q: send the CSV file as text/csv", mt)}
		}
	}
	if r.ContentLength > maxCSVBody {
		return &http.MaxBytesError{Limit: maxCSVBody}
	}
	body := http.MaxBytesReader(w, r.Body, maxCSVBody)
	run := func(o dialplan.ImportOptions) (*dialplan.ImportReport, error) {
		rep, err := dialplan.ImportWith(r.Context(), a.dir, a.dir, domain, body, o)
		if err == nil {
			a.audit(r, "user.import", domain, "", "created", rep.Created, "updated", rep.Updated, "failed", rep.Failed)
		}
		return rep, err
	}
	opts := dialplan.ImportOptions{OwnNumbersOnly: !PrincipalFrom(r.Context()).Provider()}
	if wantsProgress(r) { // imports.go
		a.streamImport(w, r, run, opts)
		return nil
	}
	rep, err := run(opts)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
