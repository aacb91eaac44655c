package dialplan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// bulkTimeout bounds Replace, Export and Seed, which move whole directories;
// single-tenant writes get writeTimeout. Neither runs on the call path.
const (
	bulkTimeout  = 30 * time.Second
	writeTimeout = 2 * time.Second
	watchRetries = 20
)

// bumpScript ends every write transaction: it increments the version counter
// and publishes "<version> <domain>" ("*" for the whole directory), inside
// the same MULTI as the write so that readers never see one without the
// other.
const bumpScript = `local v = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], v .. ' ' .. ARGV[2])
return v`

// tenantDoc is the JSON document stored per tenant. Credentials carry the
// HA1 of every digest username (id and extensions), which the Tenant's own
// JSON leaves out; plaintext passwords are never stored.
type tenantDoc struct {
	Schema      int                        `json:"schema"`
	Tenant      *Tenant                    `json:"tenant"`
	Credentials map[string][]credentialDoc `json:"credentials,omitempty"` // user id -> credentials
}

type credentialDoc struct {
	Username  string `json:"username"`
	Realm     string `json:"realm"`
	HA1MD5    string `json:"ha1_md5,omitempty"`
	HA1SHA256 string `json:"ha1_sha256,omitempty"`
}

func encodeTenant(t *Tenant) ([]byte, error) {
	doc := tenantDoc{Schema: 1, Tenant: t}
	for _, u := range t.Users {
		if u.Password != "" {
			return nil, fmt.Errorf("tenant %s: user %s: refusing to store a plaintext password", t.Domain, u.ID)
		}
		for _, c := range u.Credentials {
			if doc.Credentials == nil {
				doc.Credentials = map[string][]credentialDoc{}
			}
			doc.Credentials[u.ID] = append(doc.Credentials[u.ID], credentialDoc(c))
		}
	}
	return json.Marshal(doc)
}

func decodeTenant(b []byte) (*Tenant, error) {
	var doc tenantDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("decode tenant document: %w", err)
	}
	if doc.Schema != 1 || doc.Tenant == nil {
		return nil, fmt.Errorf("decode tenant document: unknown schema %d", doc.Schema)
	}
	for _, u := range doc.Tenant.Users {
		for _, c := range doc.Credentials[u.ID] {
			u.Credentials = append(u.Credentials, Credential(c))
		}
	}
	return doc.Tenant, nil
}

// ownedNumbers lists every number a tenant owns: main, numbers, direct.
func ownedNumbers(t *Tenant) []string {
	if t == nil {
		return nil
	}
	var out []string
	if t.MainNumber != "" {
		out = append(out, t.MainNumber)
	}
	for n := range t.Numbers {
		out = append(out, n)
	}
	for _, u := range t.Users {
		if u != nil && u.DirectNumber != "" {
			out = append(out, u.DirectNumber)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// CreateTenant implements Writer.
func (s *RedisStore) CreateTenant(ctx context.Context, t *Tenant) error {
	return s.writeTenant(ctx, "directory_create", t.Domain, func(old *Tenant) (*Tenant, error) {
		if old != nil {
			return nil, fmt.Errorf("tenant %s: %w", t.Domain, ErrExists)
		}
		return (&Directory{Tenants: []*Tenant{t}}).Clone().Tenants[0], nil
	})
}

// UpdateTenant implements Writer.
func (s *RedisStore) UpdateTenant(ctx context.Context, domain string, fn func(t *Tenant) error) error {
	return s.writeTenant(ctx, "directory_update", domain, func(old *Tenant) (*Tenant, error) {
		if old == nil {
			return nil, fmt.Errorf("tenant %s: %w", domain, ErrNotFound)
		}
		if err := fn(old); err != nil {
			return nil, err
		}
		if !strings.EqualFold(old.Domain, domain) {
			return nil, Problems{{Field: "domain", Reason: "a tenant's domain cannot be changed"}}
		}
		return old, nil
	})
}

// DeleteTenant implements Writer.
func (s *RedisStore) DeleteTenant(ctx context.Context, domain string, force bool) (*Tenant, error) {
	var gone *Tenant
	err := s.writeTenant(ctx, "directory_delete", domain, func(old *Tenant) (*Tenant, error) {
		if old == nil {
			return nil, fmt.Errorf("tenant %s: %w", domain, ErrNotFound)
		}
		if !force && (len(old.Users)+len(old.Groups)+len(old.Attendants)+len(old.Numbers) > 0) {
			return nil, fmt.Errorf("tenant %s: %w (use force)", domain, ErrNotEmpty)
		}
		gone = old.cloneTenant()
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return gone, nil
}

func (t *Tenant) cloneTenant() *Tenant { return (&Directory{Tenants: []*Tenant{t}}).Clone().Tenants[0] }

// writeTenant is the one write path for a single tenant: in an optimistic
// transaction (WATCH on the tenant and the version counter) it reads the
// tenant (nil when absent), lets fn compute the new one (nil deletes),
// applies defaults, validates it — numbers against the global index — and
// hashes passwords, then writes the document, the number index and the
// tenant set, bumps the version and publishes, all in one MULTI/EXEC.
func (s *RedisStore) writeTenant(ctx context.Context, op, domain string, fn func(old *Tenant) (*Tenant, error)) error {
	domain = strings.ToLower(strings.TrimSpace(domain))
	key := s.tenantKey(domain)
	var appErr error
	err := s.rdb.CallTimeout(ctx, op, writeTimeout, func(ctx context.Context) error {
		return s.watch(ctx, func(tx *redis.Tx) error {
			appErr = nil
			var old *Tenant
			raw, err := tx.Get(ctx, key).Bytes()
			switch {
			case errors.Is(err, redis.Nil):
			case err != nil:
				return err
			default:
				if old, err = decodeTenant(raw); err != nil {
					return err
				}
			}
			oldNums := ownedNumbers(old) // before fn, which may modify old
			next, err := fn(old)
			if err != nil {
				appErr = err
				return nil
			}
			var doc []byte
			if next != nil {
				if err := s.prepare(ctx, tx, next); err != nil {
					var ps Problems
					if errors.As(err, &ps) {
						appErr = err
						return nil
					}
					return err
				}
				if doc, err = encodeTenant(next); err != nil {
					appErr = err
					return nil
				}
			}
			newNums := ownedNumbers(next)
			var gone []string
			for _, n := range oldNums {
				if _, keep := slices.BinarySearch(newNums, n); !keep {
					gone = append(gone, n)
				}
			}
			var bump *redis.Cmd
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				if next == nil {
					p.Del(ctx, key)
					p.SRem(ctx, s.tenantsKey, domain)
				} else {
					p.Set(ctx, key, doc, 0)
					p.SAdd(ctx, s.tenantsKey, domain)
				}
				if len(gone) > 0 {
					p.HDel(ctx, s.numbersKey, gone...)
				}
				if len(newNums) > 0 {
					args := make([]any, 0, 2*len(newNums))
					for _, n := range newNums {
						args = append(args, n, domain)
					}
					p.HSet(ctx, s.numbersKey, args...)
				}
				bump = p.Eval(ctx, bumpScript, []string{s.versionKey}, s.channel, domain)
				return nil
			})
			if err == nil {
				v, _ := bump.Int64()
				s.cache.wrote(v, domain)
			}
			return err
		}, key, s.versionKey)
	})
	if appErr != nil {
		return appErr
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", strings.ReplaceAll(op, "_", " "), domain, err)
	}
	return nil
}

// prepare applies defaults to t, validates it against the number index
// (read inside the transaction) and hashes its passwords.
func (s *RedisStore) prepare(ctx context.Context, tx *redis.Tx, t *Tenant) error {
	d := &Directory{Tenants: []*Tenant{t}}
	SetDefaults(d)
	// Numbers owned by other tenants come in as stub tenants listed first,
	// so that Validate reports the clash on t exactly as it would in one
	// whole directory; the stubs' own problems are dropped.
	var stubs []string
	if nums := ownedNumbers(t); len(nums) > 0 && t.Domain != "" {
		owners, err := tx.HMGet(ctx, s.numbersKey, nums...).Result()
		if err != nil {
			return err
		}
		byDomain := map[string]*Tenant{}
		var pre []*Tenant
		for i, o := range owners {
			dom, _ := o.(string)
			if dom == "" || dom == t.Domain {
				continue
			}
			st := byDomain[dom]
			if st == nil {
				st = &Tenant{Domain: dom, Users: []*User{{ID: "owner"}}, Numbers: map[string]string{}}
				byDomain[dom] = st
				pre = append(pre, st)
				stubs = append(stubs, "tenants["+dom+"]")
			}
			st.Numbers[nums[i]] = "user:owner"
		}
		d.Tenants = append(pre, t)
	}
	var ps Problems
	for _, p := range Validate(d) {
		if !slices.ContainsFunc(stubs, func(st string) bool { return strings.HasPrefix(p.Field, st) }) {
			ps = append(ps, p)
		}
	}
	if len(ps) > 0 {
		return ps
	}
	HashPasswords(&Directory{Tenants: []*Tenant{t}}, realmFunc(s.realm))
	return nil
}

// watch runs fn in an optimistic transaction on keys, retrying when another
// writer got in between.
func (s *RedisStore) watch(ctx context.Context, fn func(tx *redis.Tx) error, keys ...string) error {
	for range watchRetries {
		err := s.rdb.Watch(ctx, fn, keys...)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
	}
	return fmt.Errorf("too many concurrent writers: %w", redis.TxFailedErr)
}

// Replace implements Store: the whole directory is swapped in one
// transaction and every instance drops its cache.
func (s *RedisStore) Replace(ctx context.Context, d *Directory) error {
	_, err := s.replace(ctx, d, false)
	return err
}

// Seed imports d when Redis holds no directory yet (no version counter: no
// write was ever made) and reports whether it did. It is what `serve` does
// with the directory file: a populated Redis is never overwritten. d is also
// kept to be imported again by Run if Redis later comes back empty.
func (s *RedisStore) Seed(ctx context.Context, d *Directory) (bool, error) {
	s.mu.Lock()
	s.seed = d.Clone()
	s.mu.Unlock()
	return s.seedIfEmpty(ctx, d)
}

func (s *RedisStore) seedIfEmpty(ctx context.Context, d *Directory) (bool, error) {
	return s.replace(ctx, d, true)
}

func (s *RedisStore) replace(ctx context.Context, d *Directory, onlyIfEmpty bool) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("replace directory: %w", err)
	}
	d = d.Clone()
	if d == nil {
		d = &Directory{}
	}
	SetDefaults(d)
	if ps := Validate(d); len(ps) > 0 {
		return false, ps
	}
	HashPasswords(d, realmFunc(s.realm))
	docs := make(map[string][]byte, len(d.Tenants))
	var numbers []any
	for _, t := range d.Tenants {
		doc, err := encodeTenant(t)
		if err != nil {
			return false, err
		}
		docs[t.Domain] = doc
		for _, n := range ownedNumbers(t) {
			numbers = append(numbers, n, t.Domain)
		}
	}
	done := false
	err := s.rdb.CallTimeout(ctx, "directory_replace", bulkTimeout, func(ctx context.Context) error {
		return s.watch(ctx, func(tx *redis.Tx) error {
			done = false
			if onlyIfEmpty {
				if n, err := tx.Exists(ctx, s.versionKey).Result(); err != nil || n > 0 {
					return err
				}
			}
			old, err := tx.SMembers(ctx, s.tenantsKey).Result()
			if err != nil {
				return err
			}
			var bump *redis.Cmd
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				for _, dom := range old {
					if _, keep := docs[dom]; !keep {
						p.Del(ctx, s.tenantKey(dom))
					}
				}
				p.Del(ctx, s.tenantsKey, s.numbersKey)
				domains := make([]any, 0, len(docs))
				for dom, doc := range docs {
					p.Set(ctx, s.tenantKey(dom), doc, 0)
					domains = append(domains, dom)
				}
				if len(domains) > 0 {
					p.SAdd(ctx, s.tenantsKey, domains...)
				}
				if len(numbers) > 0 {
					p.HSet(ctx, s.numbersKey, numbers...)
				}
				bump = p.Eval(ctx, bumpScript, []string{s.versionKey}, s.channel, "*")
				return nil
			})
			if done = err == nil; done {
				v, _ := bump.Int64()
				s.cache.wrote(v, "*")
			}
			return err
		}, s.tenantsKey, s.versionKey)
	})
	if err != nil {
		return false, fmt.Errorf("replace directory: %w", err)
	}
	return done, nil
}

// Export implements Store. Tenants come sorted by domain (a Redis set has no
// order).
func (s *RedisStore) Export(ctx context.Context) (*Directory, error) {
	d := &Directory{}
	err := s.rdb.CallTimeout(ctx, "directory_export", bulkTimeout, func(ctx context.Context) error {
		domains, err := s.rdb.SMembers(ctx, s.tenantsKey).Result()
		if err != nil || len(domains) == 0 {
			return err
		}
		slices.Sort(domains)
		keys := make([]string, len(domains))
		for i, dom := range domains {
			keys[i] = s.tenantKey(dom)
		}
		var cmds []*redis.StringCmd
		if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				cmds = append(cmds, p.Get(ctx, k))
			}
			return nil
		}); err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		for _, c := range cmds {
			raw, err := c.Bytes()
			if errors.Is(err, redis.Nil) {
				continue // deleted between the two reads
			}
			if err != nil {
				return err
			}
			t, err := decodeTenant(raw)
			if err != nil {
				return err
			}
			d.Tenants = append(d.Tenants, t)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("export directory: %w", err)
	}
	return d, nil
}
