package admin

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/internal/redisconn"
	"github.com/switchboard/switchboard/internal/redistest"
)

// TestRevocationOnEveryInstance runs two API instances on one Redis (as two
// switchboard processes do): a token minted on A works on B, and once it is
// revoked on A, B refuses it on the very next request; a session opened on
// A and ended on B is gone on A too.
func TestRevocationOnEveryInstance(t *testing.T) {
	srv := redistest.Start(t)
	d, err := dialplan.Parse([]byte(testDirectory), "test.yaml", dialplan.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	instance := func() http.Handler {
		c, err := redisconn.Open(redisconn.Config{URL: srv.URL(), Timeout: time.Second, OpTimeout: 2 * time.Second}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		store := dialplan.NewMemoryStore() // the directory store is not under test here
		if err := store.Replace(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		api, err := NewAPI(APIConfig{Token: testToken, Directory: store, Accounts: dialplan.NewRedisAccounts(c, "revoke:"),
			Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return New(prometheus.NewRegistry(), func(context.Context) error { return nil }, nil, WithAPI(api)).srv.Handler
	}
	a, b := &apiEnv{h: instance()}, &apiEnv{h: instance()}
	id, tok := a.mint(t, "acme.example")
	c := client{bearer: tok}
	if code, body, _ := b.call(t, c, "GET", "/api/v1/tenants/acme.example/users", ""); code != 200 {
		t.Fatalf("token minted on A, used on B = %d %v", code, body)
	}
	if code, _, _ := a.call(t, provider, "DELETE", "/api/v1/tenants/acme.example/tokens/"+id, ""); code != 200 {
		t.Fatal("revoke on A")
	}
	if code, _, _ := b.call(t, c, "GET", "/api/v1/tenants/acme.example/users", ""); code != http.StatusUnauthorized {
		t.Errorf("revoked on A, used on B = %d, want 401", code)
	}

	sess := a.signIn(t, "acme.example", "pat@acme.example")
	if code, _, _ := b.call(t, sess, "GET", "/api/v1/session", ""); code != 200 {
		t.Fatalf("session from A on B = %d", code)
	}
	if code, _, _ := b.call(t, sess, "POST", "/api/v1/logout", ""); code != 200 {
		t.Fatal("logout on B")
	}
	if code, _, _ := a.call(t, sess, "GET", "/api/v1/session", ""); code != http.StatusUnauthorized {
		t.Errorf("session ended on B, used on A = %d, want 401", code)
	}
}
