package dialplan

import (
	"fmt"
	"strconv"
	"strings"
)

// extensionPool hands out the extensions of a tenant's extension_policy in
// increasing order: "7XXX" gives 7001, 7002, … 7999 (an all-zero suffix is
// never handed out). Its cursor only moves forward, so allocating n
// extensions costs O(n) lookups in total, however many are taken.
type extensionPool struct {
	policy string
	prefix string
	width  int // digits after the prefix
	next   int
	limit  int // exclusive
}

func newExtensionPool(policy string) (*extensionPool, error) {
	if policy == "" {
		policy = DefaultExtensionPolicy
	}
	if !policyPattern.MatchString(policy) || len(policy) < 2 || len(policy) > 8 {
		return nil, fmt.Errorf("extension_policy %q: want leading digits then Xs, 2-8 long (e.g. 7XXX)", policy)
	}
	prefix := strings.TrimRight(policy, "Xx")
	width := len(policy) - len(prefix)
	limit := 1
	for range width {
		limit *= 10
	}
	return &extensionPool{policy: policy, prefix: prefix, width: width, next: 1, limit: limit}, nil
}

// take returns the next extension for which taken is false.
func (p *extensionPool) take(taken func(string) bool) (string, error) {
	for ; p.next < p.limit; p.next++ {
		s := strconv.Itoa(p.next)
		e := p.prefix + strings.Repeat("0", p.width-len(s)) + s
		if !taken(e) {
			p.next++
			return e, nil
		}
	}
	return "", fmt.Errorf("no free extension left in extension_policy %s", p.policy)
}

// NextExtension returns the first extension of t's extension_policy
// (default 7XXX) that no user id, extension, alias or group extension of t
// uses.
func NextExtension(t *Tenant) (string, error) {
	pool, err := newExtensionPool(t.ExtensionPolicy)
	if err != nil {
		return "", err
	}
	names := tenantNames(t)
	return pool.take(func(e string) bool { _, ok := names[e]; return ok })
}

// tenantNames indexes the tenant's SIP namespace: every user id, extension
// and alias, and every group extension, mapped to its owner written as a
// target ("user:john", "group:sales").
func tenantNames(t *Tenant) map[string]string {
	names := make(map[string]string, 3*len(t.Users)+len(t.Groups))
	for _, u := range t.Users {
		if u == nil {
			continue
		}
		owner := "user:" + u.ID
		names[u.ID] = owner
		for _, e := range u.Extensions {
			names[e] = owner
		}
		for _, a := range u.Aliases {
			names[a] = owner
		}
	}
	for _, g := range t.Groups {
		if g != nil && g.Extension != "" {
			names[g.Extension] = "group:" + g.ID
		}
	}
	return names
}
