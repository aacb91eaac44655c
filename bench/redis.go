package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The -redis-compare run: the register ladder against switchboard with
// store.redis pointing at a private redis-server the driver starts on a free
// loopback port, next to the memory-store run. The shared Redis on 6379 is
// never touched.

// onlyRedisCompare is the -only value that runs just the comparison and
// splices its section into the existing -o file.
const (
	onlyRedisCompare = "redis-compare"
	onlyVoicemail    = "voicemail" // voicemail.go
)

// Markers around the comparison section, so -only redis-compare can replace
// it in a report written by an earlier full run.
const (
	redisBegin = "<!-- redis-compare:begin -->"
	redisEnd   = "<!-- redis-compare:end -->"
)

// redisServer is a private redis-server with no persistence.
type redisServer struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
	log  *limitedBuffer
}

// startRedis runs `redis-server --port P --bind 127.0.0.1 --save ""
// --appendonly no` on a free loopback port, pinned to cpu (-1: not pinned),
// in dir, and waits until it answers PING.
func startRedis(ctx context.Context, bin, dir string, cpu int) (*redisServer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var lastErr error
	for range 5 {
		port, err := freePort("127.0.0.1")
		if err != nil {
			return nil, err
		}
		name, argv := pinned(cpu, bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--protected-mode", "no", "--dir", dir)
		cmd := exec.Command(name, argv...)
		r := &redisServer{cmd: cmd, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			done: make(chan struct{}), log: &limitedBuffer{max: 16 << 10}}
		cmd.Stdout, cmd.Stderr = r.log, r.log
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start redis-server: %w", err)
		}
		go func() { cmd.Wait(); close(r.done) }()
		if lastErr = r.waitReady(ctx, 5*time.Second); lastErr == nil {
			return r, nil
		}
		r.stop()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return nil, fmt.Errorf("redis-server: %w", lastErr)
}

func (r *redisServer) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := redisPing(r.addr)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PONG from %s after %v: %w\n%s", r.addr, timeout, err, tail(r.log.String(), 1000))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.done:
			return fmt.Errorf("exited at start: %v\n%s", r.cmd.ProcessState, tail(r.log.String(), 1000))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func redisPing(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// url is the store.redis URL of database 0.
func (r *redisServer) url() string { return "redis://" + r.addr + "/0" }

// cpu is redis-server's CPU time so far (taskset execs it: same pid).
func (r *redisServer) cpu() time.Duration { return treeCPU([]int{r.cmd.Process.Pid}) }

// peakMemory is redis-server's VmHWM.
func (r *redisServer) peakMemory() int64 {
	n, _ := readStatusKB(r.cmd.Process.Pid, "status", "VmHWM")
	return n
}

// stop kills the server (no persistence: nothing to flush) and waits.
func (r *redisServer) stop() {
	r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
}

// redisCompare is the register ladder on both stores.
type redisCompare struct {
	Memory, Redis runResult
	Command       string    // set by -only: the section then stands apart from the rest of the file
	When          time.Time // when the comparison ran
}

// runRedisRegister runs the register ladder against a fresh switchboard whose
// store.redis is a private redis-server, both stopped afterwards.
func (b *bench) runRedisRegister(ctx context.Context) runResult {
	sc, _ := scenarioByName("register")
	fail := func(err error) runResult {
		b.logf("  switchboard+redis register: %v", err)
		return runResult{System: sysSwitchboard + "+redis", Scenario: sc.Name, Skipped: err.Error()}
	}
	if b.redis == "" {
		return fail(errors.New("redis-server not installed (apt-get install -y redis-server)"))
	}
	dir := filepath.Join(b.work, "switchboard-redis-register")
	// Redis is a third process: it shares CPU 1 with SIPp so the server
	// keeps CPU 0 to itself, as in the memory run.
	rs, err := startRedis(ctx, b.redis, filepath.Join(dir, "redis"), b.opt.loadCPU())
	if err != nil {
		return fail(err)
	}
	defer rs.stop()
	srv, err := startSwitchboard(ctx, switchboardOptions{Bin: b.sbBin, Dir: dir, Pop: b.pop, CPU: b.opt.serverCPU(), Redis: rs.url()})
	if err != nil {
		return fail(err)
	}
	defer srv.stop()
	srv.redis = rs
	// Warm-up, not reported: one REGISTER per tenant (its callee) at 100/s
	// loads every tenant's view into switchboard's directory cache, then 1 s
	// of the register scenario at the ladder's first rate. Started cold, the
	// first ~0.5 s at 1,000/s answered in up to 150 ms (with the cache
	// cold, some REGISTERs past the store timeout: 503): a start-up
	// transient, not the steady state the ladder measures.
	if err := b.warmUp(ctx, srv.addr, filepath.Join(dir, "warmup")); err != nil {
		return fail(err)
	}
	res := b.ladder(ctx, sysSwitchboard+"+redis", sc, srv.addr, srv, nil)
	res.System = sysSwitchboard + "+redis"
	return res
}

// warmUp registers every tenant's callee once through addr, then runs the
// register scenario for 1 s at the ladder's first rate; nothing is kept.
func (b *bench) warmUp(ctx context.Context, addr, dir string) error {
	n := b.pop.Tenants
	rate := b.opt.starts["register"]
	for i, w := range []struct {
		inf   string
		rate  float64
		total int
	}{{"callees.csv", 100, n}, {"register.csv", rate, int(math.Ceil(rate))}} {
		d := filepath.Join(dir, strconv.Itoa(i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		port, err := freePort("127.0.0.1")
		if err != nil {
			return err
		}
		res, err := runSIPp(ctx, b.sipp, sippRun{
			Scenario: filepath.Join(b.scenarios, "register.xml"), Remote: addr, LocalIP: "127.0.0.1", Port: port,
			Inf: filepath.Join(b.inf, w.inf), Rate: w.rate, Total: w.total, Dir: d, CPU: b.opt.loadCPU(), Timeout: 60 * time.Second,
		})
		if err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		if i == 0 && res.Successful != n {
			return fmt.Errorf("warm-up: %d of %d REGISTERs succeeded\n%s", res.Successful, n, res.Errors)
		}
	}
	time.Sleep(b.opt.cooldown)
	return nil
}

// redisCompareMarkdown is the comparison section, markers included.
func (r *report) redisCompareMarkdown() string {
	c := r.RedisCompare
	if c == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(redisBegin + "\n")
	b.WriteString("## REGISTER: Redis location vs memory\n\n")
	if c.Command != "" {
		fmt.Fprintf(&b, "Updated on its own (%s) with `%s`; the rest of this file comes from the run above.\n\n",
			c.When.UTC().Format("2006-01-02 15:04 MST"), c.Command)
	}
	pin := "not pinned (-pin=false)"
	if r.Options.pin {
		pin = "switchboard on CPU 0; redis-server is a third process, pinned to CPU 1 with SIPp so the server keeps CPU 0 to itself"
	}
	fmt.Fprintf(&b, "The register ladder twice, on a fresh switchboard each time: the embedded memory store, then `store.redis` pointing at a private redis-server the driver starts on a free loopback port (`--save \"\" --appendonly no`, killed afterwards; the directory is imported into it at start, so credentials as well as bindings are read from Redis). Before its ladder the Redis run warms up, unreported: each tenant's callee registers once at 100/s (every tenant's view then sits in switchboard's directory cache), then 1 s of the register scenario at the ladder's first rate. Started cold, the first ~0.5 s at 1,000/s answered in up to 150 ms and, with the cache cold, about 0.2%% of REGISTERs got 503 (store timeout) — a start-up transient, not the steady state measured here. Same ladder, same users, same limits; %s. Redis CPU is utime+stime from /proc/<pid>/stat of redis-server over the step, per 1,000 registrations; peak memory is switchboard's VmHWM (redis-server's in brackets).\n\n", pin)
	b.WriteString("| Store | Max sustained REGISTER/s | p50 | p99 | Server CPU s / 1k | Redis CPU s / 1k | Server + Redis CPU s / 1k | Peak memory | Next step failed by |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	type row struct {
		best stepResult
		ok   bool
	}
	rows := map[string]row{}
	for _, x := range []struct {
		name string
		run  runResult
	}{{"memory", c.Memory}, {"redis", c.Redis}} {
		if x.run.Skipped != "" {
			fmt.Fprintf(&b, "| %s | skipped | | | | | | | %s |\n", x.name, mdEscape(firstLine(x.run.Skipped)))
			continue
		}
		best, ok := x.run.best()
		if !ok {
			first := 0.0
			if len(x.run.Steps) > 0 {
				first = x.run.Steps[0].Offered
			}
			fmt.Fprintf(&b, "| %s | < %s | | | | | | | %s |\n", x.name, fmtRate(first), mdEscape(stopReason(x.run)))
			continue
		}
		rows[x.name] = row{best, true}
		redisCPU, total, mem := "—", fmtCPU(cpuPer1k(best.ServerCPU, best.Successful)), fmtBytes(best.PeakMem)
		if x.name == "redis" {
			redisCPU = fmtCPU(cpuPer1k(best.RedisCPU, best.Successful))
			total = fmtCPU(cpuPer1k(best.ServerCPU+best.RedisCPU, best.Successful))
			if best.RedisMem > 0 {
				mem += " (" + fmtBytes(best.RedisMem) + ")"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", x.name, fmtRate(best.Offered),
			fmtMS(best.P50), fmtMS(best.P99), fmtCPU(cpuPer1k(best.ServerCPU, best.Successful)), redisCPU, total, mem,
			mdEscape(stopReason(x.run)))
	}
	m, r2 := rows["memory"], rows["redis"]
	if m.ok && r2.ok {
		fmt.Fprintf(&b, "\nRedis / memory: throughput %s (highest rates sustained), server peak memory %s.\n",
			ratio(r2.best.Offered, m.best.Offered), ratio(float64(r2.best.PeakMem), float64(m.best.PeakMem)))
	} else {
		b.WriteString("\nRedis / memory: — (a ladder sustained no rate).\n")
	}
	// Latency and CPU per operation compared rate for rate: the maxima
	// differ, and p99 grows near each system's own limit.
	b.WriteString("\n| Offered/s (both sustained) | p99 memory → Redis | p99 Redis / memory | Server CPU per op Redis / memory | Server + Redis CPU per op Redis / memory |\n|---:|---:|---:|---:|---:|\n")
	same := 0
	for _, ms := range c.Memory.Steps {
		for _, rs := range c.Redis.Steps {
			if ms.Offered != rs.Offered || !ms.ok() || !rs.ok() {
				continue
			}
			same++
			mCPU := cpuPer1k(ms.ServerCPU, ms.Successful)
			fmt.Fprintf(&b, "| %s | %s → %s | %s | %s | %s |\n", fmtRate(ms.Offered), fmtMS(ms.P99), fmtMS(rs.P99),
				ratio(max(rs.P99, 0.5), max(ms.P99, 0.5)), ratio(cpuPer1k(rs.ServerCPU, rs.Successful), mCPU),
				ratio(cpuPer1k(rs.ServerCPU+rs.RedisCPU, rs.Successful), mCPU))
		}
	}
	if same == 0 {
		b.WriteString("| — | | | | |\n")
	}
	b.WriteString("\nEvery step:\n\n| Store | Offered/s | Achieved/s | Created | Failed | Retrans | p50 | p99 | Server CPU s/1k | Redis CPU s/1k | Verdict |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, x := range []struct {
		name string
		run  runResult
	}{{"memory", c.Memory}, {"redis", c.Redis}} {
		for _, s := range x.run.Steps {
			redisCPU := "—"
			if x.name == "redis" {
				redisCPU = fmtCPU(cpuPer1k(s.RedisCPU, s.Successful))
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %d | %s | %s | %s | %s | %s |\n", x.name, fmtRate(s.Offered), fmtRate(s.Achieved),
				s.Created, s.Failed, s.Retrans, fmtMS(s.P50), fmtMS(s.P99), fmtCPU(cpuPer1k(s.ServerCPU, s.Successful)), redisCPU,
				mdEscape(orOK(s.Verdict)))
		}
	}
	b.WriteString("\n" + redisEnd + "\n")
	return b.String()
}

// spliceSection replaces the marked section of doc with section (markers
// included in both). Without markers, section goes before the "## Scale
// curve" heading, else before "## Every step", else at the end. The rest
// of doc is kept byte for byte.
func spliceSection(doc, section string) (string, error) {
	if i := strings.Index(doc, redisBegin); i >= 0 {
		j := strings.Index(doc[i:], redisEnd)
		if j < 0 {
			return "", fmt.Errorf("%s without %s", redisBegin, redisEnd)
		}
		end := i + j + len(redisEnd)
		if end < len(doc) && doc[end] == '\n' {
			end++
		}
		return doc[:i] + section + doc[end:], nil
	}
	if strings.Contains(doc, redisEnd) {
		return "", fmt.Errorf("%s without %s", redisEnd, redisBegin)
	}
	for _, h := range []string{"## Scale curve", "## Every step"} {
		if i := headingAt(doc, h); i >= 0 {
			return doc[:i] + section + "\n" + doc[i:], nil
		}
	}
	if doc != "" && !strings.HasSuffix(doc, "\n") {
		doc += "\n"
	}
	if doc != "" {
		doc += "\n"
	}
	return doc + section, nil
}

// headingAt is the offset of a line starting with heading, or -1.
func headingAt(doc, heading string) int {
	for off := 0; off < len(doc); {
		line := doc[off:]
		if k := strings.IndexByte(line, '\n'); k >= 0 {
			line = line[:k]
		}
		if line == heading || strings.HasPrefix(line, heading+" ") {
			return off
		}
		off += len(line) + 1
	}
	return -1
}

// writeRedisCompare splices the comparison section into the file at path
// (created when missing).
func writeRedisCompare(path, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	doc, err := spliceSection(string(old), section)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}
