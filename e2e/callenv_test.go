package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// callDirectory is the directory of the call tests: one user per forward
// kind, caller-ID choices, an alias, simultaneous and sequential groups (the
// sequential and "quick" ones ring 2 s so timeouts are short), an attendant
// on the main number and alice's direct number.
const callDirectory = `tenants:
  - domain: acme.example
    name: Acme Inc
    main_number: "+14155550100"
    users:
      - id: alice
        name: Alice Anders
        extensions: ["7001"]
        password: alice7001
        direct_number: "+14155550101"
        aliases: ["alice-support"]
        caller_id: direct
      - id: bob
        name: Bob Brown
        extensions: ["7002"]
        password: bob7002
        caller_id: main
      - id: carol
        name: Carol Chen
        extensions: ["7003"]
        password: carol7003
      - id: dave
        name: Dave Always
        extensions: ["7004"]
        password: dave7004
        forward: {number: "+14085550004", when: always}
      - id: erin
        name: Erin NoAnswer
        extensions: ["7005"]
        password: erin7005
        forward: {number: "+14085550005", when: no_answer, after: 2s}
      - id: frank
        name: Frank Busy
        extensions: ["7006"]
        password: frank7006
        forward: {number: "+14085550006", when: busy}
      - id: gina
        name: Gina Away
        extensions: ["7007"]
        password: gina7007
        forward: {number: "+14085550007", when: unregistered}
    groups:
      - id: sales
        extension: "7100"
        members: ["alice", "bob"]
        strategy: simultaneous
        ring: 20s
      - id: support
        extension: "7101"
        members: ["bob", "carol"]
        strategy: sequential
        ring: 2s
      - id: quick
        extension: "7102"
        members: ["carol"]
        strategy: simultaneous
        ring: 2s
    attendants:
      - id: main
        greeting: welcome
        options: {"1": "group:sales"}
        timeout: 5s
        fallback: "user:bob"
    numbers:
      "+14155550100": "attendant:main"
      "+14155550101": "user:alice"
`

var (
	erin  = user{"erin", "7005", "erin7005"}
	frank = user{"frank", "7006", "frank7006"}
)

// callEnv is a server with the call directory and a fake carrier on
// 127.0.0.2 as its trunk.
type callEnv struct {
	srv     *server
	carrier *peer
}

func newCallEnv(t *testing.T) *callEnv {
	t.Helper()
	carrier := newPeer(t, nil, "carrier", "127.0.0.2", "UDP")
	srv := start(t, options{Directory: callDirectory, Trunk: carrier.addr})
	carrier.srv = srv
	return &callEnv{srv: srv, carrier: carrier}
}

// phone is a registered UDP (or TCP) peer on 127.0.0.1 for aor.
func (e *callEnv) phone(t *testing.T, name, transport, aor string, u user) *peer {
	t.Helper()
	p := newPeer(t, e.srv, name, "127.0.0.1", transport)
	p.register(aor, u)
	return p
}

// Metric samples of the call tests.
func callsTotal(kind, result string) string {
	return fmt.Sprintf(`switchboard_calls_total{kind=%q,result=%q}`, kind, result)
}

func decisions(plan string) string {
	return fmt.Sprintf(`switchboard_routing_decisions_total{plan=%q}`, plan)
}

const callsActive = "switchboard_calls_active"

// wantMetrics polls /metrics until every sample has its value, then
// reports the ones that differ.
func (s *server) wantMetrics(t *testing.T, want map[string]float64, within time.Duration) {
	t.Helper()
	var got map[string]float64
	ok := poll(within, func() bool {
		got = s.metrics(t)
		for k, v := range want {
			if got[k] != v {
				return false
			}
		}
		return true
	})
	if ok {
		return
	}
	var diffs []string
	for k, v := range want {
		if got[k] != v {
			diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", k, got[k], v))
		}
	}
	sort.Strings(diffs)
	var calls []string
	for k, v := range got {
		if strings.HasPrefix(k, "switchboard_calls") || strings.HasPrefix(k, "switchboard_routing") {
			calls = append(calls, fmt.Sprintf("%s %v", k, v))
		}
	}
	sort.Strings(calls)
	t.Errorf("after %v:\n  %s\nall call metrics:\n  %s", within, strings.Join(diffs, "\n  "), strings.Join(calls, "\n  "))
}

// cdrs returns the CDR log lines the server wrote so far.
func (s *server) cdrs() []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s.stderr.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "cdr" {
			out = append(out, m)
		}
	}
	return out
}

// waitCDR waits for the CDR of a Call-ID.
func (s *server) waitCDR(t *testing.T, callID string, within time.Duration) map[string]any {
	t.Helper()
	var found map[string]any
	if !poll(within, func() bool {
		for _, m := range s.cdrs() {
			if m["call_id"] == callID {
				found = m
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no CDR line for call %s within %v", callID, within)
	}
	return found
}
