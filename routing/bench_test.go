package routing

import (
	"strconv"
	"testing"
	"time"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/location"
)

// benchView is a tenant of 10 registered users u0…u9 (7000…7009, one phone
// each) in one simultaneous group "all" (7100), and "op" (7099), the caller.
func benchView(b *testing.B) (*dialplan.View, Options) {
	b.Helper()
	t := &dialplan.Tenant{Domain: "bench.example", Name: "Bench", MainNumber: "+14155550100"}
	regs := map[string][]location.Binding{}
	g := &dialplan.Group{ID: "all", Extension: "7100", Strategy: dialplan.Simultaneous, Ring: dialplan.Duration(20 * time.Second)}
	for i := range 10 {
		id := "u" + strconv.Itoa(i)
		t.Users = append(t.Users, &dialplan.User{ID: id, Name: "User " + id, Extensions: []string{strconv.Itoa(7000 + i)},
			HA1MD5: "0123456789abcdef0123456789abcdef", CallerID: dialplan.CallerIDMain})
		g.Members = append(g.Members, id)
		aor := id + "@bench.example"
		regs[aor] = []location.Binding{{AOR: aor, Contact: "sip:" + id + "@192.0.2.1:5060"}}
	}
	t.Users = append(t.Users, &dialplan.User{ID: "op", Name: "Operator", Extensions: []string{"7099"},
		HA1MD5: "0123456789abcdef0123456789abcdef", CallerID: dialplan.CallerIDMain})
	t.Groups = []*dialplan.Group{g}
	s, err := dialplan.Compile(&dialplan.Directory{Tenants: []*dialplan.Tenant{t}})
	if err != nil {
		b.Fatal(err)
	}
	v, _ := s.Tenant("bench.example")
	return v, Options{
		Trunks:      []string{"carrier"},
		Contacts:    func(aor string) []location.Binding { return regs[aor] },
		DefaultRing: 30 * time.Second,
	}
}

func BenchmarkPlan(b *testing.B) {
	v, opts := benchView(b)
	op, _ := v.User("op")
	for _, bc := range []struct{ name, dialled string }{
		{"user", "7001"},
		{"group10", "7100"},
		{"outbound", "4085551234"},
		{"outbound-e164", "+14085551234"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			call := Call{Caller: Caller{User: op}, Dialled: bc.dialled}
			b.ReportAllocs()
			for b.Loop() {
				p := Decide(call, v, opts)
				if len(p.Steps) == 0 {
					b.Fatal("empty plan")
				}
			}
		})
	}
}
