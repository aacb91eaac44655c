package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/switchboard/switchboard/dialplan"
)

// numberBody is the body of PUT numbers/{number} and what it answers.
type numberBody struct {
	Number string `json:"number,omitempty"`
	Target string `json:"target"`
}

// putNumber routes a number to a target, adding it to the tenant: 201 when
// the number is new to the tenant, 200 when it was re-routed.
func (a *API) putNumber(w http.ResponseWriter, r *http.Request) error {
	domain, number := r.PathValue("domain"), r.PathValue("number")
	var body numberBody
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	switch {
	case body.Number != "" && body.Number != number:
		return badRequest("number", "number %s in the body does not match %s in the URL", body.Number, number)
	case body.Target == "":
		return badRequest("target", "target: required, e.g. user:john, group:sales, attendant:main")
	}
	if _, err := dialplan.ParseTarget(body.Target); err != nil {
		return badRequest("target", "%v", err)
	}
	if err := a.foreignNumber(r.Context(), domain, "number", number); err != nil {
		return err
	}
	status := http.StatusOK
	err := a.dir.UpdateTenant(r.Context(), domain, func(t *dialplan.Tenant) error {
		status = http.StatusOK
		if _, ok := t.Numbers[number]; !ok {
			if err := ownNumber(r.Context(), t, number); err != nil {
				return err
			}
			status = http.StatusCreated
		}
		t.SetNumber(number, dialplan.NumberAssigned, body.Target, "")
		return nil
	})
	if err != nil {
		return err
	}
	a.audit(r, "number.assign", domain, number, "target", body.Target)
	writeJSON(w, status, numberBody{Number: number, Target: body.Target})
	return nil
}

// deleteNumber releases a number from the tenant and answers where it
// routed. A user's direct number is released by clearing it on the user.
func (a *API) deleteNumber(w http.ResponseWriter, r *http.Request) error {
	domain, number := r.PathValue("domain"), r.PathValue("number")
	var target string
	err := a.dir.UpdateTenant(r.Context(), domain, func(t *dialplan.Tenant) error {
		tg, ok := t.Numbers[number]
		if !ok {
			for _, u := range t.Users {
				if u.DirectNumber == number {
					return dialplan.Problems{{Field: "number", Conflict: true,
						Reason: fmt.Sprintf("%s is user %s's direct_number; clear it on the user (PATCH users/%s {\"direct_number\": null})", number, u.ID, u.ID)}}
				}
			}
			return notFound("number %s in tenant %s", number, domain)
		}
		for _, u := range t.Users {
			if u.DirectNumber == number {
				return dialplan.Problems{{Field: "number", Conflict: true,
					Reason: fmt.Sprintf("%s is user %s's direct_number; clear it on the user first", number, u.ID)}}
			}
		}
		target = tg
		if !PrincipalFrom(r.Context()).Provider() {
			// A tenant admin releases a number to its own inventory.
			t.SetNumber(number, dialplan.NumberAvailable, "", "")
			return nil
		}
		delete(t.Numbers, number)
		delete(t.Reserved, number)
		return nil
	})
	if err != nil {
		return err
	}
	if PrincipalFrom(r.Context()).Provider() {
		// Back to the provider's pool: never lost.
		if err := a.accounts.PoolAdd(r.Context(), number); err != nil && !errors.Is(err, dialplan.ErrExists) {
			a.log.Error("admin: return number to the pool", "number", number, "error", err)
		}
	}
	a.audit(r, "number.release", domain, number)
	writeJSON(w, http.StatusOK, numberBody{Number: number, Target: target})
	return nil
}

// foreignNumber refuses (409, naming field) a number another tenant owns.
// The store's validation refuses it too, but reports it on whichever
// tenant comes first in the directory; this names the request's field.
func (a *API) foreignNumber(ctx context.Context, domain, field, number string) error {
	if number == "" {
		return nil
	}
	v, err := a.dir.TenantByNumber(ctx, number)
	switch {
	case errors.Is(err, dialplan.ErrNotFound):
		return nil
	case err != nil:
		return err
	case !strings.EqualFold(v.Tenant.Domain, domain):
		return conflict(field, "%s is already owned by tenant %s", number, v.Tenant.Domain)
	}
	return nil
}
