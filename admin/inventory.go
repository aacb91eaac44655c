package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/switchboard/switchboard/dialplan"
)

// inventoryRoutes registers the tenant's inventory listing and POST, and
// the provider's pool.
func (a *API) inventoryRoutes() {
	a.handle("GET", "/tenants/{domain}/numbers", a.listNumbers)
	a.handle("POST", "/tenants/{domain}/numbers", a.postNumber)
	a.handle("GET", "/numbers", a.listPool)
	a.handle("POST", "/numbers", a.addToPool)
	a.handle("PATCH", "/numbers/{number}", a.allocate)
	a.handle("GET", "/tenants/{domain}/next-extension", a.nextExtension)
}

// ownNumber refuses (409) a tenant admin's use of a number its tenant does
// not own: numbers come from the provider's pool, through the provider.
func ownNumber(ctx context.Context, t *dialplan.Tenant, number string) error {
	if PrincipalFrom(ctx).Provider() {
		return nil
	}
	if _, ok := t.Numbers[number]; ok {
		return nil
	}
	for _, u := range t.Users {
		if u.DirectNumber == number {
			return nil
		}
	}
	return conflict("number", "%s is not one of tenant %s's numbers (ask your provider to allocate it)", number, t.Domain)
}

// listNumbers answers the tenant's numbers as the directory's numbers map
// (E.164 -> target, "" for those routed nowhere) with the users' direct
// numbers, and the inventory with each number's status; ?status= narrows
// both.
func (a *API) listNumbers(w http.ResponseWriter, r *http.Request) error {
	want := dialplan.NumberStatus(r.URL.Query().Get("status"))
	switch want {
	case "", dialplan.NumberAvailable, dialplan.NumberReserved, dialplan.NumberAssigned:
	default:
		return badRequest("status", "status %q: want available, reserved or assigned", want)
	}
	view, err := a.dir.Tenant(r.Context(), r.PathValue("domain"))
	if err != nil {
		return err
	}
	t := view.Tenant
	numbers := map[string]string{}
	inv := []dialplan.InventoryEntry{}
	for _, e := range t.Inventory() {
		if want == "" || e.Status == want {
			numbers[e.Number] = e.Target
			inv = append(inv, e)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"main_number": t.MainNumber, "numbers": numbers, "inventory": inv})
	return nil
}

// numberPost is the body of POST numbers.
type numberPost struct {
	Number string                `json:"number"`
	Status dialplan.NumberStatus `json:"status,omitempty"`
	Target string                `json:"target,omitempty"`
	Note   string                `json:"note,omitempty"`
}

// postNumber puts a number in the tenant's inventory or changes its status:
// available, reserved (with a note) or assigned (to a target). The provider
// may add any number no other tenant owns (taking it from the pool); a
// tenant admin only changes the tenant's own.
func (a *API) postNumber(w http.ResponseWriter, r *http.Request) error {
	domain := r.PathValue("domain")
	var body numberPost
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Number == "" {
		return badRequest("number", "number: required (E.164, e.g. +14155550123)")
	}
	if body.Status == "" {
		body.Status = dialplan.NumberAvailable
		if body.Target != "" {
			body.Status = dialplan.NumberAssigned
		}
	}
	switch body.Status {
	case dialplan.NumberAssigned:
		if body.Target == "" {
			return badRequest("target", "target: required to assign, e.g. user:john")
		}
		if _, err := dialplan.ParseTarget(body.Target); err != nil {
			return badRequest("target", "%v", err)
		}
	case dialplan.NumberAvailable, dialplan.NumberReserved:
		if body.Target != "" {
			return badRequest("target", "a %s number routes nowhere: drop the target", body.Status)
		}
	default:
		return badRequest("status", "status %q: want available, reserved or assigned", body.Status)
	}
	if err := a.foreignNumber(r.Context(), domain, "number", body.Number); err != nil {
		return err
	}
	status := http.StatusOK
	err := a.dir.UpdateTenant(r.Context(), domain, func(t *dialplan.Tenant) error {
		status = http.StatusOK
		for _, u := range t.Users {
			if u.DirectNumber == body.Number {
				return conflict("number", "%s is user %s's direct_number; change it on the user", body.Number, u.ID)
			}
		}
		if _, ok := t.Numbers[body.Number]; !ok {
			if err := ownNumber(r.Context(), t, body.Number); err != nil {
				return err
			}
			status = http.StatusCreated
		}
		t.SetNumber(body.Number, body.Status, body.Target, body.Note)
		return nil
	})
	if err != nil {
		return err
	}
	if status == http.StatusCreated {
		// Taken from the pool if it was there.
		if err := a.accounts.PoolRemove(r.Context(), body.Number); err != nil && !errors.Is(err, dialplan.ErrNotFound) {
			a.log.Error("admin: remove allocated number from the pool", "number", body.Number, "error", err)
		}
	}
	a.audit(r, "number."+string(body.Status), domain, body.Number, "target", body.Target)
	writeJSON(w, status, dialplan.InventoryEntry{Number: body.Number, Status: body.Status, Target: body.Target, Note: body.Note})
	return nil
}

// poolEntry is one number of the provider's pool.
type poolEntry struct {
	Number string `json:"number"`
}

func (a *API) listPool(w http.ResponseWriter, r *http.Request) error {
	ns, err := a.accounts.Pool(r.Context())
	if err != nil {
		return err
	}
	out := []poolEntry{}
	for _, n := range ns {
		out = append(out, poolEntry{Number: n})
	}
	writeJSON(w, http.StatusOK, map[string]any{"numbers": out})
	return nil
}

// addToPool adds unowned numbers to the provider's pool: {"number"} or
// {"numbers": [...]}. A number a tenant owns is refused (409).
func (a *API) addToPool(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Number  string   `json:"number"`
		Numbers []string `json:"numbers"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	ns := body.Numbers
	if body.Number != "" {
		ns = append(ns, body.Number)
	}
	if len(ns) == 0 {
		return badRequest("number", "number or numbers: required")
	}
	for _, n := range ns {
		if !dialplan.IsE164(n) {
			return badRequest("numbers", "%q: want E.164, e.g. +14155550123", n)
		}
		if v, err := a.dir.TenantByNumber(r.Context(), n); err == nil {
			return conflict("numbers", "%s is owned by tenant %s", n, v.Tenant.Domain)
		} else if !errors.Is(err, dialplan.ErrNotFound) {
			return err
		}
	}
	added := []string{}
	for _, n := range ns {
		switch err := a.accounts.PoolAdd(r.Context(), n); {
		case errors.Is(err, dialplan.ErrExists):
		case err != nil:
			return err
		default:
			added = append(added, n)
		}
	}
	a.audit(r, "pool.add", "", strings.Join(added, ","))
	writeJSON(w, http.StatusCreated, map[string]any{"added": added})
	return nil
}

// allocate moves a number between the pool and a tenant: {"tenant": D}
// allocates it (available in D's inventory), {"tenant": ""} returns an
// available number to the pool.
func (a *API) allocate(w http.ResponseWriter, r *http.Request) error {
	number := r.PathValue("number")
	var body struct {
		Tenant *string `json:"tenant"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Tenant == nil {
		return badRequest("tenant", "tenant: required (a domain, or \"\" to return the number to the pool)")
	}
	if !dialplan.IsE164(number) {
		return badRequest("number", "%q: want E.164, e.g. +14155550123", number)
	}
	ctx := r.Context()
	owner, err := a.dir.TenantByNumber(ctx, number)
	switch {
	case errors.Is(err, dialplan.ErrNotFound):
		owner = nil
	case err != nil:
		return err
	}
	to := strings.ToLower(*body.Tenant)
	if to == "" {
		if owner == nil {
			return notFound("number %s in any tenant", number)
		}
		from := owner.Tenant.Domain
		err := a.dir.UpdateTenant(ctx, from, func(t *dialplan.Tenant) error {
			if tg, ok := t.Numbers[number]; !ok || tg != "" {
				return conflict("number", "%s is in use in tenant %s (release it there first)", number, from)
			}
			delete(t.Numbers, number)
			delete(t.Reserved, number)
			return nil
		})
		if err != nil {
			return err
		}
		if err := a.accounts.PoolAdd(ctx, number); err != nil && !errors.Is(err, dialplan.ErrExists) {
			return err
		}
		a.audit(r, "pool.return", from, number)
		writeJSON(w, http.StatusOK, map[string]string{"number": number, "tenant": ""})
		return nil
	}
	if owner != nil {
		if strings.EqualFold(owner.Tenant.Domain, to) {
			writeJSON(w, http.StatusOK, map[string]string{"number": number, "tenant": owner.Tenant.Domain})
			return nil
		}
		return conflict("tenant", "%s is owned by tenant %s (return it to the pool first)", number, owner.Tenant.Domain)
	}
	err = a.dir.UpdateTenant(ctx, to, func(t *dialplan.Tenant) error {
		t.SetNumber(number, dialplan.NumberAvailable, "", "")
		return nil
	})
	if err != nil {
		return err
	}
	if err := a.accounts.PoolRemove(ctx, number); err != nil && !errors.Is(err, dialplan.ErrNotFound) {
		a.log.Error("admin: remove allocated number from the pool", "number", number, "error", err)
	}
	a.audit(r, "pool.allocate", to, number)
	writeJSON(w, http.StatusOK, map[string]string{"number": number, "tenant": to})
	return nil
}
