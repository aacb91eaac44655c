package sip

import (
	"cmp"
	"container/list"
	"strings"
	"sync"
	"time"
)

// CDR is one finished call as the recent-calls list keeps it: the fields of
// its "cdr" log line, typed.
type CDR struct {
	Ended   time.Time
	CallID  string
	Tenant  string
	Caller  string // user id, or "number via trunk"
	Callee  string // the Request-URI user part
	Kind    string // the routing plan kind
	Result  string // answered, busy, no_answer, failed, …
	Setup   time.Duration
	Talk    time.Duration
	EndedBy string // bye, transferred, …; "" for a call never answered
	Trunk   string // the carrier an outbound call left through
}

// The recent-calls list is bounded twice, so it holds at most
// (cdrTenants+1)·cdrsPerTenant records (about 200,000, tens of MB at worst)
// whatever the traffic: cdrsPerTenant per tenant, and the cdrTenants
// tenants that finished a call most recently (a quiet tenant beyond that
// loses its list first). One more ring of cdrsPerTenant holds every
// tenant's calls for the provider's view.
const (
	cdrsPerTenant = 200
	cdrTenants    = 1000
)

// cdrLog keeps the recent CDRs in memory, per instance: the log line stays
// the record, this is what the console shows. The zero value is ready; one
// mutex and no allocation once a tenant's ring is full.
type cdrLog struct {
	mu         sync.Mutex
	perTenant  int // 0 = cdrsPerTenant
	maxTenants int // 0 = cdrTenants
	all        cdrRing
	tenants    map[string]*list.Element // of *cdrRing
	lru        list.List                // front: the tenant that wrote last
}

// cdrRing is the last records of one tenant, oldest overwritten first.
type cdrRing struct {
	tenant string
	recs   []CDR
	next   int // where the next record goes once recs is full
}

func (r *cdrRing) push(c CDR, size int) {
	if len(r.recs) < size {
		r.recs = append(r.recs, c)
		return
	}
	r.recs[r.next] = c
	r.next = (r.next + 1) % size
}

// newest copies up to limit records, newest first.
func (r *cdrRing) newest(limit int) []CDR {
	n := min(limit, len(r.recs))
	out := make([]CDR, 0, n)
	for i := range n {
		// The newest is just before next (or at the end while not full).
		j := (r.next - 1 - i + 2*len(r.recs)) % len(r.recs)
		out = append(out, r.recs[j])
	}
	return out
}

func (l *cdrLog) sizes() (perTenant, maxTenants int) {
	return cmp.Or(l.perTenant, cdrsPerTenant), cmp.Or(l.maxTenants, cdrTenants)
}

// add keeps c in its tenant's ring and in the ring of all tenants.
func (l *cdrLog) add(c CDR) {
	per, maxT := l.sizes()
	key := strings.ToLower(c.Tenant)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all.push(c, per)
	if l.tenants == nil {
		l.tenants = map[string]*list.Element{}
	}
	e := l.tenants[key]
	switch {
	case e != nil:
		l.lru.MoveToFront(e)
	case len(l.tenants) >= maxT:
		// Reuse the quietest tenant's ring for this one.
		e = l.lru.Back()
		r := e.Value.(*cdrRing)
		delete(l.tenants, r.tenant)
		r.tenant, r.recs, r.next = key, r.recs[:0], 0
		l.tenants[key] = e
		l.lru.MoveToFront(e)
	default:
		e = l.lru.PushFront(&cdrRing{tenant: key})
		l.tenants[key] = e
	}
	e.Value.(*cdrRing).push(c, per)
}

// recent returns up to limit CDRs of tenant ("" = every tenant), newest
// first.
func (l *cdrLog) recent(tenant string, limit int) []CDR {
	if limit <= 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if tenant == "" {
		return l.all.newest(limit)
	}
	e := l.tenants[strings.ToLower(tenant)]
	if e == nil {
		return nil
	}
	return e.Value.(*cdrRing).newest(limit)
}

// RecentCDRs returns up to limit of the calls this instance finished most
// recently, of one tenant or ("") of all, newest first. At most
// cdrsPerTenant are kept per tenant.
func (s *Server) RecentCDRs(tenant string, limit int) []CDR {
	return s.cdrs.recent(tenant, limit)
}

// cdrOf types the key/value pairs of a CDR log line.
func cdrOf(ended time.Time, kv []any) CDR {
	dur := func(key string) time.Duration {
		d, _ := time.ParseDuration(cdrField(kv, key))
		return d
	}
	return CDR{
		Ended:   ended,
		CallID:  cdrField(kv, "call_id"),
		Tenant:  cdrField(kv, "tenant"),
		Caller:  cdrField(kv, "caller"),
		Callee:  cdrField(kv, "callee"),
		Kind:    cdrField(kv, "plan"),
		Result:  cdrField(kv, "result"),
		Setup:   dur("setup"),
		Talk:    dur("talk"),
		EndedBy: cdrField(kv, "ended_by"),
		Trunk:   cdrField(kv, "trunk"),
	}
}
