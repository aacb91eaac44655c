package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// profileResult is what the pprof profiles of switchboard under load say.
type profileResult struct {
	CallRate, RegRate float64
	Dir               string // where cpu.pprof, allocs-*.pprof and the binary are
	CPU               []pprofEntry
	CPUCum            []pprofEntry // ours only, by cumulative
	Alloc             []pprofEntry
	AllocCum          []pprofEntry // ours only, by cumulative
	CPUByOwner        map[string]float64
	AllocByOwner      map[string]float64
	CPUTotal          string
	AllocTotal        string
	Err               string
}

// pprofEntry is one line of `go tool pprof -top`.
type pprofEntry struct {
	Flat, FlatPct, Cum, CumPct string
	flatPct, cumPct            float64
	Func                       string
}

// owner sorts a function into ours, sipgo's, the Go runtime's or others'.
func owner(fn string) string {
	switch {
	case strings.HasPrefix(fn, "github.com/switchboard/switchboard/"):
		return "switchboard"
	case strings.HasPrefix(fn, "github.com/emiago/sipgo"):
		return "sipgo"
	case strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "internal/runtime") || strings.HasPrefix(fn, "gcWriteBarrier"):
		return "runtime"
	case strings.HasPrefix(fn, "syscall.") || strings.HasPrefix(fn, "internal/poll.") || strings.HasPrefix(fn, "net.") ||
		strings.HasPrefix(fn, "os.") || strings.HasPrefix(fn, "internal/syscall"):
		return "syscalls/net"
	case strings.HasPrefix(fn, "runtime/pprof"):
		return "profiler"
	case strings.HasPrefix(fn, "github.com/prometheus/"):
		return "prometheus"
	case strings.HasPrefix(fn, "log/slog") || strings.HasPrefix(fn, "log."):
		return "logging"
	}
	return "stdlib/other"
}

// parsePprofTop parses `go tool pprof -top` output: a few header lines, a
// "flat flat% sum% cum cum%" column line, then one line per function.
func parsePprofTop(r io.Reader) (total string, entries []pprofEntry, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	inTable := false
	for sc.Scan() {
		line := sc.Text()
		if !inTable {
			if strings.Contains(line, "% of ") && total == "" {
				// "Showing nodes accounting for 8.20s, 97.62% of 8.40s total"
				if i := strings.Index(line, "% of "); i >= 0 {
					total = strings.TrimSuffix(strings.TrimSpace(line[i+5:]), " total")
				}
			}
			f := strings.Fields(line)
			if len(f) >= 5 && f[0] == "flat" && f[1] == "flat%" {
				inTable = true
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		e := pprofEntry{Flat: f[0], FlatPct: f[1], Cum: f[3], CumPct: f[4], Func: strings.Join(f[5:], " ")}
		e.flatPct, err = strconv.ParseFloat(strings.TrimSuffix(e.FlatPct, "%"), 64)
		if err != nil {
			return total, entries, fmt.Errorf("pprof line %q: %w", line, err)
		}
		e.cumPct, err = strconv.ParseFloat(strings.TrimSuffix(e.CumPct, "%"), 64)
		if err != nil {
			return total, entries, fmt.Errorf("pprof line %q: %w", line, err)
		}
		entries = append(entries, e)
	}
	if !inTable {
		return total, nil, fmt.Errorf("pprof -top: no table in output")
	}
	return total, entries, sc.Err()
}

// byOwner sums flat percentages per owner.
func byOwner(es []pprofEntry) map[string]float64 {
	m := map[string]float64{}
	for _, e := range es {
		m[owner(e.Func)] += e.flatPct
	}
	return m
}

func ours(es []pprofEntry, n int) []pprofEntry {
	var out []pprofEntry
	for _, e := range es {
		if owner(e.Func) == "switchboard" {
			out = append(out, e)
			if len(out) == n {
				break
			}
		}
	}
	return out
}

func firstN(es []pprofEntry, n int) []pprofEntry { return es[:min(n, len(es))] }

// profileSwitchboard loads a fresh switchboard with registrations and calls
// at about 40% of the highest sustained rates found (or fixed moderate rates
// when none were), takes a CPU profile meanwhile and the allocation profile
// after it.
func (b *bench) profileSwitchboard(ctx context.Context, rep *report) *profileResult {
	p := &profileResult{CallRate: 100, RegRate: 200, Dir: b.opt.profileDir}
	for _, r := range rep.Runs {
		if best, ok := r.best(); ok && r.System == sysSwitchboard {
			switch r.Scenario {
			case "call":
				p.CallRate = roundRate(max(50, 0.4*best.Offered))
			case "register":
				p.RegRate = roundRate(max(100, 0.4*best.Offered))
			}
		}
	}
	if p.Dir == "" {
		p.Dir = filepath.Join(b.work, "profile")
	}
	fail := func(err error) *profileResult { p.Err = firstLine(err.Error()); b.logf("  profile: %v", err); return p }
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return fail(err)
	}
	port, err := freePort("127.0.0.1")
	if err != nil {
		return fail(err)
	}
	pprofAddr := fmt.Sprintf("127.0.0.1:%d", port)
	srv, err := startSwitchboard(ctx, switchboardOptions{Bin: b.sbBin, Dir: filepath.Join(b.work, "profile-sb"),
		Pop: b.pop, CPU: b.opt.serverCPU(), Pprof: pprofAddr})
	if err != nil {
		return fail(err)
	}
	defer srv.stop()
	callee, err := b.startUAS(ctx, "uas.xml", srv.addr)
	if err != nil {
		return fail(err)
	}
	defer callee.stop()
	base := "http://" + pprofAddr + "/debug/pprof/"
	// gc=1: the allocation profile is only brought up to date by a GC; without
	// one the directory load would show up as allocated during the load.
	if err := fetch(ctx, base+"allocs?gc=1", filepath.Join(p.Dir, "allocs-before.pprof")); err != nil {
		return fail(err)
	}
	load := b.opt.profileFor + 3*time.Second
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, sc := range []struct {
		file, inf string
		rate      float64
	}{{"uac_call.xml", "call.csv", p.CallRate}, {"register.xml", "register.csv", p.RegRate}} {
		port, err := freePort("127.0.0.1")
		if err != nil {
			return fail(err)
		}
		dir := filepath.Join(b.work, "profile-load-"+strconv.Itoa(i))
		os.MkdirAll(dir, 0o755)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = runSIPp(ctx, b.sipp, sippRun{Scenario: filepath.Join(b.scenarios, sc.file), Remote: srv.addr,
				LocalIP: "127.0.0.1", Port: port, Inf: filepath.Join(b.inf, sc.inf), Rate: sc.rate,
				Total: int(sc.rate * load.Seconds()), Hold: b.opt.hold, Dir: dir, CPU: b.opt.loadCPU(), Timeout: load + time.Minute})
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	cpuErr := fetch(ctx, fmt.Sprintf("%sprofile?seconds=%d", base, int(b.opt.profileFor.Seconds())), filepath.Join(p.Dir, "cpu.pprof"))
	wg.Wait()
	if cpuErr != nil {
		return fail(cpuErr)
	}
	for _, err := range errs {
		if err != nil {
			return fail(err)
		}
	}
	if err := fetch(ctx, base+"allocs?gc=1", filepath.Join(p.Dir, "allocs-after.pprof")); err != nil {
		return fail(err)
	}
	bin := filepath.Join(p.Dir, "switchboard")
	if bin != b.sbBin {
		if data, err := os.ReadFile(b.sbBin); err == nil {
			os.WriteFile(bin, data, 0o755)
		}
	}
	top := func(args ...string) (string, []pprofEntry, error) {
		out, err := exec.CommandContext(ctx, "go", append([]string{"tool", "pprof", "-top", "-nodecount=400"}, args...)...).Output()
		if err != nil {
			return "", nil, fmt.Errorf("go tool pprof %s: %w", strings.Join(args, " "), err)
		}
		return parsePprofTop(strings.NewReader(string(out)))
	}
	cpuProf := filepath.Join(p.Dir, "cpu.pprof")
	// Bytes allocated since start: the load dominates; the directory load
	// and prompt decoding at start show up as dialplan/media entries.
	// (-diff_base against allocs-before.pprof would isolate the load, but
	// pprof's percentages of a difference do not add up.)
	allocArgs := []string{"-sample_index=alloc_space", bin, filepath.Join(p.Dir, "allocs-after.pprof")}
	var all []pprofEntry
	if p.CPUTotal, all, err = top(bin, cpuProf); err != nil {
		return fail(err)
	}
	p.CPU, p.CPUByOwner = firstN(all, 20), byOwner(all)
	if _, all, err = top(append([]string{"-cum"}, bin, cpuProf)...); err != nil {
		return fail(err)
	}
	p.CPUCum = ours(all, 15)
	if p.AllocTotal, all, err = top(allocArgs...); err != nil {
		return fail(err)
	}
	p.Alloc, p.AllocByOwner = firstN(all, 15), byOwner(all)
	if _, all, err = top(append([]string{"-cum"}, allocArgs...)...); err != nil {
		return fail(err)
	}
	p.AllocCum = ours(all, 15)
	return p
}

func fetch(ctx context.Context, url, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
