package admin

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/internal/redisconn"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/internal/smtptest"
)

// inviteEnv is the API with invitations sent through the real SMTPMailer
// to a loopback SMTP server that asks for STARTTLS and AUTH PLAIN.
func newInviteEnv(t *testing.T, ttl time.Duration) (*apiEnv, *smtptest.Server) {
	t.Helper()
	srv := smtptest.Start(t, smtptest.Options{StartTLS: true, Username: "pbx", Password: "smtp-secret"})
	m, err := NewSMTPMailer(SMTPConfig{Server: srv.Addr(), From: "Acme PBX <pbx@switchboard.example>",
		Username: "pbx", Password: "smtp-secret", StartTLS: true,
		TLS: &tls.Config{RootCAs: srv.RootCAs(), ServerName: "127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	e := newAPIEnv(t)
	e.api.invite = InviteConfig{Mailer: m, PublicURL: "https://pbx.example.com/", SIPServer: "sip.pbx.example.com:5060", TTL: ttl}
	return e, srv
}

// invitation is what the test reads back from one received email.
type invitation struct {
	to, subject, body, link, token, sipPassword string
}

var (
	linkRE   = regexp.MustCompile(`https://pbx\.example\.com/console/#/invite/([A-Z0-9]+)`)
	sipPwdRE = regexp.MustCompile(`Password:\s+([A-Z0-9]{26})\b`)
)

func readInvitation(t *testing.T, srv *smtptest.Server) invitation {
	t.Helper()
	msg := srv.Next(t, 5*time.Second)
	if !msg.TLS || msg.User != "pbx" || msg.From != "pbx@switchboard.example" {
		t.Errorf("message came with TLS=%v user=%q from=%q, want STARTTLS, AUTH as pbx, from pbx@switchboard.example", msg.TLS, msg.User, msg.From)
	}
	m, err := msg.Parse()
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, msg.Data)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	in := invitation{to: m.Header.Get("To"), subject: m.Header.Get("Subject"), body: string(body)}
	if l := linkRE.FindStringSubmatch(in.body); l != nil {
		in.link, in.token = l[0], l[1]
	}
	if p := sipPwdRE.FindStringSubmatch(in.body); p != nil {
		in.sipPassword = p[1]
	}
	return in
}

func TestInvitation(t *testing.T) {
	e, srv := newInviteEnv(t, 0)
	admin := e.signIn(t, "acme.example", "pat@acme.example")

	code, body, _ := e.call(t, admin, "POST", "/api/v1/tenants/acme.example/users/alice/invite", "")
	if code != 200 || body["status"] != "invited" || body["email"] != "alice@acme.example" || body["sip_password_reset"] != true {
		t.Fatalf("invite alice = %d %v", code, body)
	}
	in := readInvitation(t, srv)
	if in.to != `"Alice Anders" <alice@acme.example>` || !strings.Contains(in.subject, "Acme Inc") {
		t.Errorf("To %q, Subject %q", in.to, in.subject)
	}
	for _, want := range []string{"Hello Alice Anders,", "SIP server:    sip.pbx.example.com:5060", "Domain:        acme.example",
		"Username:      alice", "Extension:     7001", "Direct number: +14155550101"} {
		if !strings.Contains(in.body, want) {
			t.Errorf("email lacks %q:\n%s", want, in.body)
		}
	}
	if in.token == "" || in.sipPassword == "" {
		t.Fatalf("email has no link or SIP password:\n%s", in.body)
	}

	// The emailed SIP password is the one the store now checks digests against.
	u := e.user(t, "alice")
	if want := dialplan.HA1("MD5", "alice", "acme.example", in.sipPassword); u.HA1MD5 != want {
		t.Errorf("alice's HA1 after invite = %s, want the digest of the emailed password", u.HA1MD5)
	}
	if u.Invitation == nil || u.Invitation.Hash == in.token || u.Invitation.Hash != hashSecret(in.token) {
		t.Errorf("stored invitation = %+v, want the token's SHA-256 only", u.Invitation)
	}
	// Neither the password nor the token is in the logs or the listing.
	if s := e.logs.String(); strings.Contains(s, in.sipPassword) || strings.Contains(s, in.token) || !strings.Contains(s, `action=user.invite`) || !strings.Contains(s, "who=admin:pat@acme.example") {
		t.Errorf("logs leak a secret or lack the audit line:\n%s", s)
	}
	code, list, _ := e.call(t, admin, "GET", "/api/v1/tenants/acme.example/users?q=alice", "")
	users, _ := list["users"].([]any)
	if code != 200 || len(users) != 1 || users[0].(map[string]any)["status"] != "invited" {
		t.Fatalf("users after invite = %d %v, want alice invited", code, list)
	}
	if inv, _ := users[0].(map[string]any)["invitation"].(map[string]any); inv["hash"] != nil || inv["expires"] == nil {
		t.Errorf("listed invitation = %v, want expires and no hash", inv)
	}

	// The accept page asks whom the link is for; no credential needed.
	code, who, _ := e.call(t, client{}, "GET", "/api/v1/invitations/"+in.token, "")
	if code != 200 || who["email"] != "alice@acme.example" || who["tenant"] != "acme.example" {
		t.Errorf("GET invitation = %d %v", code, who)
	}
	if code, got, _ := e.call(t, client{}, "POST", "/api/v1/invitations/"+in.token, `{"password":"short"}`); code != 400 {
		t.Errorf("accept with a short password = %d %v, want 400", code, got)
	}
	code, got, _ := e.call(t, client{}, "POST", "/api/v1/invitations/"+in.token, `{"password":"alice-portal-pw"}`)
	if code != 200 || got["status"] != "active" {
		t.Fatalf("accept = %d %v", code, got)
	}
	if !strings.Contains(e.logs.String(), "action=user.invite_accept") {
		t.Error("no audit line for the accepted invitation")
	}
	alice := e.login(t, "alice@acme.example", "alice-portal-pw")
	if code, me, _ := e.call(t, alice, "GET", "/api/v1/me", ""); code != 200 || me["id"] != "alice" || me["email"] != "alice@acme.example" {
		t.Errorf("GET me as the invited user = %d %v", code, me)
	}
	if code, got, _ := e.call(t, client{}, "POST", "/api/v1/invitations/"+in.token, `{"password":"another-password"}`); code != 404 || !strings.Contains(got["error"].(string), "used already") {
		t.Errorf("accept a used link = %d %v, want 404", code, got)
	}
	code, list, _ = e.call(t, admin, "GET", "/api/v1/tenants/acme.example/users/alice", "")
	if code != 200 || list["status"] != "active" || list["invitation"] != nil {
		t.Errorf("alice after accepting = %d %v, want active", code, list)
	}
}

func TestInvitationRefusals(t *testing.T) {
	e, srv := newInviteEnv(t, 0)
	acme := e.signIn(t, "acme.example", "pat@acme.example")
	globex := e.signIn(t, "globex.example", "gil@globex.example")

	t.Run("another tenant's user is not found", func(t *testing.T) {
		if code, got, _ := e.call(t, globex, "POST", "/api/v1/tenants/acme.example/users/alice/invite", ""); code != 404 {
			t.Errorf("globex admin invites acme's alice = %d %v, want 404", code, got)
		}
		if code, got, _ := e.call(t, acme, "POST", "/api/v1/tenants/acme.example/users/nobody/invite", ""); code != 404 {
			t.Errorf("invite a missing user = %d %v, want 404", code, got)
		}
	})
	t.Run("a user without email", func(t *testing.T) {
		code, got, _ := e.call(t, acme, "POST", "/api/v1/tenants/acme.example/users/bob/invite", "")
		if code != http.StatusUnprocessableEntity || got["field"] != "email" || !strings.Contains(got["error"].(string), "no email") {
			t.Errorf("invite bob (no email) = %d %v, want 422 naming email", code, got)
		}
	})
	t.Run("smtp not configured", func(t *testing.T) {
		saved := e.api.invite
		e.api.invite.Mailer = nil
		defer func() { e.api.invite = saved }()
		code, got, _ := e.call(t, acme, "POST", "/api/v1/tenants/acme.example/users/alice/invite", "")
		if code != http.StatusServiceUnavailable || !strings.Contains(got["error"].(string), "smtp") {
			t.Errorf("invite without smtp = %d %v, want 503 naming smtp", code, got)
		}
	})
	t.Run("resend replaces the old link", func(t *testing.T) {
		e.call(t, acme, "POST", "/api/v1/tenants/acme.example/users/alice/invite", "")
		first := readInvitation(t, srv)
		code, got, _ := e.call(t, acme, "POST", "/api/v1/tenants/acme.example/users/alice/invite", `{"keep_sip_password":true}`)
		if code != 200 || got["sip_password_reset"] != nil {
			t.Fatalf("resend keeping the SIP password = %d %v", code, got)
		}
		second := readInvitation(t, srv)
		if second.token == "" || second.token == first.token || second.sipPassword != "" || !strings.Contains(second.body, "Password:      unchanged") {
			t.Fatalf("second email: token %q (first %q), password %q", second.token, first.token, second.sipPassword)
		}
		if u := e.user(t, "alice"); u.HA1MD5 != dialplan.HA1("MD5", "alice", "acme.example", first.sipPassword) {
			t.Error("keep_sip_password changed the SIP password")
		}
		if code, _, _ := e.call(t, client{}, "POST", "/api/v1/invitations/"+first.token, `{"password":"alice-portal-pw"}`); code != 404 {
			t.Errorf("accept the replaced link = %d, want 404", code)
		}
		if code, _, _ := e.call(t, client{}, "POST", "/api/v1/invitations/"+second.token, `{"password":"alice-portal-pw"}`); code != 200 {
			t.Errorf("accept the new link = %d, want 200", code)
		}
	})
	if n := srv.Pending(); n != 0 {
		t.Errorf("%d unexpected emails", n)
	}
}

func TestInvitationExpires(t *testing.T) {
	e, srv := newInviteEnv(t, time.Second)
	if code, got, _ := e.call(t, provider, "POST", "/api/v1/tenants/acme.example/users/alice/invite", ""); code != 200 {
		t.Fatalf("invite = %d %v", code, got)
	}
	in := readInvitation(t, srv)
	time.Sleep(1100 * time.Millisecond)
	code, got, _ := e.call(t, client{}, "POST", "/api/v1/invitations/"+in.token, `{"password":"alice-portal-pw"}`)
	if code != http.StatusGone || !strings.Contains(got["error"].(string), "expired") {
		t.Errorf("accept an expired link = %d %v, want 410", code, got)
	}
	if u := e.user(t, "alice"); u.PortalHash != "" || u.SignInStatus(time.Now()) != dialplan.UserExpired {
		t.Errorf("alice after an expired accept: portal hash %q, status %q", u.PortalHash, u.SignInStatus(time.Now()))
	}
}

func TestInvitationLinkRateLimited(t *testing.T) {
	e := newAPIEnv(t)
	e.api.logins = newLoginLimiter(LoginLimit{SourceFailures: 3, Window: time.Hour}, time.Now)
	for i := range 3 {
		if code, _, _ := e.call(t, client{}, "POST", "/api/v1/invitations/NOSUCHTOKEN", `{"password":"whatever-password"}`); code != 404 {
			t.Fatalf("wrong link %d = %d, want 404", i, code)
		}
	}
	code, _, h := e.call(t, client{}, "GET", "/api/v1/invitations/NOSUCHTOKEN", "")
	if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
		t.Errorf("fourth wrong link = %d (Retry-After %q), want 429", code, h.Get("Retry-After"))
	}
}

// TestInvitationAcrossInstances invites on one instance and accepts on
// another over one Redis directory store: the token's hash travels with
// the user.
func TestInvitationAcrossInstances(t *testing.T) {
	rs := redistest.Start(t)
	srv := smtptest.Start(t, smtptest.Options{})
	d, err := dialplan.Parse([]byte(testDirectory), "test.yaml", dialplan.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	instance := func(seed bool) *apiEnv {
		c, err := redisconn.Open(redisconn.Config{URL: rs.URL(), Timeout: time.Second, OpTimeout: 2 * time.Second}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		store := dialplan.NewRedisStore(c, dialplan.RedisOptions{Prefix: "invite:"})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = store.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		if seed {
			if err := store.Replace(context.Background(), d); err != nil {
				t.Fatal(err)
			}
		}
		m, err := NewSMTPMailer(SMTPConfig{Server: srv.Addr(), From: "pbx@switchboard.example"})
		if err != nil {
			t.Fatal(err)
		}
		api, err := NewAPI(APIConfig{Token: testToken, Directory: store, Accounts: dialplan.NewRedisAccounts(c, "invite:"),
			Log: slog.New(slog.DiscardHandler), Invite: InviteConfig{Mailer: m}})
		if err != nil {
			t.Fatal(err)
		}
		return &apiEnv{h: New(prometheus.NewRegistry(), func(context.Context) error { return nil }, nil, WithAPI(api)).srv.Handler}
	}
	a, b := instance(true), instance(false)
	if code, got, _ := a.call(t, provider, "POST", "/api/v1/tenants/acme.example/users/alice/invite", ""); code != 200 {
		t.Fatalf("invite on A = %d %v", code, got)
	}
	m, err := srv.Next(t, 5*time.Second).Parse()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(quotedprintable.NewReader(m.Body))
	// Without http.public_url the link is built from the request's host.
	l := regexp.MustCompile(`http://example\.com/console/#/invite/([A-Z0-9]+)`).FindStringSubmatch(string(body))
	if l == nil {
		t.Fatalf("no link in:\n%s", body)
	}
	if code, got, _ := b.call(t, client{}, "POST", "/api/v1/invitations/"+l[1], `{"password":"alice-portal-pw"}`); code != 200 {
		t.Fatalf("accept on B = %d %v", code, got)
	}
	if code, got, _ := a.call(t, provider, "GET", "/api/v1/tenants/acme.example/users/alice", ""); code != 200 || got["status"] != "active" {
		t.Errorf("alice on A after accepting on B = %d %v, want active", code, got)
	}
	a.login(t, "alice@acme.example", "alice-portal-pw")
}
