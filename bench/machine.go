package main

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// machine describes where the run happened.
type machine struct {
	CPUs        int
	CPUModel    string
	Kernel      string
	OS          string
	MemTotal    string
	Go          string
	SIPp        string
	Kamailio    string
	Switchboard string
	LoadBefore  string
	Busy        string // other processes using CPU when the run started
}

func describeMachine(sipp, kamailio, sbBin string, sampleBusy bool) machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
				m.OS = strings.Trim(v, `"`)
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if n, err := parseStatusKB(b, "MemTotal"); err == nil {
			m.MemTotal = fmtBytes(n)
		}
	}
	if out, err := exec.Command("go", "version").Output(); err == nil {
		m.Go = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command(sipp, "-v").CombinedOutput(); err == nil || len(out) > 0 {
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "SIPp v") {
				m.SIPp = strings.TrimSpace(l)
				break
			}
		}
	}
	m.Kamailio = "not installed"
	if kamailio != "" {
		m.Kamailio = kamailioVersion(kamailio)
	}
	m.Switchboard = switchboardVersion(sbBin)
	m.LoadBefore = loadNow()
	if sampleBusy {
		m.Busy = busyProcesses()
	}
	return m
}

// loadNow is the load average line of /proc/loadavg.
func loadNow() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return strings.TrimSpace(string(b))
	}
	return strings.Join(f[:3], " ")
}

// busyProcesses samples every process's CPU time over two seconds and
// lists the busiest, so the report says what else was running.
func busyProcesses() string {
	sample := func() map[int]procSample {
		m := map[int]procSample{}
		entries, _ := filepath.Glob("/proc/[0-9]*/stat")
		for _, e := range entries {
			pid, err := strconv.Atoi(filepath.Base(filepath.Dir(e)))
			if err != nil || pid == os.Getpid() {
				continue
			}
			b, err := os.ReadFile(e)
			if err != nil {
				continue
			}
			st, err := parseStat(b)
			if err != nil {
				continue
			}
			name := ""
			if i, j := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')'); i >= 0 && j > i {
				name = string(b[i+1 : j])
			}
			m[pid] = procSample{name: name, cpu: st.CPU}
		}
		return m
	}
	const window = 2 * time.Second
	before := sample()
	time.Sleep(window)
	after := sample()
	type busy struct {
		name  string
		share float64
	}
	var bs []busy
	for pid, a := range after {
		if b, ok := before[pid]; ok && a.cpu > b.cpu {
			bs = append(bs, busy{a.name, float64(a.cpu-b.cpu) / float64(window) * 100})
		}
	}
	slices.SortFunc(bs, func(x, y busy) int { return cmp.Compare(y.share, x.share) })
	var out []string
	total := 0.0
	for i, b := range bs {
		total += b.share
		if i < 8 {
			out = append(out, fmt.Sprintf("%s %.0f%%", b.name, b.share))
		}
	}
	if len(out) == 0 {
		return "none (idle)"
	}
	return fmt.Sprintf("%.0f%% of one CPU in total: %s", total, strings.Join(out, ", "))
}

type procSample struct {
	name string
	cpu  time.Duration
}
