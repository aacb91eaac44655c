package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard/switchboard/admin"
	"github.com/switchboard/switchboard/console"
	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/security"
	"github.com/switchboard/switchboard/sip"
)

// adminOptions mounts the admin API on the HTTP server when an admin token
// is configured; with none, the API stays off and only the ops endpoints
// answer.
func adminOptions(token string, dir admin.Directory, accounts dialplan.Accounts, loc location.Store, sipSrv *sip.Server, guard *security.Guard, mail admin.Voicemail, invite admin.InviteConfig, log *slog.Logger) ([]admin.Option, error) {
	if token == "" {
		return nil, nil
	}
	api, err := admin.NewAPI(admin.APIConfig{
		Token:         token,
		Directory:     dir,
		Registrations: registrations{loc},
		Calls:         calls{sipSrv},
		CDRs:          calls{sipSrv},
		Trunks:        sipSrv,
		Unbinder:      unbinder{loc},
		Accounts:      accounts,
		Bans:          bans{guard},
		Voicemail:     mail,
		Invite:        invite,
		Log:           log,
	})
	if err != nil {
		return nil, err
	}
	return []admin.Option{admin.WithAPI(api), admin.WithHandler(console.Prefix, console.Handler()),
		admin.WithHandler("GET /console", http.RedirectHandler(console.Prefix, http.StatusMovedPermanently))}, nil
}

// lister is a location store that can list a tenant's bindings
// (location.Memory).
type lister interface {
	All(tenant string) []location.Binding
}

// registrations adapts a location store to admin.Registrations.
type registrations struct{ loc location.Store }

func (r registrations) Registrations(_ context.Context, tenant string) ([]admin.Registration, error) {
	l, ok := r.loc.(lister)
	if !ok {
		return nil, fmt.Errorf("registrations: the location store cannot list bindings")
	}
	var out []admin.Registration
	for _, b := range l.All(strings.ToLower(tenant)) {
		out = append(out, admin.Registration{
			AOR: b.AOR, Tenant: b.Tenant, Contact: b.Contact, Source: b.Source, Transport: b.Transport,
			UserAgent: b.UserAgent, Expires: b.Expires.UTC().Truncate(time.Second), Instance: b.Instance,
		})
	}
	return out, nil
}

// calls adapts the SIP server's dialog table to admin.Calls and its
// recent-calls list to admin.CDRs.
type calls struct{ s *sip.Server }

func (c calls) Calls() []admin.Call {
	var out []admin.Call
	for _, ci := range c.s.ActiveCalls() {
		out = append(out, admin.Call{CallID: ci.CallID, Tenant: ci.Tenant, Caller: ci.Caller, Callee: ci.Callee,
			Kind: ci.Kind, Answered: ci.Answered.UTC()})
	}
	return out
}

// CDRs adapts the SIP server's recent-calls list to admin.CDRs.
func (c calls) CDRs(tenant string, limit int) []admin.CDR {
	var out []admin.CDR
	for _, r := range c.s.RecentCDRs(tenant, limit) {
		out = append(out, admin.CDR{Ended: r.Ended.UTC(), CallID: r.CallID, Tenant: r.Tenant,
			Caller: r.Caller, Callee: r.Callee, Kind: r.Kind, Result: r.Result, SetupS: r.Setup.Seconds(),
			TalkS: int(r.Talk / time.Second), EndedBy: r.EndedBy, Trunk: r.Trunk})
	}
	return out
}

// unbinder drops an AOR's bindings through any location store: an update
// that keeps no binding.
type unbinder struct{ loc location.Store }

func (u unbinder) Unbind(ctx context.Context, aor string) error {
	_, err := u.loc.Update(ctx, aor, "", func(time.Time, []location.Binding) ([]location.Binding, error) {
		return nil, nil
	})
	return err
}
