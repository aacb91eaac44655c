package main

import (
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Systems under test.
const (
	sysSwitchboard = "switchboard"
	sysKamailio    = "kamailio"
	sysSIPp        = "sipp" // SIPp UAC straight to a SIPp UAS: the load generator's ceiling
)

// stepResult is one offered rate held for one step.
type stepResult struct {
	Offered    float64
	Achieved   float64
	Created    int
	Successful int
	Failed     int
	Retrans    int
	P50, P99   float64       // ms, the scenario's reported response time
	ServerCPU  time.Duration // the server's processes (for sipp: the answering SIPp)
	LoadCPU    time.Duration // SIPp UAC + UAS
	PeakMem    int64         // bytes; 0 when not measured
	RedisCPU   time.Duration // the private redis-server's CPU over the step (-redis-compare)
	RedisMem   int64         // its VmHWM after the step, bytes; 0 without Redis
	Verdict    string        // "" = sustained
	Wall       time.Duration
	Load       string // 1-minute load average at the end of the step (ours included)
}

func (s stepResult) ok() bool { return s.Verdict == "" }

// cpuPer1k is CPU seconds per 1,000 successful operations.
func cpuPer1k(d time.Duration, ops int) float64 {
	if ops == 0 {
		return math.NaN()
	}
	return d.Seconds() / float64(ops) * 1000
}

// runResult is one system × scenario ladder.
type runResult struct {
	System, Scenario string
	Steps            []stepResult
	Skipped          string // why the ladder did not run
}

// best is the highest sustained step.
func (r runResult) best() (stepResult, bool) {
	var b stepResult
	found := false
	for _, s := range r.Steps {
		if s.ok() && (!found || s.Offered > b.Offered) {
			b, found = s, true
		}
	}
	return b, found
}

// bench holds what one run of the driver shares.
type bench struct {
	opt options
	// registerBest is each system's sustained register rate from its
	// ladder, for the scale curve's probe.
	registerBest map[string]float64
	sipp         string
	kamailio     string
	redis        string // redis-server binary; "" when not installed
	sbBin        string
	work         string // scratch root
	scenarios    string // folder of scenario XMLs
	inf          string // folder of injection files
	pop          population
	logf         func(format string, args ...any)
}

// uas is a long-running SIPp UAS.
type uas struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
	out  *limitedBuffer
}

func (u *uas) cpu() time.Duration {
	st, err := readStat(u.cmd.Process.Pid)
	if err != nil {
		return 0
	}
	return st.CPU
}

func (u *uas) alive() error {
	select {
	case <-u.done:
		return fmt.Errorf("SIPp UAS exited: %v\n%s", u.cmd.ProcessState, tail(u.out.String(), 1500))
	default:
		return nil
	}
}

func (u *uas) stop() {
	u.cmd.Process.Signal(syscall.SIGKILL)
	<-u.done
}

// startUAS starts a SIPp UAS on a free loopback port. With register set,
// it first registers every tenant's callee from that same port (so the
// bindings point at the UAS) through server addr.
func (b *bench) startUAS(ctx context.Context, scenarioFile, register string) (*uas, error) {
	port, err := freePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(b.work, "uas-")
	if err != nil {
		return nil, err
	}
	if register != "" {
		n := b.pop.Tenants
		res, err := runSIPp(ctx, b.sipp, sippRun{
			Scenario: filepath.Join(b.scenarios, "register.xml"), Remote: register, LocalIP: "127.0.0.1", Port: port,
			Inf: filepath.Join(b.inf, "callees.csv"), Rate: 100, Total: n, Dir: dir, CPU: b.opt.loadCPU(), Timeout: 60 * time.Second,
		})
		if err != nil {
			return nil, fmt.Errorf("register the callees: %w", err)
		}
		if res.Successful != n {
			return nil, fmt.Errorf("register the callees: %d of %d succeeded\n%s", res.Successful, n, res.Errors)
		}
	}
	out := &limitedBuffer{max: 16 << 10}
	r := sippRun{Scenario: filepath.Join(b.scenarios, scenarioFile), LocalIP: "127.0.0.1", Port: port, Dir: dir, CPU: b.opt.loadCPU()}
	cmd := r.command(context.WithoutCancel(ctx), b.sipp)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start SIPp UAS: %w", err)
	}
	u := &uas{cmd: cmd, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), done: make(chan struct{}), out: out}
	go func() { cmd.Wait(); close(u.done) }()
	time.Sleep(300 * time.Millisecond) // SIPp binds at once; give it a moment
	if err := u.alive(); err != nil {
		return nil, err
	}
	return u, nil
}

// runSystem runs every selected scenario's ladder against one system. Each
// scenario gets a fresh server (and callee), so one ladder's overload —
// retransmissions still queued, transactions still held — cannot leak into
// the next scenario's first steps.
func (b *bench) runSystem(ctx context.Context, system string) []runResult {
	var out []runResult
	for _, name := range b.opt.scenarios {
		sc, _ := scenarioByName(name)
		if ctx.Err() != nil {
			out = append(out, runResult{System: system, Scenario: name, Skipped: "interrupted"})
			continue
		}
		res, err := b.runScenario(ctx, system, sc)
		if err != nil {
			b.logf("  %s %s: %v", system, name, err)
			res = runResult{System: system, Scenario: name, Skipped: err.Error()}
		}
		out = append(out, res)
	}
	return out
}

// runScenario starts what one scenario needs on one system and runs its ladder.
func (b *bench) runScenario(ctx context.Context, system string, sc scenario) (runResult, error) {
	var srv *server
	var err error
	dir := filepath.Join(b.work, system+"-"+sc.Name)
	switch system {
	case sysSwitchboard:
		srv, err = startSwitchboard(ctx, switchboardOptions{Bin: b.sbBin, Dir: dir, Pop: b.pop, CPU: b.opt.serverCPU()})
	case sysKamailio:
		if b.kamailio == "" {
			return runResult{}, fmt.Errorf("kamailio not installed (apt-get install -y kamailio)")
		}
		srv, err = startKamailio(ctx, kamailioOptions{Bin: b.kamailio, Dir: dir, Pop: b.pop, CPU: b.opt.serverCPU(),
			Children: b.opt.kamChildren, ShmMB: b.opt.kamShm})
	}
	if err != nil {
		return runResult{}, err
	}
	var u *uas
	remote := ""
	switch {
	case srv != nil:
		defer srv.stop()
		remote = srv.addr
		if sc.UAS != "" {
			if u, err = b.startUAS(ctx, sc.UAS, srv.addr); err != nil {
				return runResult{}, err
			}
			defer u.stop()
		}
	default:
		if u, err = b.startUAS(ctx, sc.Direct, ""); err != nil {
			return runResult{}, err
		}
		defer u.stop()
		remote = u.addr
	}
	return b.ladder(ctx, system, sc, remote, srv, u), nil
}

// ladder steps one scenario's rate against remote until it fails.
func (b *bench) ladder(ctx context.Context, system string, sc scenario, remote string, srv *server, u *uas) runResult {
	res := runResult{System: system, Scenario: sc.Name}
	l := b.opt.ladderFor(sc.Name)
	passed := true
	for {
		rate, more := l.next(passed)
		if !more || ctx.Err() != nil {
			break
		}
		st, err := b.step(ctx, system, sc, remote, rate, srv, u)
		if err != nil {
			b.logf("  %s %s %.0f/s: %v", system, sc.Name, rate, err)
			st.Verdict = "error: " + firstLine(err.Error())
		}
		res.Steps = append(res.Steps, st)
		b.logf("  %-11s %-8s offered %6.0f/s achieved %6.0f/s  fail %d/%d  p50 %s p99 %s  cpu %.3f s/1k  %s",
			system, sc.Name, rate, st.Achieved, st.Failed, st.Created, fmtMS(st.P50), fmtMS(st.P99),
			cpuPer1k(st.ServerCPU, st.Successful), orOK(st.Verdict))
		passed = st.ok()
		if srv != nil && srv.alive() != nil {
			break
		}
		if u != nil && u.alive() != nil {
			b.logf("  %v", u.alive())
			break
		}
		pause := b.opt.cooldown
		if !passed {
			// Let an overloaded server work off its backlog (queued
			// datagrams, retransmissions) before the bisection step.
			pause = max(pause, 5*time.Second)
		}
		time.Sleep(pause)
	}
	return res
}

// step offers one rate for one step.
func (b *bench) step(ctx context.Context, system string, sc scenario, remote string, rate float64, srv *server, u *uas) (stepResult, error) {
	st := stepResult{Offered: rate}
	dir := filepath.Join(b.work, "steps", fmt.Sprintf("%s-%s-%.0f", system, sc.Name, rate))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return st, err
	}
	port, err := freePort(sc.LocalIP)
	if err != nil {
		return st, err
	}
	total := int(math.Ceil(rate * b.opt.step.Seconds()))
	var cpu0, uas0, redis0 time.Duration
	if srv != nil {
		cpu0 = srv.cpu()
		if srv.redis != nil {
			redis0 = srv.redis.cpu()
		}
	}
	if u != nil {
		uas0 = u.cpu()
	}
	r, err := runSIPp(ctx, b.sipp, sippRun{
		Scenario: filepath.Join(b.scenarios, sc.UAC), Remote: remote, LocalIP: sc.LocalIP, Port: port,
		Inf: filepath.Join(b.inf, sc.Inf), Rate: rate, Total: total, Hold: b.opt.hold, Dir: dir,
		CPU: b.opt.loadCPU(), Timeout: b.opt.step*3 + b.opt.hold + 30*time.Second,
	})
	var uasCPU time.Duration
	if u != nil {
		uasCPU = u.cpu() - uas0
	}
	st.Wall, st.Achieved, st.Load = r.Wall, r.Achieved, loadNow()
	st.Created, st.Successful, st.Failed, st.Retrans = r.Created, r.Successful, r.Failed, r.Retransmissions
	st.LoadCPU = r.CPU + uasCPU
	switch {
	case srv != nil:
		st.ServerCPU = srv.cpu() - cpu0
		st.PeakMem = srv.peakMemory()
		if srv.redis != nil {
			st.RedisCPU = srv.redis.cpu() - redis0
			st.RedisMem = srv.redis.peakMemory()
		}
	default:
		st.ServerCPU = uasCPU
	}
	if err != nil {
		return st, err
	}
	rt := r.RTD[sc.RTD]
	st.P50, st.P99 = percentile(rt, 50), percentile(rt, 99)
	st.Verdict = judge(rate, r, st.P99, b.opt.limits)
	if srv != nil {
		if err := srv.alive(); err != nil {
			st.Verdict = "server exited"
			return st, err
		}
	}
	return st, nil
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}

func orOK(v string) string {
	if v == "" {
		return "ok"
	}
	return v
}

// fmtMS prints a SIPp response time: SIPp measures in whole milliseconds.
func fmtMS(ms float64) string {
	if ms < 1 {
		return "<1 ms"
	}
	return strconv.FormatFloat(ms, 'f', 0, 64) + " ms"
}
