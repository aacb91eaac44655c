package security

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newTestGuard(t *testing.T, cfg Config, opt Options) (*Guard, *clock, *prometheus.Registry) {
	t.Helper()
	c := &clock{t: time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)}
	reg := prometheus.NewRegistry()
	opt.Now, opt.Registerer = c.now, reg
	return New(cfg, opt), c, reg
}

var (
	office = netip.MustParseAddr("203.0.113.9")
	other  = netip.MustParseAddr("198.51.100.7")
)

const register = "REGISTER sip:acme.example SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.9;branch=z9hG4bK1\r\nUser-Agent: Yealink T46\r\n\r\n"

func TestPairBanAfterFailures(t *testing.T) {
	g, clk, reg := newTestGuard(t, DefaultConfig(), Options{})
	ctx := context.Background()
	for i := range 4 {
		g.AuthFailed(ctx, office, "7001")
		if g.UserBanned(office, "7001") {
			t.Fatalf("banned after %d failures, want 5", i+1)
		}
	}
	g.AuthFailed(ctx, office, "7001")
	if !g.UserBanned(office, "7001") {
		t.Fatal("not banned after 5 failures")
	}
	if g.UserBanned(office, "7002") {
		t.Error("another user behind the same IP is banned")
	}
	if g.UserBanned(other, "7001") {
		t.Error("the same user from another IP is banned")
	}
	if v := g.Inbound(office, []byte(register)); v != Pass {
		t.Errorf("Inbound from a pair-banned IP = %d, want Pass (only the pair is banned)", v)
	}
	bans := g.Bans()
	if len(bans) != 1 || bans[0].User != "7001" || bans[0].Reason != ReasonAuthFailures || !bans[0].Until.Equal(clk.now().Add(15*time.Minute)) {
		t.Errorf("Bans() = %+v, want one auth_failures ban of 7001 for 15m", bans)
	}
	if got := testutil.ToFloat64(g.metrics.bans.WithLabelValues("auth_failures")); got != 1 {
		t.Errorf("bans_total{auth_failures} = %v, want 1", got)
	}
	clk.add(15*time.Minute + time.Second)
	if g.UserBanned(office, "7001") {
		t.Error("still banned after the ban expired")
	}
	lint(t, reg)
}

func TestFailuresOutsideWindowRestart(t *testing.T) {
	g, clk, _ := newTestGuard(t, DefaultConfig(), Options{})
	for range 4 {
		g.AuthFailed(context.Background(), office, "7001")
	}
	clk.add(61 * time.Second)
	g.AuthFailed(context.Background(), office, "7001")
	if g.UserBanned(office, "7001") {
		t.Error("banned by failures spread over two windows")
	}
}

func TestScanBansTheIP(t *testing.T) {
	g, _, _ := newTestGuard(t, DefaultConfig(), Options{})
	for i := range 9 {
		g.AuthFailed(context.Background(), office, fmt.Sprintf("u%d", i))
	}
	if v := g.Inbound(office, []byte(register)); v != Pass {
		t.Fatalf("Inbound after 9 usernames = %d, want Pass", v)
	}
	g.AuthFailed(context.Background(), office, "u9")
	if v := g.Inbound(office, []byte(register)); v != DropBanned {
		t.Errorf("Inbound after 10 usernames = %d, want DropBanned", v)
	}
	if v := g.Inbound(other, []byte(register)); v != Pass {
		t.Errorf("Inbound from another IP = %d, want Pass", v)
	}
	if got := testutil.ToFloat64(g.metrics.dropBanned); got != 1 {
		t.Errorf("dropped_total{banned} = %v, want 1", got)
	}
	n, err := g.Lift(context.Background(), office)
	if err != nil || n != 1 {
		t.Fatalf("Lift = %d, %v; want 1, nil", n, err)
	}
	if v := g.Inbound(office, []byte(register)); v != Pass {
		t.Errorf("Inbound after Lift = %d, want Pass", v)
	}
	// Counts are forgotten too: one more failure does not re-ban.
	g.AuthFailed(context.Background(), office, "u10")
	if v := g.Inbound(office, []byte(register)); v != Pass {
		t.Errorf("Inbound after Lift and one failure = %d, want Pass", v)
	}
}

func TestFlood(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RequestsPerSecond = 10
	trunk := netip.MustParsePrefix("192.0.2.0/24")
	g, clk, _ := newTestGuard(t, cfg, Options{Exempt: []netip.Prefix{trunk}})
	for i := range 20 { // the burst is twice the rate
		if v := g.Inbound(office, []byte(register)); v != Pass {
			t.Fatalf("request %d of the burst = %d, want Pass", i+1, v)
		}
	}
	if v := g.Inbound(office, []byte(register)); v != DropFlood {
		t.Fatalf("request past the burst = %d, want DropFlood", v)
	}
	if v := g.Inbound(office, []byte(register)); v != DropBanned {
		t.Errorf("next request = %d, want DropBanned", v)
	}
	carrier := netip.MustParseAddr("192.0.2.10")
	for i := range 100 {
		if v := g.Inbound(carrier, []byte(register)); v != Pass {
			t.Fatalf("trunk request %d = %d, want Pass (exempt)", i+1, v)
		}
	}
	// A steady 10/s source is never limited.
	for i := range 100 {
		clk.add(100 * time.Millisecond)
		if v := g.Inbound(other, []byte(register)); v != Pass {
			t.Fatalf("steady request %d = %d, want Pass", i+1, v)
		}
	}
	clk.add(16 * time.Minute)
	if v := g.Inbound(office, []byte(register)); v != Pass {
		t.Errorf("after the ban = %d, want Pass", v)
	}
}

func TestFloodOff(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RequestsPerSecond = 0
	g, _, _ := newTestGuard(t, cfg, Options{})
	for range 10000 {
		if v := g.Inbound(office, []byte(register)); v != Pass {
			t.Fatalf("Inbound = %d with requests_per_second 0, want Pass", v)
		}
	}
}

func TestScanner(t *testing.T) {
	g, _, _ := newTestGuard(t, DefaultConfig(), Options{})
	for _, tc := range []struct {
		msg  string
		want Verdict
	}{
		{"OPTIONS sip:100@1.2.3.4 SIP/2.0\r\nUser-Agent: friendly-scanner\r\n\r\n", DropScanner},
		{"OPTIONS sip:100@1.2.3.4 SIP/2.0\r\nuser-agent :  SIPVicious 0.3\r\n\r\n", DropScanner},
		{"OPTIONS sip:100@1.2.3.4 SIP/2.0\r\nUser-Agent-X: foo\r\nUser-Agent: pplsip\r\n\r\n", DropScanner},
		{"OPTIONS sip:100@1.2.3.4 SIP/2.0\r\nX-User-Agent: pplsip\r\n\r\n", Pass},
		{"INVITE sip:1@x SIP/2.0\nVia: x\nUser-Agent: sipcli/v1.8\n\n", DropScanner},
		{"INVITE sip:1@x SIP/2.0\r\nUser-Agent: baresip\r\n\r\nfriendly-scanner in the body", Pass},
		{"INVITE sip:1@x SIP/2.0\r\nUser-Agent: baresip\r\nuser-agent: sipcli\r\n\r\n", Pass}, // the first one counts
		{"INVITE sip:1@x SIP/2.0\r\nSubject: friendly-scanner\r\n\r\n", Pass},
		{"INVITE sip:1@x SIP/2.0\r\n", Pass},
		{"", Pass},
		{"User-Agent:" + strings.Repeat("a", 1000) + "pplsip\r\n\r\n", Pass}, // past the 256 bytes looked at
	} {
		if got := g.Inbound(other, []byte(tc.msg)); got != tc.want {
			t.Errorf("Inbound(%q) = %d, want %d", tc.msg, got, tc.want)
		}
	}
}

func TestTablesBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxEntries = 64
	cfg.RequestsPerSecond = 1
	g, _, _ := newTestGuard(t, cfg, Options{})
	for i := range 10000 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		g.Inbound(ip, nil)
		g.Inbound(ip, nil)
		g.Inbound(ip, nil) // over the burst of 2: banned
		g.AuthFailed(context.Background(), ip, "x")
	}
	if n := g.bans.len(); n > 64 {
		t.Errorf("bans = %d, want at most 64", n)
	}
	if n := g.rate.len(); n > 64 {
		t.Errorf("flood budgets = %d, want at most 64", n)
	}
	if n := g.failures.len(); n > 64 {
		t.Errorf("failure counters = %d, want at most 64", n)
	}
	// The newest ban survived; the oldest was evicted.
	if !g.bans.banned(pairKey{ip: netip.AddrFrom4([4]byte{10, 0, 39, 15})}, g.now()) {
		t.Error("the newest ban was evicted")
	}
	if g.bans.banned(pairKey{ip: netip.AddrFrom4([4]byte{10, 0, 0, 0})}, g.now()) {
		t.Error("the oldest ban was kept")
	}
}

func TestIPv4MappedIsTheSameSource(t *testing.T) {
	g, _, _ := newTestGuard(t, DefaultConfig(), Options{})
	mapped := netip.AddrFrom16(office.As16())
	for range 5 {
		g.AuthFailed(context.Background(), mapped, "7001")
	}
	if !g.UserBanned(office, "7001") {
		t.Error("a ban from ::ffff:203.0.113.9 does not hold for 203.0.113.9")
	}
}

func TestValidate(t *testing.T) {
	if errs := DefaultConfig().Validate(); len(errs) != 0 {
		t.Errorf("DefaultConfig().Validate() = %v, want none", errs)
	}
	bad := Config{Window: 0, Ban: -1, AuthFailuresPerUser: -1, AuthFailureUsersPerIP: -1, RequestsPerSecond: -1, Scanners: []string{" "}}
	if errs := bad.Validate(); len(errs) != 6 {
		t.Errorf("Validate() = %v, want 6 problems", errs)
	}
}

func lint(t *testing.T, reg *prometheus.Registry) {
	t.Helper()
	probs, err := promlint.NewWithMetricFamilies(gather(t, reg)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
