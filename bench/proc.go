package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Per-process figures from /proc. Machine-wide /proc/stat is unreliable on
// the VMs this runs on, so CPU is always read per process.

// clockTick is USER_HZ, the unit of utime and stime in /proc/<pid>/stat; it
// is 100 on every Linux architecture Go supports.
const clockTick = 100

// procStat is what the bench reads from /proc/<pid>/stat.
type procStat struct {
	PPid int
	CPU  time.Duration // utime + stime
}

// parseStat parses the contents of /proc/<pid>/stat. The command name may
// hold spaces and parentheses, so fields are counted from the last ')'.
func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("stat: no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("stat: %d fields after the command name, want at least 13", len(f))
	}
	ppid, err1 := strconv.Atoi(f[1])
	ut, err2 := strconv.ParseUint(f[11], 10, 64)
	st, err3 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return procStat{}, fmt.Errorf("stat: malformed ppid/utime/stime")
	}
	return procStat{PPid: ppid, CPU: time.Duration(ut+st) * time.Second / clockTick}, nil
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseStat(b)
}

// parseStatusKB returns a "Name:   1234 kB" field of /proc/<pid>/status or
// /proc/<pid>/smaps_rollup, in bytes.
func parseStatusKB(b []byte, name string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != name {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			break
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		if len(f) > 1 && f[1] != "kB" {
			return 0, fmt.Errorf("%s: unit %q, want kB", name, f[1])
		}
		return n << 10, nil
	}
	return 0, fmt.Errorf("%s: not found", name)
}

func readStatusKB(pid int, file, name string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, file))
	if err != nil {
		return 0, err
	}
	return parseStatusKB(b, name)
}

// processTree returns root and its descendants, as /proc lists them now.
func processTree(root int) []int {
	entries, _ := filepath.Glob("/proc/[0-9]*/stat")
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(e)))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(e)
		if err != nil {
			continue
		}
		if st, err := parseStat(b); err == nil {
			children[st.PPid] = append(children[st.PPid], pid)
		}
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// treeCPU is the CPU time used so far by the processes of pids (a process
// tree: Kamailio's main process and its workers, or one switchboard).
func treeCPU(pids []int) time.Duration {
	var sum time.Duration
	for _, p := range pids {
		if st, err := readStat(p); err == nil {
			sum += st.CPU
		}
	}
	return sum
}

// treePSS sums the proportional set size of pids, so memory shared by
// several processes (Kamailio's shared memory segment) is counted once.
func treePSS(pids []int) int64 {
	var sum int64
	for _, p := range pids {
		if n, err := readStatusKB(p, "smaps_rollup", "Pss"); err == nil {
			sum += n
		}
	}
	return sum
}
