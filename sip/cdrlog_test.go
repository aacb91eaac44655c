package sip

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// ids lists the call ids of cdrs, in order.
func ids(cdrs []CDR) []string {
	out := []string{}
	for _, c := range cdrs {
		out = append(out, c.CallID)
	}
	return out
}

func TestCDRLog(t *testing.T) {
	t0 := time.Unix(1000, 0)
	rec := func(tenant string, i int) CDR {
		return CDR{Ended: t0.Add(time.Duration(i) * time.Second), CallID: fmt.Sprintf("%s-%d", tenant, i), Tenant: tenant}
	}
	tests := []struct {
		name   string
		log    *cdrLog
		add    []CDR
		tenant string
		limit  int
		want   []string
	}{
		{name: "empty", log: &cdrLog{}, tenant: "a", limit: 10, want: []string{}},
		{name: "newest first", log: &cdrLog{}, add: []CDR{rec("a", 1), rec("a", 2), rec("a", 3)},
			tenant: "a", limit: 10, want: []string{"a-3", "a-2", "a-1"}},
		{name: "limit", log: &cdrLog{}, add: []CDR{rec("a", 1), rec("a", 2), rec("a", 3)},
			tenant: "a", limit: 2, want: []string{"a-3", "a-2"}},
		{name: "per tenant", log: &cdrLog{}, add: []CDR{rec("a", 1), rec("b", 2), rec("a", 3)},
			tenant: "b", limit: 10, want: []string{"b-2"}},
		{name: "tenant case", log: &cdrLog{}, add: []CDR{rec("Acme.example", 1)},
			tenant: "acme.EXAMPLE", limit: 10, want: []string{"Acme.example-1"}},
		{name: "all tenants", log: &cdrLog{}, add: []CDR{rec("a", 1), rec("b", 2), rec("a", 3)},
			tenant: "", limit: 10, want: []string{"a-3", "b-2", "a-1"}},
		{name: "ring keeps the last perTenant", log: &cdrLog{perTenant: 3},
			add:    []CDR{rec("a", 1), rec("a", 2), rec("a", 3), rec("a", 4), rec("a", 5)},
			tenant: "a", limit: 10, want: []string{"a-5", "a-4", "a-3"}},
		{name: "all tenants ring is bounded too", log: &cdrLog{perTenant: 2},
			add:    []CDR{rec("a", 1), rec("b", 2), rec("c", 3)},
			tenant: "", limit: 10, want: []string{"c-3", "b-2"}},
		{name: "quietest tenant dropped past maxTenants", log: &cdrLog{maxTenants: 2},
			add:    []CDR{rec("a", 1), rec("b", 2), rec("a", 3), rec("c", 4)},
			tenant: "b", limit: 10, want: []string{}},
		{name: "recently written tenant kept", log: &cdrLog{maxTenants: 2},
			add:    []CDR{rec("a", 1), rec("b", 2), rec("a", 3), rec("c", 4)},
			tenant: "a", limit: 10, want: []string{"a-3", "a-1"}},
		{name: "reused ring starts empty", log: &cdrLog{maxTenants: 1},
			add:    []CDR{rec("a", 1), rec("a", 2), rec("c", 3)},
			tenant: "c", limit: 10, want: []string{"c-3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range tt.add {
				tt.log.add(c)
			}
			if got := ids(tt.log.recent(tt.tenant, tt.limit)); !cmp.Equal(got, tt.want) {
				t.Errorf("recent(%q, %d) = %v, want %v", tt.tenant, tt.limit, got, tt.want)
			}
		})
	}
}

// TestCDRLogBounded writes far more than the bounds allow: the tenants map
// and every ring stay within them.
func TestCDRLogBounded(t *testing.T) {
	l := &cdrLog{perTenant: 4, maxTenants: 3}
	for i := range 1000 {
		tenant := fmt.Sprintf("t%d", i%7)
		if i%2 == 0 {
			tenant = "hot" // never the quietest
		}
		l.add(CDR{CallID: fmt.Sprint(i), Tenant: tenant})
	}
	if len(l.tenants) != 3 || l.lru.Len() != 3 {
		t.Errorf("tenants kept = %d (lru %d), want 3", len(l.tenants), l.lru.Len())
	}
	for e := l.lru.Front(); e != nil; e = e.Next() {
		if r := e.Value.(*cdrRing); len(r.recs) > 4 || cap(r.recs) > 8 {
			t.Errorf("ring of %s holds %d (cap %d), want at most 4", r.tenant, len(r.recs), cap(r.recs))
		}
	}
	if got := ids(l.recent("hot", 10)); !cmp.Equal(got, []string{"998", "996", "994", "992"}) {
		t.Errorf("recent(hot) = %v, want its last 4", got)
	}
	if got := ids(l.recent("t5", 10)); !cmp.Equal(got, []string{"999"}) {
		t.Errorf("recent(t5) = %v, want only the call since its ring was reused", got)
	}
}

// TestCDRLine checks that a finished call's log line is written as before
// and the same fields land, typed, in the recent-calls list.
func TestCDRLine(t *testing.T) {
	var buf bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))}
	s.cdr("call_id", "c1", "tenant", "acme.example", "caller", "+14085551234 via carrier", "callee", "7002",
		"plan", "outbound", "result", "answered", "setup", "12ms", "talk", "1m5s", "trunk", "carrier", "ended_by", "bye")
	wantLine := `level=INFO msg=cdr call_id=c1 tenant=acme.example caller="+14085551234 via carrier" callee=7002 plan=outbound result=answered setup=12ms talk=1m5s trunk=carrier ended_by=bye`
	if got := strings.TrimSpace(buf.String()); got != wantLine {
		t.Errorf("log line = %s, want %s", got, wantLine)
	}
	got := s.RecentCDRs("acme.example", 10)
	if len(got) != 1 {
		t.Fatalf("RecentCDRs = %+v, want one", got)
	}
	if got[0].Ended.IsZero() {
		t.Error("Ended is zero, want the time the call ended")
	}
	got[0].Ended = time.Time{}
	want := CDR{CallID: "c1", Tenant: "acme.example", Caller: "+14085551234 via carrier", Callee: "7002", Kind: "outbound",
		Result: "answered", Setup: 12 * time.Millisecond, Talk: 65 * time.Second, EndedBy: "bye", Trunk: "carrier"}
	if diff := cmp.Diff(want, got[0]); diff != "" {
		t.Errorf("RecentCDRs()[0] (-want +got):\n%s", diff)
	}
}
