package dialplan_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/dialplan/storetest"
	"github.com/switchboard/switchboard/internal/redisconn"
	"github.com/switchboard/switchboard/internal/redistest"
)

func TestAccountsConformance(t *testing.T) {
	srv := redistest.Start(t)
	tests := []struct {
		name string
		open func(t *testing.T) dialplan.Accounts
	}{
		{"memory", func(*testing.T) dialplan.Accounts { return dialplan.NewMemoryAccounts() }},
		{"redis", func(t *testing.T) dialplan.Accounts {
			c, err := redisconn.Open(redisconn.Config{URL: srv.URL(), Timeout: 500 * time.Millisecond, OpTimeout: time.Second}, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return dialplan.NewRedisAccounts(c, fmt.Sprintf("acct%d:", prefixes.Add(1)))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { storetest.RunAccounts(t, tt.open) })
	}
}
