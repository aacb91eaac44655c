package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/switchboard/switchboard/dialplan"
)

// resource describes one kind of object a tenant owns — users, groups,
// attendants — so that one set of handlers serves the CRUD of all of them.
// The hooks are where the kinds differ; nil hooks do nothing.
type resource[T any] struct {
	kind  string // singular, in messages and audit lines: "user"
	items func(t *dialplan.Tenant) *[]*T
	id    func(v *T) string
	// match filters listings by ?q; nil lists everything.
	match func(v *T, q string) bool
	// sorts are the orders ?sort= may ask for, by name; nil keeps the
	// stored order.
	sorts map[string]func(a, b *T) int
	// prepare completes v before it is stored in t in place of old (nil
	// when new): assigns an extension, keeps credentials. It returns a
	// generated secret to show once.
	prepare func(ctx context.Context, t *dialplan.Tenant, old, v *T) (secret string, err error)
	// detach removes what refers to v before v is deleted from t, or
	// refuses (409) when that would leave something broken.
	detach func(t *dialplan.Tenant, v *T) error
	// show is what responses carry for v; nil shows v as it is.
	show func(v *T, secret string) any
	// stored runs after a write succeeded: old is nil on create, v nil on
	// delete (users drop the bindings of names they no longer have).
	stored func(ctx context.Context, domain string, old, v *T)
}

// crud registers list, create, get, replace, patch and delete for res under
// base ("/tenants/{domain}/users").
func crud[T any](a *API, base string, res *resource[T]) {
	a.handle("GET", base, res.list(a))
	a.handle("POST", base, res.create(a))
	a.handle("GET", base+"/{id}", res.get(a))
	a.handle("PUT", base+"/{id}", res.put(a))
	a.handle("PATCH", base+"/{id}", res.patch(a))
	a.handle("DELETE", base+"/{id}", res.remove(a))
}

func (res *resource[T]) find(t *dialplan.Tenant, id string) int {
	return slices.IndexFunc(*res.items(t), func(v *T) bool { return v != nil && strings.EqualFold(res.id(v), id) })
}

func (res *resource[T]) notFound(domain, id string) error {
	return notFound("%s %s in tenant %s", res.kind, id, domain)
}

func (res *resource[T]) out(v *T, secret string) any {
	if res.show == nil {
		return v
	}
	return res.show(v, secret)
}

func (res *resource[T]) list(a *API) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		limit, offset, err := page(r)
		if err != nil {
			return err
		}
		view, err := a.dir.Tenant(r.Context(), r.PathValue("domain"))
		if err != nil {
			return err
		}
		q := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("q")))
		var all []*T
		for _, v := range *res.items(view.Tenant) {
			if q == "" || res.match == nil || res.match(v, q) {
				all = append(all, v)
			}
		}
		if s := r.URL.Query().Get("sort"); s != "" {
			by, ok := res.sorts[s]
			if !ok {
				return badRequest("sort", "sort %q: want one of %s", s, strings.Join(slices.Sorted(maps.Keys(res.sorts)), ", "))
			}
			all = slices.Clone(all) // the view's slice is shared
			slices.SortStableFunc(all, by)
		}
		shown := []any{}
		start := min(offset, len(all))
		for _, v := range all[start : start+min(limit, len(all)-start)] {
			shown = append(shown, res.out(v, ""))
		}
		writeJSON(w, http.StatusOK, map[string]any{
			res.kind + "s": shown, "total": len(all), "limit": limit, "offset": offset,
		})
		return nil
	}
}

func (res *resource[T]) get(a *API) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		domain, id := r.PathValue("domain"), r.PathValue("id")
		view, err := a.dir.Tenant(r.Context(), domain)
		if err != nil {
			return err
		}
		i := res.find(view.Tenant, id)
		if i < 0 {
			return res.notFound(domain, id)
		}
		writeJSON(w, http.StatusOK, res.out((*res.items(view.Tenant))[i], ""))
		return nil
	}
}

func (res *resource[T]) create(a *API) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		v := new(T)
		if err := decodeJSON(w, r, v); err != nil {
			return err
		}
		domain, id := r.PathValue("domain"), res.id(v)
		if id == "" {
			return badRequest("id", "id: required")
		}
		var secret string
		saved, err := res.write(r.Context(), a, domain, func(t *dialplan.Tenant) (*T, error) {
			if res.find(t, id) >= 0 {
				return nil, conflict("id", "%s %s already exists in tenant %s", res.kind, id, domain)
			}
			s, err := res.prepareFn(r.Context(), t, nil, v)
			if err != nil {
				return nil, err
			}
			secret = s
			*res.items(t) = append(*res.items(t), v)
			return v, nil
		})
		if err != nil {
			return err
		}
		if res.stored != nil {
			res.stored(r.Context(), domain, nil, saved)
		}
		a.audit(r, res.kind+".create", domain, id)
		writeJSON(w, http.StatusCreated, res.out(saved, secret))
		return nil
	}
}

// put replaces an object whole.
func (res *resource[T]) put(a *API) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		v := new(T)
		if err := decodeJSON(w, r, v); err != nil {
			return err
		}
		return res.replace(a, w, r, "replace", func(*T) (*T, error) { return v, nil })
	}
}

// patch applies a JSON merge patch (RFC 7396): fields present replace,
// null removes, nested objects (forward) merge.
func (res *resource[T]) patch(a *API) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		body, err := readBody(w, r, maxJSONBody)
		if err != nil {
			return err
		}
		var probe map[string]json.RawMessage
		if err := strictUnmarshal(body, &probe); err != nil {
			return err
		}
		return res.replace(a, w, r, "update", func(old *T) (*T, error) {
			v := new(T)
			return v, mergePatch(old, body, v)
		})
	}
}

// replace stores next(old) in place of the object named in the URL.
func (res *resource[T]) replace(a *API, w http.ResponseWriter, r *http.Request, action string, next func(old *T) (*T, error)) error {
	domain, id := r.PathValue("domain"), r.PathValue("id")
	var old *T
	saved, err := res.write(r.Context(), a, domain, func(t *dialplan.Tenant) (*T, error) {
		i := res.find(t, id)
		if i < 0 {
			return nil, res.notFound(domain, id)
		}
		old = (*res.items(t))[i]
		v, err := next(old)
		if err != nil {
			return nil, err
		}
		switch got := res.id(v); {
		case got == "":
			return nil, badRequest("id", "id: required (it must be %s)", res.id(old))
		case got != res.id(old):
			return nil, badRequest("id", "id: %q cannot be changed to %q; create a new %s instead", res.id(old), got, res.kind)
		}
		if _, err := res.prepareFn(r.Context(), t, old, v); err != nil {
			return nil, err
		}
		(*res.items(t))[i] = v
		return v, nil
	})
	if err != nil {
		return err
	}
	if res.stored != nil {
		res.stored(r.Context(), domain, old, saved)
	}
	a.audit(r, res.kind+"."+action, domain, id)
	writeJSON(w, http.StatusOK, res.out(saved, ""))
	return nil
}

func (res *resource[T]) remove(a *API) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		domain, id := r.PathValue("domain"), r.PathValue("id")
		gone, err := res.write(r.Context(), a, domain, func(t *dialplan.Tenant) (*T, error) {
			i := res.find(t, id)
			if i < 0 {
				return nil, res.notFound(domain, id)
			}
			v := (*res.items(t))[i]
			if res.detach != nil {
				if err := res.detach(t, v); err != nil {
					return nil, err
				}
			}
			*res.items(t) = slices.Delete(*res.items(t), i, i+1)
			return v, nil
		})
		if err != nil {
			return err
		}
		if res.stored != nil {
			res.stored(r.Context(), domain, gone, nil)
		}
		a.audit(r, res.kind+".delete", domain, id)
		writeJSON(w, http.StatusOK, res.out(gone, ""))
		return nil
	}
}

func (res *resource[T]) prepareFn(ctx context.Context, t *dialplan.Tenant, old, v *T) (string, error) {
	if res.prepare == nil {
		return "", nil
	}
	return res.prepare(ctx, t, old, v)
}

// write runs fn in one UpdateTenant and returns a copy of the object fn
// returned, with the directory defaults applied as the store applies them
// (so a response shows e.g. the caller_id the user ended up with).
func (res *resource[T]) write(ctx context.Context, a *API, domain string, fn func(t *dialplan.Tenant) (*T, error)) (*T, error) {
	var saved *T
	err := a.dir.UpdateTenant(ctx, domain, func(t *dialplan.Tenant) error {
		v, err := fn(t)
		if err != nil {
			return err
		}
		saved, err = res.withDefaults(t, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return saved, nil
}

func (res *resource[T]) withDefaults(t *dialplan.Tenant, v *T) (*T, error) {
	c, err := cloneJSON(v)
	if err != nil {
		return nil, err
	}
	tmp := &dialplan.Tenant{Domain: t.Domain, MainNumber: t.MainNumber, ExtensionPolicy: t.ExtensionPolicy}
	*res.items(tmp) = []*T{c}
	dialplan.SetDefaults(&dialplan.Directory{Tenants: []*dialplan.Tenant{tmp}})
	return c, nil
}

// cloneJSON deep-copies a directory value through its JSON form (what
// json:"-" fields hold, such as credentials, is not copied).
func cloneJSON[T any](v *T) (*T, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	c := new(T)
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	return c, nil
}

// mergePatch applies the JSON merge patch to orig and decodes the result
// into out, refusing unknown fields.
func mergePatch(orig any, patch []byte, out any) error {
	base, err := json.Marshal(orig)
	if err != nil {
		return fmt.Errorf("patch: %w", err)
	}
	var doc, p any
	if err := unmarshalNumber(base, &doc); err != nil {
		return fmt.Errorf("patch: %w", err)
	}
	if err := unmarshalNumber(patch, &p); err != nil {
		return jsonError(err)
	}
	if _, ok := p.(map[string]any); !ok {
		return badRequest("", "a PATCH body is a JSON object of the fields to change")
	}
	merged, err := json.Marshal(merge(doc, p))
	if err != nil {
		return fmt.Errorf("patch: %w", err)
	}
	return strictUnmarshal(merged, out)
}

func merge(doc, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	dm, ok := doc.(map[string]any)
	if !ok {
		dm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(dm, k)
			continue
		}
		dm[k] = merge(dm[k], v)
	}
	return dm
}

func unmarshalNumber(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}
