package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// requirePeers makes a missing SIPp a failure instead of a skip; CI sets it.
// Kamailio stays optional even then: CI need not install it.
func requirePeers() bool { return os.Getenv("SWITCHBOARD_REQUIRE_PEERS") == "1" }

// TestSmoke runs the driver end to end at one low-rate step per scenario
// (20 ops/s for 2 s) and checks that SIPp's output parsed into figures. It
// keeps the driver working; it measures nothing.
func TestSmoke(t *testing.T) {
	if _, err := exec.LookPath("sipp"); err != nil {
		if requirePeers() {
			t.Fatal("sipp not installed and SWITCHBOARD_REQUIRE_PEERS=1 (apt-get install -y sip-tester)")
		}
		t.Skip("sipp not installed (apt-get install -y sip-tester; SWITCHBOARD_REQUIRE_PEERS=1 fails instead)")
	}
	if testing.Short() {
		t.Skip("-short: the smoke run drives switchboard with SIPp for about 10 s")
	}
	for _, system := range []string{sysSwitchboard, sysKamailio} {
		t.Run(system, func(t *testing.T) {
			if system == sysKamailio {
				if _, err := exec.LookPath("kamailio"); err != nil {
					t.Skip("kamailio not installed (apt-get install -y kamailio)")
				}
			}
			t.Parallel()
			smoke(t, system)
		})
	}
}

func smoke(t *testing.T, system string) {
	opt, err := parseFlags([]string{"-systems", system, "-tenants", "2", "-users", "20",
		"-step", "2s", "-hold", "50ms", "-cooldown", "0s", "-refine", "0", "-pin=false",
		"-start", "register=20,call=20,did=20", "-max", "register=20,call=20,did=20",
		"-scale", "", "-gobench=false", "-profile=false", "-voicemail", "0", // voicemail_test.go smokes that one
		// The smoke run checks that the driver works, not how fast anything
		// is: a loaded CI machine must not turn a slow step into a failure.
		"-max-p99", "60000"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	opt.noBusy = true
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var log strings.Builder
	rep, err := execute(ctx, opt, "smoke", &log)
	if err != nil {
		t.Fatalf("execute: %v\n%s", err, log.String())
	}
	if len(rep.Runs) != 3 {
		t.Fatalf("runs = %d, want 3 (one per scenario)\n%s", len(rep.Runs), log.String())
	}
	var serverCPU time.Duration
	for _, run := range rep.Runs {
		if run.Skipped != "" {
			t.Errorf("%s %s skipped: %s", run.System, run.Scenario, run.Skipped)
			continue
		}
		if len(run.Steps) != 1 {
			t.Errorf("%s %s: %d steps, want 1", run.System, run.Scenario, len(run.Steps))
			continue
		}
		s := run.Steps[0]
		if !s.ok() || s.Created != 40 || s.Successful != 40 {
			t.Errorf("%s %s: verdict %q, %d created, %d successful; want ok, 40, 40", run.System, run.Scenario, s.Verdict, s.Created, s.Successful)
		}
		if s.Achieved < 10 || s.Achieved > 30 {
			t.Errorf("%s %s: achieved %.1f/s from the rtt file, want about 20", run.System, run.Scenario, s.Achieved)
		}
		// 40 operations may take less than one 10 ms clock tick of a
		// fast server, so its CPU is checked over all the steps below.
		serverCPU += s.ServerCPU
		if s.ServerCPU < 0 || s.LoadCPU <= 0 || s.PeakMem <= 0 {
			t.Errorf("%s %s: server CPU %v, SIPp CPU %v, peak memory %d; want >= 0, > 0, > 0", run.System, run.Scenario, s.ServerCPU, s.LoadCPU, s.PeakMem)
		}
	}
	if serverCPU <= 0 {
		t.Errorf("%s: no server CPU time measured over all steps", system)
	}
	// With redis-server installed, -redis-compare defaults on: the register
	// step runs again with store.redis on a private redis-server.
	if _, err := exec.LookPath("redis-server"); err == nil && system == sysSwitchboard {
		c := rep.RedisCompare
		switch {
		case c == nil:
			t.Errorf("no redis comparison although redis-server is installed")
		case c.Redis.Skipped != "":
			t.Errorf("redis register skipped: %s", c.Redis.Skipped)
		case len(c.Redis.Steps) != 1 || !c.Redis.Steps[0].ok() || c.Redis.Steps[0].Successful != 40:
			t.Errorf("redis register steps %+v, want one ok step of 40", c.Redis.Steps)
		case c.Redis.Steps[0].RedisMem <= 0 || c.Redis.Steps[0].RedisCPU < 0:
			t.Errorf("redis-server CPU %v, peak memory %d; want >= 0, > 0", c.Redis.Steps[0].RedisCPU, c.Redis.Steps[0].RedisMem)
		}
		if !strings.Contains(rep.markdown(), "| redis | 20 |") {
			t.Errorf("report lacks the redis row:\n%s", rep.redisCompareMarkdown())
		}
	}
	md := rep.markdown()
	for _, want := range []string{"| register | " + system + " | 20 |", "| call | " + system + " | 20 |", "| did | " + system + " | 20 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, rep.summaryMarkdown())
		}
	}
	if t.Failed() {
		t.Logf("driver log:\n%s", log.String())
	}
}
