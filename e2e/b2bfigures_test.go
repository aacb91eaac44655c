package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAttendantConcurrentFigures places N concurrent attendant calls that
// each hear the greeting for 2 s while streaming their own audio, then hang
// up, and reports what one call costs the server: CPU (from /proc/<pid>/stat),
// goroutines and RTP ports. It asserts only that everything comes back.
func TestAttendantConcurrentFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: this test runs 20 concurrent attendant calls for several seconds only to log CPU, goroutine and port figures")
	}
	const n = 20
	e := newB2BEnv(t)
	callers := make([]*mediaPhone, n)
	for i := range callers {
		callers[i] = newMediaPhone(t, e.srv, fmt.Sprintf("caller%d", i), "127.0.0.2", 0x11)
	}
	before := e.srv.metrics(t)
	cpu0 := procCPU(t, e.srv.cmd.Process.Pid)
	start := time.Now()
	for _, c := range callers {
		c.call(mainNumber, pstnCaller, nil)
	}
	for _, c := range callers {
		c.waitFinal(200, 10*time.Second)
	}
	waitUntil(t, 10*time.Second, "every caller hears the greeting", func() bool {
		for _, c := range callers {
			if c.received(0) < 100 {
				return false
			}
		}
		return true
	})
	during := e.srv.metrics(t)
	for _, c := range callers {
		c.bye()
	}
	e.wantIdle(t, nil)
	cpu := procCPU(t, e.srv.cmd.Process.Pid) - cpu0
	wall := time.Since(start)
	goroutines := during["go_goroutines"] - before["go_goroutines"]
	ports := before["switchboard_rtp_ports_available"] - during["switchboard_rtp_ports_available"]
	t.Logf("%d concurrent attendant calls for %v: server CPU %v (%.1f ms per call-second of greeting), %.1f goroutines and %.0f RTP port(s) per call",
		n, wall.Round(10*time.Millisecond), cpu, float64(cpu.Milliseconds())/(float64(n)*wall.Seconds()), goroutines/n, ports/n)
	// Goroutines of the calls are gone (sipgo keeps transactions a while).
	waitUntil(t, 40*time.Second, "goroutines back to the baseline", func() bool {
		return e.srv.metrics(t)["go_goroutines"] <= before["go_goroutines"]+5
	})
}

// procCPU is a process's user+system CPU time from /proc/<pid>/stat.
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	// Fields after the ")" of the command name: state is field 3, utime 14, stime 15.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// TestAttendantShutdownHangsUp stops the server during an attendant call:
// the caller gets a BYE and the process exits cleanly.
func TestAttendantShutdownHangsUp(t *testing.T) {
	t.Parallel()
	e := newB2BEnv(t)
	answerAndHearGreeting(t, e, mainNumber)
	if code := e.srv.stop(t, 10*time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if !e.pstn.gotBye() {
		t.Error("caller got no BYE at shutdown")
	}
}
