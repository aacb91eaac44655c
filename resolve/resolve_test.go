package resolve

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/switchboard/switchboard/resolve/dnstest"
)

var zone = []string{
	"a.carrier.test. 60 IN A 127.0.0.2",
	"b.carrier.test. 60 IN A 127.0.0.4",
	"_sip._udp.carrier.test. 60 IN SRV 10 50 5070 a.carrier.test.",
	"_sip._udp.carrier.test. 60 IN SRV 20 50 5080 b.carrier.test.",
	"_sip._tcp.tcponly.test. 60 IN SRV 10 0 5090 b.carrier.test.",
	"naptr.test. 60 IN NAPTR 10 10 \"s\" \"SIP+D2U\" \"\" _sip._udp.carrier.test.",
	"naptr.test. 60 IN NAPTR 5 10 \"s\" \"SIP+D2T\" \"\" _sip._tcp.tcponly.test.",
	"naptr.test. 60 IN NAPTR 1 10 \"s\" \"SIP+D2X\" \"\" _sip._sctp.nothing.test.",
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newResolver(t *testing.T, servers []string, now func() time.Time, timeout time.Duration) *Resolver {
	t.Helper()
	r, err := New(Config{Servers: servers, Timeout: timeout, Now: now, Rand: func(int) int { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func startDNS(t *testing.T, records ...string) *dnstest.Server {
	t.Helper()
	s, err := dnstest.Start(records...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestResolve(t *testing.T) {
	d := startDNS(t, zone...)
	r := newResolver(t, []string{d.Addr()}, nil, 2*time.Second)
	tests := []struct {
		name, address, transport string
		want                     []Target
	}{
		{"ip literal", "127.0.0.9:5099", "", []Target{{"127.0.0.9:5099", "udp"}}},
		{"ip literal default port", "127.0.0.9", "tcp", []Target{{"127.0.0.9:5060", "tcp"}}},
		{"ip literal tls port", "127.0.0.9", "tls", []Target{{"127.0.0.9:5061", "tls"}}},
		{"ipv6 literal", "[::1]:5062", "", []Target{{"[::1]:5062", "udp"}}},
		{"name with port: A only", "a.carrier.test:5099", "", []Target{{"127.0.0.2:5099", "udp"}}},
		{"SRV by priority", "carrier.test", "udp", []Target{{"127.0.0.2:5070", "udp"}, {"127.0.0.4:5080", "udp"}}},
		{"no NAPTR: SRV udp then tcp", "tcponly.test", "", []Target{{"127.0.0.4:5090", "tcp"}}},
		{"NAPTR picks TCP by order", "naptr.test", "", []Target{{"127.0.0.4:5090", "tcp"}, {"127.0.0.2:5070", "udp"}, {"127.0.0.4:5080", "udp"}}},
		{"transport given: NAPTR skipped", "naptr.test.", "udp", nil},
		{"no SRV: A with default port", "a.carrier.test", "tcp", []Target{{"127.0.0.2:5060", "tcp"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Resolve(context.Background(), tt.address, tt.transport)
			if tt.want == nil {
				if err == nil {
					t.Errorf("Resolve(%q, %q) = %v, want an error", tt.address, tt.transport, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q, %q): %v", tt.address, tt.transport, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Resolve(%q, %q) mismatch (-want +got):\n%s", tt.address, tt.transport, diff)
			}
		})
	}
}

func TestResolveTTL(t *testing.T) {
	d := startDNS(t, "_sip._udp.ttl.test. 5 IN SRV 10 0 5070 a.ttl.test.", "a.ttl.test. 300 IN A 127.0.0.2")
	clk := &clock{t: time.Unix(1_000_000, 0)}
	r := newResolver(t, []string{d.Addr()}, clk.Now, 2*time.Second)
	resolve := func() []Target {
		t.Helper()
		got, err := r.Resolve(context.Background(), "ttl.test", "udp")
		if err != nil {
			t.Fatalf("Resolve: %v", err)
		}
		return got
	}
	first := []Target{{"127.0.0.2:5070", "udp"}}
	if diff := cmp.Diff(first, resolve()); diff != "" {
		t.Fatalf("first Resolve mismatch (-want +got):\n%s", diff)
	}
	clk.Add(4 * time.Second)
	resolve()
	if n := d.Queries("_sip._udp.ttl.test.", "SRV"); n != 1 {
		t.Errorf("SRV queries within the TTL = %d, want 1 (cached)", n)
	}

	// The carrier moves its SRV record; after the 5 s TTL the stale answer
	// is served at once and refreshed behind it.
	if err := d.Set("_sip._udp.ttl.test. 5 IN SRV 10 0 5080 a.ttl.test.", "a.ttl.test. 300 IN A 127.0.0.2"); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Second)
	if diff := cmp.Diff(first, resolve()); diff != "" {
		t.Errorf("Resolve after expiry (stale) mismatch (-want +got):\n%s", diff)
	}
	moved := []Target{{"127.0.0.2:5080", "udp"}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := resolve()
		if cmp.Equal(moved, got) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Resolve after refresh = %v, want %v", got, moved)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := d.Queries("_sip._udp.ttl.test.", "SRV"); n != 2 {
		t.Errorf("SRV queries = %d, want 2 (one refresh)", n)
	}
}

// TestResolveTimeout: a DNS server that never answers costs at most the
// timeout, and a stale answer is used at once while the server is silent.
func TestResolveTimeout(t *testing.T) {
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	clk := &clock{t: time.Unix(1_000_000, 0)}
	r := newResolver(t, []string{silent.LocalAddr().String()}, clk.Now, 300*time.Millisecond)
	start := time.Now()
	if _, err := r.Resolve(context.Background(), "silent.test", "udp"); err == nil {
		t.Fatal("Resolve against a silent server succeeded")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Resolve took %v against a 300ms timeout", el)
	}

	// Seed the cache with an answer that has expired, then look it up.
	srv := &dns.SRV{Hdr: dns.RR_Header{Name: "_sip._udp.silent.test.", Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 5},
		Priority: 1, Port: 5070, Target: "a.silent.test."}
	a := &dns.A{Hdr: dns.RR_Header{Name: "a.silent.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.ParseIP("127.0.0.2")}
	r.store(cacheKey{"_sip._udp.silent.test.", dns.TypeSRV}, []dns.RR{srv}, 5*time.Second)
	r.store(cacheKey{"a.silent.test.", dns.TypeA}, []dns.RR{a}, 5*time.Second)
	clk.Add(time.Minute)
	got, err := r.Resolve(context.Background(), "silent.test", "udp")
	if err != nil {
		t.Fatalf("Resolve with a stale entry: %v", err)
	}
	if diff := cmp.Diff([]Target{{"127.0.0.2:5070", "udp"}}, got); diff != "" {
		t.Errorf("stale Resolve mismatch (-want +got):\n%s", diff)
	}
}
