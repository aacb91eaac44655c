// Package e2e drives the built switchboard binary over loopback sockets:
// sipgo test phones, hand-written datagrams, the RFC 4475 torture messages and
// SIPp. Each test starts its own process on free ports.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// binary is the switchboard executable built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "switchboard-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "switchboard")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		// The binary under test gets the race detector too when the tests run with -race.
		args = append(args, "-race")
	}
	args = append(args, "./cmd/switchboard")
	cmd := exec.Command("go", args...)
	cmd.Dir = repoRoot()
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building switchboard:", err)
		return 1
	}
	return m.Run()
}

// repoRoot is the module root, one folder up from this file.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}
