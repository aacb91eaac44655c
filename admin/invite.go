package admin

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/dialplan"
)

// Invitations: an admin invites a user by email (POST …/users/{id}/invite).
// The email carries the user's SIP account — a new SIP password, since only
// digests of the old one are kept — and a single-use link to the console
// where the user chooses a portal password (POST /invitations/{token}) and
// is then signed in to "My phone". The token is random; only its SHA-256 is
// stored, on the user in the directory, so every instance and store knows
// it. Inviting again replaces it: the older link stops working.

// InviteConfig is what invitations need; a nil Mailer turns them off
// (POST …/invite answers 503).
type InviteConfig struct {
	Mailer Mailer
	// PublicURL is the base of the sign-in link ("https://pbx.example.com");
	// "" = the scheme and host the inviting request came to.
	PublicURL string
	// SIPServer is the host[:port] phones register to, shown in the email;
	// "" = the tenant's domain.
	SIPServer string
	// TTL is how long a link works; 0 = 7 days.
	TTL time.Duration
}

// defaultInviteTTL is how long an invitation link works by default.
const defaultInviteTTL = 7 * 24 * time.Hour

// invitePath is where the console's accept page lives, under PublicURL.
const invitePath = "/console/#/invite/"

func (a *API) inviteRoutes() {
	a.handle("POST", "/tenants/{domain}/users/{id}/invite", a.inviteUser)
	a.handleScoped("GET", "/invitations/{token}", ScopePublic, a.getInvitation)
	a.handleScoped("POST", "/invitations/{token}", ScopePublic, a.acceptInvitation)
}

// inviteAnswer is the answer to an invitation: never the token or a password.
type inviteAnswer struct {
	Tenant  string    `json:"tenant"`
	ID      string    `json:"id"`
	Name    string    `json:"name,omitempty"`
	Email   string    `json:"email"`
	Status  string    `json:"status"`
	Expires time.Time `json:"expires,omitzero"`
	// SIPPasswordReset says the email carries a new SIP password (the
	// phone's old one stopped working).
	SIPPasswordReset bool `json:"sip_password_reset,omitempty"`
}

// inviteUser emails a user their SIP account and a sign-in link. The mail
// goes out before anything is stored, so a mail server that fails changes
// nothing; a store failure after it leaves an email whose link and
// password do not work, and the admin, told so, invites again.
func (a *API) inviteUser(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		// KeepSIPPassword sends no SIP password and leaves it unchanged,
		// for a user whose phone is already set up.
		KeepSIPPassword bool `json:"keep_sip_password,omitempty"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &body); err != nil {
			return err
		}
	}
	if a.invite.Mailer == nil {
		return &requestError{status: http.StatusServiceUnavailable, field: "smtp",
			msg: "invitations are off: the provider has not configured smtp (smtp.server and smtp.from)"}
	}
	domain, id := r.PathValue("domain"), r.PathValue("id")
	view, err := a.dir.Tenant(r.Context(), domain)
	if err != nil {
		return err
	}
	i := findUser(view.Tenant, id)
	if i < 0 {
		return notFound("user %s in tenant %s", id, domain)
	}
	u := *view.Tenant.Users[i]
	u.SyncName()
	if u.Email == "" {
		return &requestError{status: http.StatusUnprocessableEntity, field: "email",
			msg: fmt.Sprintf("user %s has no email to send the invitation to; set one first", u.ID)}
	}
	sipPW := ""
	if !body.KeepSIPPassword || (u.HA1MD5 == "" && u.HA1SHA256 == "") {
		sipPW = newPassword()
	}
	token := rand.Text() + rand.Text()
	now := time.Now().UTC().Truncate(time.Second)
	ttl := a.invite.TTL
	if ttl <= 0 {
		ttl = defaultInviteTTL
	}
	inv := &dialplan.Invitation{Hash: hashSecret(token), Sent: now, Expires: now.Add(ttl)}
	m := inviteMail(view.Tenant, &u, inviteDetails{
		SIPPassword: sipPW, Link: a.inviteLink(r, token), Server: a.invite.SIPServer, Expires: inv.Expires,
	})
	if err := a.invite.Mailer.Send(r.Context(), m); err != nil {
		a.log.Warn("admin: send invitation", "tenant", view.Tenant.Domain, "user", u.ID, "error", err)
		return &requestError{status: http.StatusBadGateway, field: "smtp",
			msg: "the mail server did not take the invitation (nothing was changed; the server log has the reason)"}
	}
	err = a.dir.UpdateTenant(r.Context(), domain, func(t *dialplan.Tenant) error {
		i := findUser(t, u.ID)
		if i < 0 {
			return notFound("user %s in tenant %s", u.ID, domain)
		}
		su := t.Users[i]
		su.Invitation = inv
		if sipPW != "" {
			su.Password = sipPW // the store turns it into digests
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("invitation sent to %s but not stored: %w", u.Email, err)
	}
	a.audit(r, "user.invite", view.Tenant.Domain, u.ID, "email", u.Email, "expires", inv.Expires, "sip_password_reset", sipPW != "")
	writeJSON(w, http.StatusOK, inviteAnswer{Tenant: view.Tenant.Domain, ID: u.ID, Name: u.Name, Email: u.Email,
		Status: dialplan.UserInvited, Expires: inv.Expires, SIPPasswordReset: sipPW != ""})
	return nil
}

// inviteLink is the console's accept page for token.
func (a *API) inviteLink(r *http.Request, token string) string {
	base := a.invite.PublicURL
	if base == "" {
		scheme := "http"
		if behindTLS(r) {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return strings.TrimRight(base, "/") + invitePath + token
}

// invitee is a user an invitation token names.
type invitee struct {
	tenant string
	user   dialplan.User
}

var errInviteUnknown = &requestError{status: http.StatusNotFound, field: "token",
	msg: "this invitation link does not work: it was used already, replaced by a newer invitation, or never existed; ask your admin to invite you again"}

func errInviteExpired(at time.Time) error {
	return &requestError{status: http.StatusGone, field: "token",
		msg: fmt.Sprintf("this invitation expired on %s; ask your admin to invite you again", at.UTC().Format("2006-01-02 15:04 MST"))}
}

// findInvitee finds the user whose pending invitation token is, or
// answers 404 (unknown, used or replaced) or 410 (expired). Failures count
// against the source like failed sign-ins, so links cannot be guessed at
// speed (they have 260 random bits anyway).
func (a *API) findInvitee(w http.ResponseWriter, r *http.Request) (invitee, error) {
	src := "invite-src:" + sourceIP(r)
	if left := a.logins.blocked(src, a.logins.lim.SourceFailures); left > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(left.Seconds())+1))
		return invitee{}, &requestError{status: http.StatusTooManyRequests,
			msg: fmt.Sprintf("too many wrong invitation links; try again in %s", left.Round(time.Second))}
	}
	hash := hashSecret(r.PathValue("token"))
	d, err := a.dir.Export(r.Context())
	if err != nil {
		return invitee{}, err
	}
	for _, t := range d.Tenants {
		for _, u := range t.Users {
			if u == nil || u.Invitation == nil || subtle.ConstantTimeCompare([]byte(u.Invitation.Hash), []byte(hash)) != 1 {
				continue
			}
			if !u.Invitation.Expires.After(time.Now()) {
				a.logins.fail(src)
				return invitee{}, errInviteExpired(u.Invitation.Expires)
			}
			c := *u
			c.SyncName()
			return invitee{tenant: t.Domain, user: c}, nil
		}
	}
	a.logins.fail(src)
	a.log.Warn("admin: unknown invitation link", "remote", r.RemoteAddr)
	return invitee{}, errInviteUnknown
}

func answerOf(in invitee, status string) inviteAnswer {
	u := in.user
	return inviteAnswer{Tenant: in.tenant, ID: u.ID, Name: u.Name, Email: u.Email, Status: status, Expires: u.Invitation.Expires}
}

// getInvitation says whom a link invites, for the accept page's greeting.
func (a *API) getInvitation(w http.ResponseWriter, r *http.Request) error {
	in, err := a.findInvitee(w, r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, answerOf(in, dialplan.UserInvited))
	return nil
}

// acceptInvitation sets the invited user's portal password and consumes
// the token; the user then signs in (POST /login) with their email and it.
func (a *API) acceptInvitation(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Password == "" {
		return badRequest("password", "password: required (at least %d characters)", minAdminPassword)
	}
	if _, _, err := portalPassword(body.Password); err != nil {
		return err
	}
	in, err := a.findInvitee(w, r)
	if err != nil {
		return err
	}
	hash, pwHash := in.user.Invitation.Hash, hashPassword(body.Password)
	err = a.dir.UpdateTenant(r.Context(), in.tenant, func(t *dialplan.Tenant) error {
		i := findUser(t, in.user.ID)
		if i < 0 || t.Users[i].Invitation == nil || t.Users[i].Invitation.Hash != hash {
			return errInviteUnknown // deleted, accepted or invited again meanwhile
		}
		u := t.Users[i]
		if u.Email == "" {
			return conflict("email", "your account has no email to sign in with; ask your admin")
		}
		u.PortalHash, u.Invitation = pwHash, nil
		return nil
	})
	if errors.Is(err, dialplan.ErrNotFound) {
		return errInviteUnknown // the tenant went away
	}
	if err != nil {
		return err
	}
	a.audit(r, "user.invite_accept", in.tenant, in.user.ID, "by", "user:"+in.user.ID)
	writeJSON(w, http.StatusOK, answerOf(in, dialplan.UserActive))
	return nil
}

// inviteDetails are the parts of an invitation email that are not the user's.
type inviteDetails struct {
	SIPPassword string // "" = unchanged, not sent
	Link        string
	Server      string // "" = the tenant's domain
	Expires     time.Time
}

// inviteMail writes the invitation email: everything a person needs to set
// up a phone and sign in, in plain text.
func inviteMail(t *dialplan.Tenant, u *dialplan.User, d inviteDetails) Mail {
	name := u.Name
	if name == "" {
		name = u.ID
	}
	server := d.Server
	if server == "" {
		server = t.Domain
	}
	company := t.Name
	if company == "" {
		company = t.Domain
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\n", name)
	fmt.Fprintf(&b, "You have a phone line at %s.\n\n", company)
	b.WriteString("Sign in to the web console to choose your password, then set your\n")
	b.WriteString("call forwarding, caller ID and voicemail:\n\n")
	fmt.Fprintf(&b, "  %s\n\n", d.Link)
	fmt.Fprintf(&b, "The link works once, until %s.\n\n", d.Expires.UTC().Format("Monday 2 January 2006 15:04 MST"))
	b.WriteString("Your phone (SIP account)\n")
	fmt.Fprintf(&b, "  SIP server:    %s\n", server)
	fmt.Fprintf(&b, "  Domain:        %s\n", t.Domain)
	fmt.Fprintf(&b, "  Username:      %s\n", u.ID)
	if d.SIPPassword != "" {
		fmt.Fprintf(&b, "  Password:      %s\n", d.SIPPassword)
	} else {
		b.WriteString("  Password:      unchanged (ask your admin if you do not have it)\n")
	}
	if len(u.Extensions) > 0 {
		fmt.Fprintf(&b, "  Extension:     %s\n", strings.Join(u.Extensions, ", "))
	}
	if u.DirectNumber != "" {
		fmt.Fprintf(&b, "  Direct number: %s\n", u.DirectNumber)
	}
	if d.SIPPassword != "" {
		b.WriteString("\nKeep this email private: the password lets anyone use your line.\n")
	}
	return Mail{
		To:      mail.Address{Name: u.Name, Address: u.Email},
		Subject: "Your phone at " + company + ": sign in and set up",
		Body:    b.String(),
	}
}
