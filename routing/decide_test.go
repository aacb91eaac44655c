package routing

import (
	"bytes"
	"flag"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/location"
)

var update = flag.Bool("update", false, "rewrite testdata/plans.golden from the current output")

// registered is who has a phone registered in the tests, by AOR.
var registered = map[string][]location.Binding{
	"alice@acme.example": {
		{AOR: "alice@acme.example", Contact: "sip:alice@192.0.2.10:5060"},
		{AOR: "alice@acme.example", Contact: "sip:alice@192.0.2.11:5062;transport=tcp"},
	},
	"bob@acme.example":       {{AOR: "bob@acme.example", Contact: "sip:bob@192.0.2.20:5060"}},
	"bob-sales@acme.example": {{AOR: "bob-sales@acme.example", Contact: "sip:bob-sales@192.0.2.20:5060"}},
	"dave@acme.example":      {{AOR: "dave@acme.example", Contact: "sip:dave@192.0.2.40:5060"}},
	"erin@acme.example":      {{AOR: "erin@acme.example", Contact: "sip:erin@192.0.2.50:5060"}},
	"grace@acme.example":     {{AOR: "grace@acme.example", Contact: "sip:grace@192.0.2.70:5060"}},
	"ivan@acme.example":      {{AOR: "ivan@acme.example", Contact: "sip:ivan@192.0.2.90:5060"}},
	"oliver@acme.co.uk":      {{AOR: "oliver@acme.co.uk", Contact: "sip:oliver@198.51.100.1:5060"}},
}

func testOptions() Options {
	return Options{
		Trunks:      []string{"carrier", "backup"},
		Contacts:    func(aor string) []location.Binding { return registered[aor] },
		DefaultRing: 30 * time.Second,
	}
}

func loadSnapshot(t testing.TB) *dialplan.Snapshot {
	t.Helper()
	data, err := os.ReadFile("testdata/directory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d, err := dialplan.Parse(data, "testdata/directory.yaml", dialplan.LoadOptions{KeepPasswords: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := dialplan.Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// planCase is one call of the golden table. from is "user:ID",
// "user:ID/ALIAS" (calling from an alias line), "trunk" or "" (unclassified).
type planCase struct {
	name     string
	tenant   string // default acme.example
	from     string
	dialled  string
	target   string // when set, DecideTarget instead of Decide
	diverted int
	noTrunk  bool
}

var planCases = []planCase{
	// Internal names.
	{name: "extension", from: "user:nina", dialled: "7001"},
	{name: "user id", from: "user:nina", dialled: "alice"},
	{name: "user id any case", from: "user:nina", dialled: "Alice"},
	{name: "second extension", from: "user:nina", dialled: "7012"},
	{name: "alias with own binding", from: "user:nina", dialled: "bob-sales"},
	{name: "alias without binding falls back to owner", from: "user:nina", dialled: "alice-support"},
	{name: "from an alias line", from: "user:alice/alice-support", dialled: "7002"},
	{name: "calling oneself", from: "user:alice", dialled: "7001"},
	{name: "unregistered user without forward", from: "user:nina", dialled: "7003"},
	{name: "unknown name", from: "user:nina", dialled: "zed"},
	{name: "unknown extension", from: "user:nina", dialled: "7999"},
	{name: "empty", from: "user:nina", dialled: ""},

	// Ring groups.
	{name: "group simultaneous", from: "user:nina", dialled: "7100"},
	{name: "group simultaneous leaves out the caller", from: "user:alice", dialled: "7100"},
	{name: "group sequential with unregistered member and duplicate", from: "user:nina", dialled: "7200"},
	{name: "group nobody registered", from: "user:nina", dialled: "7300"},
	{name: "group does not follow members' forwards", from: "user:nina", dialled: "7400"},

	// Forwards.
	{name: "forward always", from: "user:nina", dialled: "7004"},
	{name: "forward no_answer registered", from: "user:nina", dialled: "7005"},
	{name: "forward no_answer not registered", from: "user:nina", dialled: "7006"},
	{name: "forward busy registered", from: "user:nina", dialled: "7007"},
	{name: "forward busy not registered", from: "user:nina", dialled: "7008"},
	{name: "forward unregistered registered", from: "user:nina", dialled: "7009"},
	{name: "forward unregistered not registered", from: "user:nina", dialled: "7010"},
	{name: "forward to own number is ignored", from: "user:nina", dialled: "7011"},
	{name: "forward to a colleague's number goes out", from: "user:nina", dialled: "7014"},
	{name: "no trunk: forward always skipped", from: "user:nina", dialled: "7004", noTrunk: true},
	{name: "no trunk: forward no_answer skipped", from: "user:nina", dialled: "7005", noTrunk: true},

	// Users dialling numbers.
	{name: "own number E.164 rings internally", from: "user:nina", dialled: "+14155550101"},
	{name: "own number national to group", from: "user:nina", dialled: "(415) 555-0107"},
	{name: "own number with 1 to attendant", from: "user:nina", dialled: "14155550100"},
	{name: "own number to ext", from: "user:nina", dialled: "+14155550109"},
	{name: "outbound E.164 caller_id main", from: "user:nina", dialled: "+14085551234"},
	{name: "outbound national caller_id direct", from: "user:alice", dialled: "408-555-1234"},
	{name: "outbound from alias line", from: "user:alice/alice-support", dialled: "4085551234"},
	{name: "outbound 011 international", from: "user:nina", dialled: "011442071234567"},
	{name: "outbound 00 international", from: "user:nina", dialled: "00442071234567"},
	{name: "outbound UK national caller_id direct", tenant: "acme.co.uk", from: "user:oliver", dialled: "020 7123 4567"},
	{name: "outbound UK international", tenant: "acme.co.uk", from: "user:oliver", dialled: "0033142685300"},
	{name: "outbound without caller ID numbers", tenant: "acme.co.uk", from: "user:paul", dialled: "+14085551234"},
	{name: "not a number", from: "user:nina", dialled: "12345"},
	{name: "no trunk: outbound", from: "user:nina", dialled: "+14085551234", noTrunk: true},

	// Emergency.
	{name: "emergency 911 direct number", from: "user:alice", dialled: "911"},
	{name: "emergency 911 main number", from: "user:nina", dialled: "911"},
	{name: "emergency 112 UK", tenant: "acme.co.uk", from: "user:oliver", dialled: "112"},
	{name: "emergency 999 without numbers", tenant: "acme.co.uk", from: "user:paul", dialled: "999"},
	{name: "emergency 933 not shadowed by a user id", from: "user:nina", dialled: "933"},
	{name: "emergency from a forwarding user", from: "user:dave", dialled: "911"},
	{name: "no trunk: emergency", from: "user:nina", dialled: "911", noTrunk: true},

	// Calls from trunks.
	{name: "trunk number to user", from: "trunk", dialled: "+14155550101"},
	{name: "trunk number without plus", from: "trunk", dialled: "14155550101"},
	{name: "trunk number to alias", from: "trunk", dialled: "+14155550102"},
	{name: "trunk number to alias with own binding", from: "trunk", dialled: "+14155550103"},
	{name: "trunk number to group", from: "trunk", dialled: "+14155550107"},
	{name: "trunk number to attendant", from: "trunk", dialled: "+14155550100"},
	{name: "trunk number to ext group", from: "trunk", dialled: "+14155550108"},
	{name: "trunk number to ext user", from: "trunk", dialled: "+14155550109"},
	{name: "trunk number to forwarding user", from: "trunk", dialled: "+14155550104"},
	{name: "trunk unknown number", from: "trunk", dialled: "+14155550199"},
	{name: "trunk extension is not reachable", from: "trunk", dialled: "7001"},
	{name: "trunk emergency code", from: "trunk", dialled: "911"},
	{name: "trunk UK number without plus", tenant: "acme.co.uk", from: "trunk", dialled: "442071234501"},
	{name: "trunk diverted too often: no forward", from: "trunk", dialled: "+14155550104", diverted: MaxDiversions},
	{name: "trunk diverted below limit: forward", from: "trunk", dialled: "+14155550104", diverted: MaxDiversions - 1},

	// Attendant selections and unclassified callers.
	{name: "attendant option group", from: "trunk", target: "group:sales"},
	{name: "attendant option user from user", from: "user:nina", target: "user:alice"},
	{name: "attendant option ext", from: "trunk", target: "ext:7200"},
	{name: "unclassified caller", from: "", dialled: "7001"},
}

// run plans c over s.
func (c planCase) run(t testing.TB, s *dialplan.Snapshot) Plan {
	t.Helper()
	domain := c.tenant
	if domain == "" {
		domain = "acme.example"
	}
	view, ok := s.Tenant(domain)
	if !ok {
		t.Fatalf("no tenant %s", domain)
	}
	call := Call{Dialled: c.dialled, Diverted: c.diverted}
	switch {
	case c.from == "trunk":
		call.Caller = Caller{Trunk: "carrier", Number: "+16505550199", Name: "CALLER"}
	case strings.HasPrefix(c.from, "user:"):
		id, alias, _ := strings.Cut(strings.TrimPrefix(c.from, "user:"), "/")
		u, ok := view.User(id)
		if !ok {
			t.Fatalf("no user %s", id)
		}
		call.Caller = Caller{User: u, Alias: alias, Name: u.Name}
	}
	opts := testOptions()
	if c.noTrunk {
		opts.Trunks = nil
	}
	if c.target != "" {
		tg, err := dialplan.ParseTarget(c.target)
		if err != nil {
			t.Fatal(err)
		}
		return DecideTarget(tg, call, view, opts)
	}
	return Decide(call, view, opts)
}

const goldenPath = "testdata/plans.golden"

// TestDecideGolden plans every case and compares it with its section of
// testdata/plans.golden; go test -run TestDecideGolden -update rewrites it.
func TestDecideGolden(t *testing.T) {
	s := loadSnapshot(t)
	got := map[string]string{}
	var all bytes.Buffer
	for _, c := range planCases {
		p := c.run(t, s)
		got[c.name] = p.String()
		all.WriteString("== " + c.name + " ==\n" + describe(c) + "\n" + p.String() + "\n")
	}
	if *update {
		if err := os.WriteFile(goldenPath, all.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := readGolden(t)
	for _, c := range planCases {
		t.Run(c.name, func(t *testing.T) {
			w, ok := want[c.name]
			if !ok {
				t.Fatalf("no section %q in %s (run with -update)", c.name, goldenPath)
			}
			if diff := cmp.Diff(w, got[c.name]); diff != "" {
				t.Errorf("%s: plan mismatch (-want +got):\n%s", describe(c), diff)
			}
		})
	}
	if len(want) != len(planCases) {
		t.Errorf("%s has %d sections, the table %d cases (run with -update)", goldenPath, len(want), len(planCases))
	}
}

func describe(c planCase) string {
	var b strings.Builder
	b.WriteString("from " + or(c.from, "nobody"))
	if c.tenant != "" {
		b.WriteString(" in " + c.tenant)
	}
	if c.target != "" {
		b.WriteString(" to target " + c.target)
	} else {
		b.WriteString(" dialling " + `"` + c.dialled + `"`)
	}
	if c.diverted > 0 {
		b.WriteString(", diverted " + strconv.Itoa(c.diverted) + " times")
	}
	if c.noTrunk {
		b.WriteString(", no trunk")
	}
	return b.String()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// readGolden splits the golden file into its sections' plans by case name.
func readGolden(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	out := map[string]string{}
	for _, sec := range strings.Split(string(data), "== ")[1:] {
		name, rest, _ := strings.Cut(sec, " ==\n")
		_, plan, _ := strings.Cut(rest, "\n") // drop the description line
		out[name] = strings.TrimSuffix(plan, "\n")
	}
	return out
}

// TestPlanShape checks what the proxy relies on for every plan of the table:
// a kind, at least one step, and a last step that ends the call (Reject,
// Attendant or Outbound) with Ring and Forward never last.
func TestPlanShape(t *testing.T) {
	s := loadSnapshot(t)
	kinds := map[string]bool{KindUser: true, KindAlias: true, KindGroup: true, KindAttendant: true,
		KindOutbound: true, KindEmergency: true, KindForward: true, KindReject: true}
	for _, c := range planCases {
		t.Run(c.name, func(t *testing.T) {
			p := c.run(t, s)
			if !kinds[p.Kind] {
				t.Errorf("Kind = %q, want one of the Kind constants", p.Kind)
			}
			if len(p.Steps) == 0 {
				t.Fatalf("no steps")
			}
			for i, st := range p.Steps {
				last := i == len(p.Steps)-1
				switch st := st.(type) {
				case Ring:
					if last || len(st.Contacts) == 0 {
						t.Errorf("step %d: %+v: a Ring needs contacts and a step after it", i+1, st)
					}
				case Forward:
					if last || st.Trunk == "" {
						t.Errorf("step %d: %+v: a Forward needs a trunk and a step after it", i+1, st)
					}
				case Reject, Attendant, Outbound:
					if !last {
						t.Errorf("step %d: %T is final but step %d follows", i+1, st, i+2)
					}
				}
			}
			_, firstForward := p.Steps[0].(Forward)
			if firstForward != (p.Kind == KindForward) {
				t.Errorf("Kind = %q with first step %T", p.Kind, p.Steps[0])
			}
		})
	}
}

// TestDecideNoContactsFunc checks that a nil Options.Contacts means nobody
// is registered.
func TestDecideNoContactsFunc(t *testing.T) {
	s := loadSnapshot(t)
	view, _ := s.Tenant("acme.example")
	nina, _ := view.User("nina")
	for _, dialled := range []string{"7001", "alice-support", "7100", "7200"} {
		p := Decide(Call{Caller: Caller{User: nina}, Dialled: dialled}, view, Options{Trunks: []string{"carrier"}})
		if want := []Step{rejectUnavailable}; !cmp.Equal(p.Steps, want) {
			t.Errorf("Decide(%q) steps = %v, want %v", dialled, p.Steps, want)
		}
	}
}
