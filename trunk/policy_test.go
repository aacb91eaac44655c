package trunk

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOrder(t *testing.T) {
	all := []Spec{
		{Name: "backup", Priority: 20, Weight: 10},
		{Name: "primary", Priority: 10, Weight: 10},
		{Name: "acme-own", Priority: 1, Private: true},
		{Name: "other-own", Priority: 1, Private: true},
	}
	first := func(int) int { return 0 }
	tests := []struct {
		name   string
		tenant []string
		want   []string
	}{
		{"provider defaults by priority, private left out", nil, []string{"primary", "backup"}},
		{"tenant's own first, then defaults", []string{"acme-own"}, []string{"acme-own", "primary", "backup"}},
		{"tenant order kept, listed default not repeated", []string{"backup", "acme-own"}, []string{"backup", "acme-own", "primary"}},
		{"unknown and duplicate names skipped", []string{"gone", "acme-own", "acme-own"}, []string{"acme-own", "primary", "backup"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Order(all, tt.tenant, first)); diff != "" {
				t.Errorf("Order(%v) mismatch (-want +got):\n%s", tt.tenant, diff)
			}
		})
	}
}

func TestOrderEqualPriorityByWeight(t *testing.T) {
	all := []Spec{{Name: "a", Priority: 5, Weight: 1}, {Name: "b", Priority: 5, Weight: 99}}
	// rnd returns the top of [0, sum]: the running sum reaches it at b.
	got := Order(all, nil, func(n int) int { return n - 1 })
	if diff := cmp.Diff([]string{"b", "a"}, got); diff != "" {
		t.Errorf("Order mismatch (-want +got):\n%s", diff)
	}
}

func TestHealthProbes(t *testing.T) {
	var h Health
	now := time.Unix(1000, 0)
	steps := []struct {
		ok       bool
		changed  bool
		wantDown bool
	}{
		{false, false, false},
		{false, false, false},
		{false, true, true}, // third failure in a row
		{false, false, true},
		{true, true, false}, // one success brings it back
		{false, false, false},
		{true, false, false},
	}
	for i, s := range steps {
		if changed := h.Probe(s.ok); changed != s.changed {
			t.Errorf("step %d: Probe(%v) changed = %v, want %v", i, s.ok, changed, s.changed)
		}
		if ok, _ := h.Usable(now); ok == s.wantDown {
			t.Errorf("step %d: Usable = %v, want %v", i, ok, !s.wantDown)
		}
	}
}

func TestHealthRetryAfter(t *testing.T) {
	var h Health
	now := time.Unix(1000, 0)
	h.RetryAfter(now, 30*time.Second)
	if ok, why := h.Usable(now.Add(29 * time.Second)); ok || why != "retry_after" {
		t.Errorf("Usable at +29s = %v %q, want false retry_after", ok, why)
	}
	h.RetryAfter(now, 5*time.Second) // a shorter one does not shorten it
	if ok, _ := h.Usable(now.Add(10 * time.Second)); ok {
		t.Errorf("Usable at +10s = true, want false")
	}
	if ok, _ := h.Usable(now.Add(31 * time.Second)); !ok {
		t.Errorf("Usable at +31s = false, want true")
	}
}

func TestDecide(t *testing.T) {
	tests := []struct {
		o      Outcome
		want   Action
		result string
	}{
		{Outcome{Code: 200}, Answered, "answered"},
		{Outcome{Code: 407, HasCredentials: true}, Authenticate, "challenged"},
		{Outcome{Code: 401, HasCredentials: true}, Authenticate, "challenged"},
		{Outcome{Code: 407, HasCredentials: true, AuthSent: true}, Next, "auth_failed"},
		{Outcome{Code: 407}, Next, "challenged"},
		{Outcome{Code: 0}, Next, "timeout"},
		{Outcome{Code: 408}, Next, "timeout"},
		{Outcome{Code: 500}, Next, "server_error"},
		{Outcome{Code: 503}, Next, "unavailable"},
		{Outcome{Code: 486}, Stop, "busy"},
		{Outcome{Code: 404}, Stop, "rejected"},
		{Outcome{Code: 403}, Stop, "rejected"},
		{Outcome{Code: 603}, Stop, "rejected"},
		{Outcome{Code: 600}, Stop, "busy"},
	}
	for _, tt := range tests {
		if got := Decide(tt.o); got != tt.want {
			t.Errorf("Decide(%+v) = %v, want %v", tt.o, got, tt.want)
		}
		if got := Result(tt.o); got != tt.result {
			t.Errorf("Result(%+v) = %q, want %q", tt.o, got, tt.result)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	tests := map[string]time.Duration{
		"120": 2 * time.Minute, " 30;duration=60": 30 * time.Second, "5 (maintenance)": 5 * time.Second,
		"": 0, "soon": 0, "-3": 0, "99999999": 24 * time.Hour,
	}
	for in, want := range tests {
		if got := ParseRetryAfter(in); got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		number, format, cc, want string
	}{
		{"+14155550100", "", "", "+14155550100"},
		{"+14155550100", E164, "1", "+14155550100"},
		{"+14155550100", E164NoPlus, "1", "14155550100"},
		{"+14155550100", National, "", "4155550100"},
		{"+14155550100", National, "1", "4155550100"},
		{"+442012345678", National, "1", "011442012345678"},
		{"+442012345678", National, "44", "02012345678"},
		{"+14155550100", National, "44", "0014155550100"},
		{"911", National, "1", "911"},
		{"911", E164NoPlus, "1", "911"},
		{"+", E164NoPlus, "1", "+"},
	}
	for _, tt := range tests {
		if got := FormatNumber(tt.number, tt.format, tt.cc); got != tt.want {
			t.Errorf("FormatNumber(%q, %q, %q) = %q, want %q", tt.number, tt.format, tt.cc, got, tt.want)
		}
	}
}
