package admin

import (
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/switchboard/switchboard/dialplan"
)

// TestOpenAPIDocumentsEveryRoute keeps docs/openapi.yaml in step with the
// routes registered on the API's mux, both ways.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	data, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Servers []struct{ URL string }
		Paths   map[string]map[string]any
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	if len(doc.Servers) == 0 || !strings.HasSuffix(doc.Servers[0].URL, APIPrefix) {
		t.Errorf("servers[0].url = %v, want it to end in %s", doc.Servers, APIPrefix)
	}
	api, err := NewAPI(APIConfig{Token: "t", Directory: dialplan.NewMemoryStore()})
	if err != nil {
		t.Fatal(err)
	}
	registered := map[string]bool{}
	for _, r := range api.Routes() {
		key := strings.ToLower(r.Method) + " " + r.Path
		registered[key] = true
		if _, ok := doc.Paths[r.Path][strings.ToLower(r.Method)]; !ok {
			t.Errorf("route %s %s is not documented in docs/openapi.yaml", r.Method, r.Path)
		}
	}
	for path, ops := range doc.Paths {
		for op := range ops {
			if op == "parameters" {
				continue
			}
			if !registered[op+" "+path] {
				t.Errorf("docs/openapi.yaml documents %s %s, which is not a route", strings.ToUpper(op), path)
			}
		}
	}
	if len(registered) < 20 || !slices.ContainsFunc(api.Routes(), func(r Route) bool { return r.Path == "/tenants/{domain}/users/import" }) {
		t.Errorf("Routes() = %v, want every endpoint", api.Routes())
	}
}
