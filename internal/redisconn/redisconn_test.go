package redisconn

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

func TestUniversalOptions(t *testing.T) {
	type want struct {
		Addrs              []string
		Master, User, Pass string
		DB                 int
		Cluster            bool
	}
	tests := []struct {
		url  string
		want want
	}{
		{"redis://127.0.0.1:6379/2", want{Addrs: []string{"127.0.0.1:6379"}, DB: 2}},
		{"redis-sentinel://u:pw@h1:26379,h2:26379/mymaster?db=1",
			want{Addrs: []string{"h1:26379", "h2:26379"}, Master: "mymaster", User: "u", Pass: "pw", DB: 1}},
		{"redis-cluster://h1:6379,h2:6379,h3:6379",
			want{Addrs: []string{"h1:6379", "h2:6379", "h3:6379"}, Cluster: true}},
		{"redis-cluster://u:pw@h1:6379/", want{Addrs: []string{"h1:6379"}, User: "u", Pass: "pw", Cluster: true}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			o, err := universalOptions(tt.url)
			if err != nil {
				t.Fatalf("universalOptions = %v", err)
			}
			got := want{Addrs: o.Addrs, Master: o.MasterName, User: o.Username, Pass: o.Password, DB: o.DB, Cluster: o.IsClusterMode}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("options mismatch (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{"redis-cluster:///", "redis-cluster://h1:6379/0", "memcached://h"} {
		if _, err := universalOptions(bad); err == nil {
			t.Errorf("universalOptions(%q) = nil error, want one", bad)
		}
	}
}

func TestOpenCluster(t *testing.T) {
	c, err := Open(Config{URL: "redis-cluster://:secret@127.0.0.1:1,127.0.0.1:2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Cluster() || c.KeyPrefix() != "{sb}:" {
		t.Errorf("Cluster() = %v, KeyPrefix() = %q; want true, {sb}:", c.Cluster(), c.KeyPrefix())
	}
	// The tight timeouts apply to every form.
	cc, ok := c.UniversalClient.(*redis.ClusterClient)
	if !ok {
		t.Fatalf("client is %T, want a *redis.ClusterClient", c.UniversalClient)
	}
	co := cc.Options()
	if co.ReadTimeout != DefaultTimeout || co.DialTimeout != DefaultTimeout || co.PoolTimeout != DefaultTimeout || co.MaxRetries != DefaultMaxRetries {
		t.Errorf("cluster timeouts = dial %v read %v pool %v retries %d; want %v and %d",
			co.DialTimeout, co.ReadTimeout, co.PoolTimeout, co.MaxRetries, DefaultTimeout, DefaultMaxRetries)
	}

	s, err := Open(Config{URL: "redis://127.0.0.1:1/0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Cluster() || s.KeyPrefix() != "sb:" {
		t.Errorf("single: Cluster() = %v, KeyPrefix() = %q; want false, sb:", s.Cluster(), s.KeyPrefix())
	}
}
