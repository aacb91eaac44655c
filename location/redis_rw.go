package location

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// versionField is the AOR hash's change counter for the optimistic update;
// no contact URI can be named like it.
const versionField = "#v"

// casRetries bounds the optimistic retries of one update.
const casRetries = 8

// updateScript applies an update computed from the hash as it was at
// version ARGV[1]: it returns -1 when the hash changed since, -2 when the
// epoch key no longer holds ARGV[6] (Redis lost its data; "" skips the
// check), else 1. A version is a token unique to one write (never a
// counter, which would restart after the key is deleted and let a stale
// copy pass for a current one).
//
// KEYS: the AOR hash, the tenant's index (sorted set of "aor\ncontact" by
// expiry), the set of tenants, the epoch key. ARGV: expected version, TTL
// in ms (0 deletes the key), aor, tenant, the number of contacts to set,
// the expected epoch, the new version, then per contact field, value and
// expiry (ms), then the contacts to delete.
var updateScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], '#v') or '0'
if v ~= ARGV[1] then return -1 end
if ARGV[6] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[6] then return -2 end
local n = tonumber(ARGV[5])
local i = 8
for _ = 1, n do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1])
  redis.call('ZADD', KEYS[2], ARGV[i+2], ARGV[3] .. '\n' .. ARGV[i])
  i = i + 3
end
while i <= #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[3] .. '\n' .. ARGV[i])
  i = i + 1
end
if ARGV[2] == '0' then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], '#v', ARGV[7])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('SADD', KEYS[3], ARGV[4])
end
return 1
`)

// stored is one AOR hash as read.
type stored struct {
	version  string            // "0" when absent
	raw      map[string]string // contact -> encoded binding
	bindings []Binding         // live ones, in order
	// exact: bindings are every field of the hash, each stored at its
	// index, so the hash is exactly what encoding bindings gives.
	exact bool
}

// read fetches an AOR's hash and the epoch key in one round trip; a
// changed epoch is errEpoch.
func (r *Redis) read(ctx context.Context, aor string) (stored, error) {
	var all *redis.MapStringStringCmd
	var epoch *redis.StringCmd
	// The epoch to compare with is the one known BEFORE the read: Run's
	// first checkEpoch may create the key and learn it while this pipeline
	// is in flight, and a read that predates the key must not be taken for
	// a Redis that lost its data (that sent healthy updates to the mirror).
	want := r.currentEpoch()
	if err := r.batch.do(ctx, func(p redis.Pipeliner) {
		all = p.HGetAll(ctx, r.aorKey(aor))
		epoch = p.Get(ctx, r.epochKey)
	}); err != nil {
		return stored{}, err
	}
	if err := all.Err(); err != nil {
		return stored{}, err
	}
	if err := epoch.Err(); err != nil && !errors.Is(err, redis.Nil) {
		return stored{}, err
	}
	if want != "" && epoch.Val() != want {
		select {
		case r.kick <- struct{}{}:
		default:
		}
		return stored{}, errEpoch
	}
	st := stored{version: "0", raw: all.Val()}
	now := r.now()
	type ordered struct {
		o int
		b Binding
	}
	var bs []ordered
	for field, val := range st.raw {
		if field == versionField {
			st.version = val
			continue
		}
		b, o, err := decodeBinding(aor, field, val)
		if err != nil {
			return stored{}, fmt.Errorf("binding %s of %s: %w", field, aor, err)
		}
		if !b.Expired(now) {
			bs = append(bs, ordered{o, b})
		}
	}
	slices.SortFunc(bs, func(a, b ordered) int { return a.o - b.o })
	st.exact = len(bs) == len(st.raw)-1
	for i, x := range bs {
		st.bindings = append(st.bindings, x.b)
		st.exact = st.exact && x.o == i
	}
	return st, nil
}

// update is the optimistic read-modify-write of one AOR: read the hash,
// run fn on the live bindings, write only the contacts whose encoding
// changed and delete the ones gone (expired included), if the hash did not
// change meanwhile. fn's error comes back as appErr.
//
// The first attempt skips the read when the mirror holds the AOR at a
// known version — the usual re-REGISTER on the instance that took the
// last one — so an update costs one command (in a group-commit pipeline)
// rather than two. Any other writer changes the version, the script refuses
// and the next attempt reads. Bindings that expired are then left in the
// hash until a read-based update deletes them; reads skip them meanwhile.
func (r *Redis) update(ctx context.Context, op, aor, tenant string, fn UpdateFunc) (out []Binding, appErr, err error) {
	err = r.rdb.Call(ctx, op, func(ctx context.Context) error {
		for attempt := range casRetries {
			st, ok := r.cached(aor, attempt)
			if !ok {
				var err error
				if st, err = r.read(ctx, aor); err != nil {
					return err
				}
			}
			now := r.now()
			next, err := fn(now, st.bindings)
			if err != nil {
				appErr = err
				return nil
			}
			next = live(next, now)
			version := r.newVersion()
			args := []any{st.version, "0", aor, tenant, 0, r.currentEpoch(), version}
			var latest time.Time
			for i := range next {
				b := &next[i]
				b.AOR = aor
				if b.Tenant == "" {
					b.Tenant = tenant
				}
				latest = later(latest, b.Expires)
				enc := encodeBinding(b, i)
				if st.raw[b.Key()] == enc {
					continue
				}
				args = append(args, b.Key(), enc, b.Expires.UnixMilli())
				args[4] = args[4].(int) + 1
			}
			for field := range st.raw {
				if field != versionField && !slices.ContainsFunc(next, func(b Binding) bool { return b.Key() == field }) {
					args = append(args, field)
				}
			}
			if len(next) > 0 {
				// TTL: the longest binding's, plus a second so that the key
				// outlives it; stale keys are never read as live anyway.
				args[1] = latest.Sub(now).Milliseconds() + 1000
			}
			res, err := r.runUpdate(ctx, []string{r.aorKey(aor), r.tenantKey(tenant), r.tenantsKey, r.epochKey}, args)
			if err != nil {
				return err
			}
			switch res {
			case 1:
				out = next
				r.mirror.setVersioned(aor, tenant, out, version)
				return nil
			case -2:
				select {
				case r.kick <- struct{}{}:
				default:
				}
				return errEpoch
			}
		}
		return fmt.Errorf("update %s: too many concurrent updates", aor)
	})
	return out, appErr, err
}

// cached returns, on an update's first attempt, the AOR as the mirror last
// saw it in Redis, when it knows at which version.

func (r *Redis) cached(aor string, attempt int) (stored, bool) {
	if attempt > 0 {
		return stored{}, false
	}
	bs, v, ok := r.mirror.versioned(aor)
	if !ok {
		return stored{}, false
	}
	st := stored{version: strconv.FormatUint(v, 10), bindings: bs, raw: make(map[string]string, len(bs))}
	for i := range bs {
		st.raw[bs[i].Key()] = encodeBinding(&bs[i], i)
	}
	return st, true
}

// newVersion returns a version token no other write uses: a random
// per-process start plus a counter.
func (r *Redis) newVersion() uint64 { return r.versions.Add(1) }

// runUpdate runs updateScript in the next pipeline. A Redis that does not
// know the script yet (first use, or after a restart) answers NOSCRIPT;
// then it is sent on its own, which loads it.
func (r *Redis) runUpdate(ctx context.Context, keys []string, args []any) (int, error) {
	var cmd *redis.Cmd
	if err := r.batch.do(ctx, func(p redis.Pipeliner) { cmd = updateScript.EvalSha(ctx, p, keys, args...) }); err != nil {
		return 0, err
	}
	n, err := cmd.Int()
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		n, err = updateScript.Run(ctx, r.rdb, keys, args...).Int()
	}
	return n, err
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// wireBinding is a binding as stored in the AOR hash; the AOR is the key
// and the contact the field, so neither is repeated. Times are Unix
// nanoseconds.
type wireBinding struct {
	Order     int     `json:"o"`
	Tenant    string  `json:"t,omitempty"`
	Expires   int64   `json:"e"`
	Q         float32 `json:"q,omitempty"`
	CallID    string  `json:"ci,omitempty"`
	CSeq      uint32  `json:"cs,omitempty"`
	Source    string  `json:"src,omitempty"`
	Transport string  `json:"tr,omitempty"`
	LocalAddr string  `json:"la,omitempty"`
	UserAgent string  `json:"ua,omitempty"`
	Instance  string  `json:"in,omitempty"`
	Updated   int64   `json:"u,omitempty"`
	// RFC 5626 flow identity; the hash field is then Binding.Key.
	SIPInstance string `json:"si,omitempty"`
	RegID       uint32 `json:"ri,omitempty"`
}

func encodeBinding(b *Binding, order int) string {
	w := wireBinding{
		Order: order, Tenant: b.Tenant, Expires: b.Expires.UnixNano(), Q: b.Q, CallID: b.CallID, CSeq: b.CSeq,
		Source: b.Source, Transport: b.Transport, LocalAddr: b.LocalAddr, UserAgent: b.UserAgent,
		Instance: b.Instance, SIPInstance: b.SIPInstance, RegID: b.RegID,
	}
	if !b.Updated.IsZero() {
		w.Updated = b.Updated.UnixNano()
	}
	buf, _ := json.Marshal(w) // cannot fail: plain fields
	return string(buf)
}

func decodeBinding(aor, field, s string) (Binding, int, error) {
	contact := contactOfKey(field)
	var w wireBinding
	if err := json.Unmarshal([]byte(s), &w); err != nil {
		return Binding{}, 0, err
	}
	b := Binding{
		AOR: aor, Tenant: w.Tenant, Contact: contact, Expires: time.Unix(0, w.Expires), Q: w.Q,
		CallID: w.CallID, CSeq: w.CSeq, Source: w.Source, Transport: w.Transport, LocalAddr: w.LocalAddr,
		UserAgent: w.UserAgent, Instance: w.Instance, SIPInstance: w.SIPInstance, RegID: w.RegID,
	}
	if w.Updated != 0 {
		b.Updated = time.Unix(0, w.Updated)
	}
	return b, w.Order, nil
}

// Counts returns the live bindings per tenant, read from Redis (so every
// instance reports the same, cluster-wide figure); while Redis cannot
// answer, the last figures read, or this instance's own when there are none.
// Expired index entries are pruned on the way.
func (r *Redis) Counts() map[string]int {
	out := map[string]int{}
	err := r.rdb.CallTimeout(context.Background(), "location_counts", time.Second, func(ctx context.Context) error {
		tenants, err := r.rdb.SMembers(ctx, r.tenantsKey).Result()
		if err != nil || len(tenants) == 0 {
			return err
		}
		now := strconv.FormatInt(r.now().UnixMilli(), 10)
		cmds := make([]*redis.IntCmd, len(tenants))
		if _, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, t := range tenants {
				p.ZRemRangeByScore(ctx, r.tenantKey(t), "-inf", now)
				cmds[i] = p.ZCount(ctx, r.tenantKey(t), "("+now, "+inf")
			}
			return nil
		}); err != nil {
			return err
		}
		for i, t := range tenants {
			if n := cmds[i].Val(); n > 0 {
				out[t] = int(n)
			}
		}
		return nil
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if r.counts != nil {
			return r.counts
		}
		return r.mirror.Counts()
	}
	r.counts = out
	return out
}

// All returns the live bindings of every AOR of a tenant ("" = every
// tenant), sorted by AOR then contact, as Memory.All does; from the mirror
// while Redis cannot answer.
func (r *Redis) All(tenant string) []Binding {
	var out []Binding
	err := r.rdb.CallTimeout(context.Background(), "location_all", 5*time.Second, func(ctx context.Context) error {
		tenants := []string{tenant}
		if tenant == "" {
			var err error
			if tenants, err = r.rdb.SMembers(ctx, r.tenantsKey).Result(); err != nil {
				return err
			}
		}
		now := strconv.FormatInt(r.now().UnixMilli(), 10)
		seen := map[string]bool{}
		for _, t := range tenants {
			members, err := r.rdb.ZRangeByScore(ctx, r.tenantKey(t), &redis.ZRangeBy{Min: "(" + now, Max: "+inf"}).Result()
			if err != nil {
				return err
			}
			for _, m := range members {
				aor, _, _ := strings.Cut(m, "\n")
				if seen[aor] {
					continue
				}
				seen[aor] = true
				st, err := r.read(ctx, aor)
				if err != nil {
					return err
				}
				out = append(out, st.bindings...)
			}
		}
		return nil
	})
	if err != nil {
		return r.mirror.All(tenant)
	}
	slices.SortFunc(out, func(a, b Binding) int {
		return cmp.Or(strings.Compare(a.AOR, b.AOR), strings.Compare(a.Contact, b.Contact))
	})
	return out
}
