package main

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/internal/redistest"
)

// On Redis Cluster every key openStores writes carries the {sb}: hash tag:
// the directory, the location service and the nonce secret agree on it.
func TestOpenStoresClusterPrefix(t *testing.T) {
	srv := redistest.StartCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var cfg config.Config
	cfg.Store.Redis = srv.URL()
	cfg.Store.Timeout = 500 * time.Millisecond
	cfg.SIP.Realm = "example.com"
	dir := &dialplan.Directory{Tenants: []*dialplan.Tenant{{Domain: "example.com"}}}
	st, err := openStores(ctx, cfg, dir, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if len(st.nonceSecret) != nonceSecretLen {
		t.Fatalf("nonce secret of %d bytes", len(st.nonceSecret))
	}
	rdb, err := openRedis(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	keys, err := rdb.Keys(ctx, "*").Result() // one node holds every slot
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"{sb}:auth:secret", "{sb}:version", "{sb}:tenants", "{sb}:tenant:example.com"} {
		if !slices.Contains(keys, want) {
			t.Errorf("key %s missing; keys = %q", want, keys)
		}
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "{sb}:") {
			t.Errorf("key %q lacks the {sb}: prefix", k)
		}
	}
}
