package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// scaleResult is one point of the scale curve: a fresh server, n phones
// registered once each, memory before and after.
type scaleResult struct {
	System     string
	Phones     int
	Offered    float64
	Achieved   float64
	Created    int
	Failed     int
	P99        float64
	CPU        time.Duration
	MemBefore  int64 // RSS (switchboard) or sum of PSS (Kamailio) after start
	MemAfter   int64 // the same after registering and settling
	HeapBefore int64 // Go heap in use after a forced GC (switchboard only)
	HeapAfter  int64
	// The probe: after the memory reading, already registered phones
	// refresh their bindings for one -step at ProbeRate, so the REGISTER
	// rate is measured against a full table of Phones.
	ProbeRate     float64
	ProbeAchieved float64
	ProbeFailed   int
	ProbeCreated  int
	ProbeP99      float64
	ProbeCPU      time.Duration
	Err           string
}

// perBinding is the memory growth per registered phone, from the Go heap
// when known, else from RSS/PSS.
func (s scaleResult) perBinding() (heap, rss float64) {
	if s.Phones == 0 {
		return 0, 0
	}
	if s.HeapAfter > 0 {
		heap = float64(s.HeapAfter-s.HeapBefore) / float64(s.Phones)
	}
	return heap, float64(s.MemAfter-s.MemBefore) / float64(s.Phones)
}

// scalePopulation spreads n phones over tenants of at most 1,000 users.
func scalePopulation(n int) population {
	t := (n + 999) / 1000
	return population{Tenants: t, Users: (n + t - 1) / t, Seed: "switchboard-bench-scale"}
}

func (b *bench) scalePoint(ctx context.Context, system string, n int) scaleResult {
	pop := scalePopulation(n)
	fill := b.fillRate(system)
	res := scaleResult{System: system, Phones: pop.total(), Offered: fill}
	dir := filepath.Join(b.work, fmt.Sprintf("scale-%s-%d", system, n))
	fail := func(err error) scaleResult { res.Err = firstLine(err.Error()); b.logf("  %v", err); return res }
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	f, err := os.Create(filepath.Join(dir, "register.csv"))
	if err != nil {
		return fail(err)
	}
	err = pop.writeRegisterCSV(f)
	f.Close()
	if err != nil {
		return fail(err)
	}
	var srv *server
	pprofAddr := ""
	switch system {
	case sysSwitchboard:
		port, err := freePort("127.0.0.1")
		if err != nil {
			return fail(err)
		}
		pprofAddr = fmt.Sprintf("127.0.0.1:%d", port)
		srv, err = startSwitchboard(ctx, switchboardOptions{Bin: b.sbBin, Dir: dir, Pop: pop, CPU: b.opt.serverCPU(), Pprof: pprofAddr})
		if err != nil {
			return fail(err)
		}
	case sysKamailio:
		srv, err = startKamailio(ctx, kamailioOptions{Bin: b.kamailio, Dir: dir, Pop: pop, CPU: b.opt.serverCPU(),
			Children: b.opt.kamChildren, ShmMB: b.opt.kamShm})
		if err != nil {
			return fail(err)
		}
	default:
		return fail(fmt.Errorf("no scale curve for %s", system))
	}
	defer srv.stop()
	if pprofAddr != "" {
		res.HeapBefore, _ = heapAfterGC(ctx, pprofAddr)
	}
	res.MemBefore = srv.memory()
	port, err := freePort("127.0.0.1")
	if err != nil {
		return fail(err)
	}
	cpu0 := srv.cpu()
	r, err := runSIPp(ctx, b.sipp, sippRun{
		Scenario: filepath.Join(b.scenarios, "register.xml"), Remote: srv.addr, LocalIP: "127.0.0.1", Port: port,
		Inf: filepath.Join(dir, "register.csv"), Rate: fill, Total: pop.total(), Dir: dir,
		CPU: b.opt.loadCPU(), Timeout: time.Duration(float64(pop.total())/fill*3)*time.Second + time.Minute,
	})
	res.CPU = srv.cpu() - cpu0
	if err != nil {
		return fail(err)
	}
	res.Achieved, res.Created, res.Failed = r.Achieved, r.Created, r.Failed
	res.P99 = percentile(r.RTD[2], 99)
	// Only switchboard holds REGISTER transactions (Timer J); Kamailio
	// answers statelessly and has nothing to wait for.
	settle := time.Duration(0)
	if system == sysSwitchboard {
		settle = b.opt.settle
	}
	b.logf("  %s %d phones: achieved %.0f/s, %d failed, p99 %s; settling %v", system, res.Phones, r.Achieved, r.Failed, fmtMS(res.P99), settle)
	select {
	case <-ctx.Done():
	case <-time.After(settle):
	}
	if pprofAddr != "" {
		res.HeapAfter, _ = heapAfterGC(ctx, pprofAddr)
	}
	res.MemAfter = srv.memory()
	if rate := b.probeRate(system); rate > 0 && ctx.Err() == nil {
		b.probe(ctx, &res, srv, dir, rate)
	}
	return res
}

// fillRate is -scale-rate, or with -scale-rate 0 half the system's
// sustained register rate from its ladder (first registrations create
// bindings, dearer than the ladder's refreshes), else 2,000/s.
func (b *bench) fillRate(system string) float64 {
	if b.opt.scaleRate > 0 {
		return b.opt.scaleRate
	}
	if r := b.registerBest[system]; r > 0 {
		return roundRate(0.5 * r)
	}
	return 2000
}

// probeRate is 80% of the system's sustained register rate from its ladder
// (so a full table is judged at a rate an empty one sustains), else
// -scale-rate.
func (b *bench) probeRate(system string) float64 {
	if b.registerBest != nil {
		if r := b.registerBest[system]; r > 0 {
			return roundRate(0.8 * r)
		}
	}
	return b.fillRate(system)
}

func (b *bench) probe(ctx context.Context, res *scaleResult, srv *server, dir string, rate float64) {
	pdir := filepath.Join(dir, "probe")
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		res.Err = firstLine(err.Error())
		return
	}
	port, err := freePort("127.0.0.1")
	if err != nil {
		res.Err = firstLine(err.Error())
		return
	}
	total := min(res.Phones, int(rate*b.opt.step.Seconds()))
	cpu0 := srv.cpu()
	r, err := runSIPp(ctx, b.sipp, sippRun{
		Scenario: filepath.Join(b.scenarios, "register.xml"), Remote: srv.addr, LocalIP: "127.0.0.1", Port: port,
		Inf: filepath.Join(dir, "register.csv"), Rate: rate, Total: total, Dir: pdir,
		CPU: b.opt.loadCPU(), Timeout: b.opt.step*3 + 30*time.Second,
	})
	res.ProbeCPU = srv.cpu() - cpu0
	res.ProbeRate = rate
	if err != nil {
		b.logf("  probe: %v", err)
	}
	res.ProbeAchieved, res.ProbeCreated, res.ProbeFailed = r.Achieved, r.Created, r.Failed
	res.ProbeP99 = percentile(r.RTD[2], 99)
	b.logf("  %s %d phones: probe %.0f/s offered, achieved %.0f/s, %d/%d failed, p99 %s, cpu %.3f s/1k", res.System, res.Phones,
		rate, r.Achieved, r.Failed, r.Created, fmtMS(res.ProbeP99), cpuPer1k(res.ProbeCPU, r.Created-r.Failed))
}

// heapAfterGC asks switchboard's pprof listener for a heap profile after a
// forced GC and returns its HeapAlloc.
func heapAfterGC(ctx context.Context, addr string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/debug/pprof/heap?gc=1&debug=1", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return parseHeapAlloc(resp.Body)
}

// parseHeapAlloc reads "# HeapAlloc = N" from a debug=1 heap profile.
func parseHeapAlloc(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "# HeapAlloc = "); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("heap profile: no HeapAlloc line")
}
