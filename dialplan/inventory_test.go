package dialplan_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/switchboard/switchboard/dialplan"
)

const inventoryYAML = `tenants:
  - domain: acme.example
    name: Acme
    users:
      - id: john
        extensions: ["7001"]
        password: pw
    numbers:
      "+14155550100": "user:john"
      "+14155550107": ""
      "+14155550108": {status: reserved, note: "new hire"}
      "+14155550109": {target: "user:john"}
      "+14155550110": {status: available}
`

func TestInventoryYAML(t *testing.T) {
	d, err := dialplan.Parse([]byte(inventoryYAML), "d.yaml", dialplan.LoadOptions{KeepPasswords: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range d.Tenants[0].Inventory() {
		got[e.Number] = string(e.Status) + "|" + e.Target + "|" + e.Note
	}
	want := map[string]string{
		"+14155550100": "assigned|user:john|", "+14155550107": "available||", "+14155550108": "reserved||new hire",
		"+14155550109": "assigned|user:john|", "+14155550110": "available||",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("inventory (-want +got):\n%s", diff)
	}
	// Written back, the long form survives and parses the same.
	out, err := yaml.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `{status: reserved, note: new hire}`) {
		t.Errorf("marshalled YAML lost the reservation:\n%s", out)
	}
	d2, err := dialplan.Parse(out, "again.yaml", dialplan.LoadOptions{KeepPasswords: true})
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, out)
	}
	if diff := cmp.Diff(d.Tenants[0].Inventory(), d2.Tenants[0].Inventory()); diff != "" {
		t.Errorf("round trip (-first +second):\n%s", diff)
	}
	// Routed nowhere: the view has no route for available or reserved numbers.
	snap, err := dialplan.Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := snap.TenantByNumber("+14155550108")
	if !ok {
		t.Fatal("a reserved number has no owner")
	}
	if tg, ok := v.Number("+14155550108"); ok {
		t.Errorf("reserved number routes to %v", tg)
	}
}

func TestInventoryYAMLProblems(t *testing.T) {
	for _, tt := range []struct{ entry, want string }{
		{`{status: reserved, target: "user:john"}`, `d.yaml:13: tenants[acme.example].numbers[+14155550199].target: a reserved number routes nowhere`},
		{`{status: assigned}`, `d.yaml:13: tenants[acme.example].numbers[+14155550199].target: status assigned needs a target`},
		{`{status: lost}`, `d.yaml:13: tenants[acme.example].numbers[+14155550199].status: status "lost": want available, reserved or assigned`},
		{`{status: available, target: "user:john"}`, `numbers[+14155550199].status: available: a number with a target is assigned`},
		{`{owner: bob}`, `d.yaml:13: tenants[acme.example].numbers[+14155550199].owner: unknown key "owner"`},
		{`{target: [a]}`, `numbers[+14155550199].target: want a single value`},
	} {
		doc := strings.Replace(inventoryYAML, `"+14155550110": {status: available}`, `"+14155550199": `+tt.entry, 1)
		_, err := dialplan.Parse([]byte(doc), "d.yaml", dialplan.LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("numbers entry %s: error %v, want it to contain %q", tt.entry, err, tt.want)
		}
	}
}
