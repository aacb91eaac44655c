package routing

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard/switchboard/dialplan"
)

const pickupDirectory = `tenants:
  - domain: acme.example
    main_number: "+14155550100"
    users:
      - {id: alice, extensions: ["7001"], password: a}
      - {id: bob, extensions: ["7002"], password: b, aliases: [bob-support]}
      - {id: carol, extensions: ["7003"], password: c}
      - {id: dave, extensions: ["7004"], password: d}
      - {id: erin, extensions: ["702"], password: e}
    groups:
      - {id: sales, extension: "7100", members: [alice, bob-support, carol]}
      - {id: support, extension: "7200", members: [carol, dave]}
`

func TestPickupAndParkPlans(t *testing.T) {
	d, err := dialplan.Parse([]byte(pickupDirectory), "pickup.yaml", dialplan.LoadOptions{KeepPasswords: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := dialplan.Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	view, _ := s.Tenant("acme.example")
	user := func(id string) *dialplan.User { u, _ := view.User(id); return u }
	park := ParkSlots{First: 701, Count: 20}
	cases := []struct {
		name    string
		from    string
		dialled string
		park    ParkSlots
		want    Plan
	}{
		{"group pickup: one group", "alice", "*8", park, only(KindPickup, Pickup{Users: []string{"bob", "carol"}})},
		{"group pickup: alias member resolved", "bob", "*8", park, only(KindPickup, Pickup{Users: []string{"alice", "carol"}})},
		{"group pickup: two groups merged", "carol", "*8", park, only(KindPickup, Pickup{Users: []string{"alice", "bob", "dave"}})},
		{"group pickup: in no group", "erin", "*8", park, only(KindReject, rejectNotFound)},
		{"directed pickup of an extension", "dave", "**7002", park, only(KindPickup, Pickup{Users: []string{"bob"}, Directed: true})},
		{"directed pickup by alias", "dave", "**bob-support", park, only(KindPickup, Pickup{Users: []string{"bob"}, Directed: true})},
		{"directed pickup of a group", "dave", "**7100", park, only(KindPickup, Pickup{Users: []string{"alice", "bob", "carol"}, Directed: true})},
		{"directed pickup of oneself", "bob", "**7002", park, only(KindReject, rejectNotFound)},
		{"directed pickup of nobody", "dave", "**7999", park, only(KindReject, rejectNotFound)},
		{"bare prefix is no code", "dave", "**", park, only(KindReject, rejectNotFound)},
		{"park", "alice", "*70", park, only(KindPark, Park{})},
		{"park disabled", "alice", "*70", ParkSlots{}, only(KindReject, rejectNotFound)},
		{"retrieve first slot", "carol", "701", park, only(KindPark, ParkRetrieve{Slot: 701})},
		{"retrieve last slot", "carol", "720", park, only(KindPark, ParkRetrieve{Slot: 720})},
		{"extension shadows a slot", "carol", "702", park, Plan{Kind: KindUser}}, // erin's plan (480: not registered)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(Call{Caller: Caller{User: user(tc.from)}, Dialled: tc.dialled}, view, Options{Park: tc.park})
			if tc.want.Kind == KindUser {
				if r, ok := got.Steps[0].(Reject); !ok || r.Code != 480 {
					t.Fatalf("plan = %+v, want erin's plan (480, nobody registered)", got)
				}
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParkSlots(t *testing.T) {
	p := ParkSlots{First: 701, Count: 20}
	for dialled, want := range map[string]int{"701": 701, "710": 710, "720": 720, "700": 0, "721": 0, "0701": 0, "+701": 0, "70a": 0, "": 0} {
		n, ok := p.Slot(dialled)
		if ok != (want != 0) || n != want {
			t.Errorf("Slot(%q) = %d, %v; want %d", dialled, n, ok, want)
		}
	}
	if _, ok := (ParkSlots{}).Slot("701"); ok {
		t.Error("slot found with park disabled")
	}
}
