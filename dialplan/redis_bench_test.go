package dialplan_test

import (
	"context"
	"testing"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/dialplan/storetest"
	"github.com/switchboard/switchboard/internal/redisconn"
	"github.com/switchboard/switchboard/internal/redistest"
)

func benchStores(b *testing.B) (*dialplan.MemoryStore, *dialplan.RedisStore) {
	ctx := context.Background()
	srv := redistest.Start(b)
	r := openRedis(b, srv.URL(), redisconn.Config{}, dialplan.RedisOptions{})
	m := dialplan.NewMemoryStore()
	for _, s := range []dialplan.Store{m, r} {
		if err := s.Replace(ctx, storetest.FixtureDirectory(b)); err != nil {
			b.Fatal(err)
		}
	}
	return m, r
}

// BenchmarkTenantLookup: the call path's directory read — memory store,
// Redis store cache hit (by domain and by number), and a Redis read-through.
func BenchmarkTenantLookup(b *testing.B) {
	ctx := context.Background()
	m, r := benchStores(b)
	if _, err := r.TenantByNumber(ctx, "+14155550101"); err != nil {
		b.Fatal(err)
	}
	b.Run("memory", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Tenant(ctx, "acme.example"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("redis-cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Tenant(ctx, "acme.example"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("redis-cached-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := r.Tenant(ctx, "acme.example"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("redis-cached-number", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.TenantByNumber(ctx, "+14155550101"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("redis-miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dialplan.InvalidateForTest(r, "acme.example")
			if _, err := r.Tenant(ctx, "acme.example"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
