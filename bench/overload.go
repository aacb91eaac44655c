package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The overload curve offers the sustained register rate R, then 2×R, then R
// again, on a fresh switchboard, and samples it every second: issue 12 asks
// that memory stays bounded while it sheds and that it recovers at once.
// Each phase is its own SIPp process started on the clock, so the calls the
// 2×R phase leaves behind (retransmitting until they time out) overlap the
// last phase as they would on a real server.

type overloadSample struct {
	T        float64 // seconds since the first phase started
	Offered  float64 // the phase's rate
	Achieved float64 // REGISTER 200s per second (server metrics)
	Failures float64 // REGISTER responses ≥ 500 per second
	Dropped  float64 // switchboard_sip_overload_dropped_total per second
	Kernel   float64 // switchboard_sip_udp_receive_drops_total per second
	CPU      float64 // the server's CPU time over the second, in cores
	RSS      int64
	HWM      int64
}

type overloadResult struct {
	Rate    float64 // R
	Given   bool    // R came from -overload-rate, not the ladder
	Phase   time.Duration
	Samples []overloadSample
	// Phases are SIPp's own counts per phase: the server's 200s overcount
	// completed registrations under overload, since a retransmitted
	// REGISTER is answered again (statelessly) and each answer is a 200.
	Phases []sippResult
	Err    string
}

// overloadPhases is when each phase starts and its rate multiplier.
func overloadPhases(phase time.Duration) []struct {
	Start, Length time.Duration
	Factor        float64
} {
	return []struct {
		Start, Length time.Duration
		Factor        float64
	}{{0, phase, 1}, {phase, 2 * phase, 2}, {3 * phase, phase, 1}}
}

// verdict judges the curve: memory bounded when RSS in the second half of
// the 2×R phase stays within 10% of its first half (it plateaus), and the
// recovery time is the first second of the last phase achieving ≥ 90% of R.
func (o overloadResult) verdict() (maxR, max2R int64, bounded bool, recovered float64) {
	p := o.Phase.Seconds()
	var firstHalf, secondHalf int64
	recovered = -1
	for _, s := range o.Samples {
		switch {
		case s.T <= p:
			maxR = max(maxR, s.RSS)
		case s.T <= 2*p:
			firstHalf = max(firstHalf, s.RSS)
		case s.T <= 3*p:
			secondHalf = max(secondHalf, s.RSS)
		default:
			if recovered < 0 && s.Achieved >= 0.9*o.Rate {
				recovered = s.T - 3*p
			}
		}
	}
	max2R = max(firstHalf, secondHalf)
	bounded = firstHalf > 0 && float64(secondHalf) <= 1.1*float64(firstHalf)
	return maxR, max2R, bounded, recovered
}

func (o overloadResult) markdown() string {
	var b strings.Builder
	b.WriteString("## Overload: R, 2×R, R\n\n")
	if o.Err != "" {
		fmt.Fprintf(&b, "Not measured: %s\n\n", o.Err)
		return b.String()
	}
	source := "the register ladder's highest sustained rate"
	if o.Given {
		source = "set with -overload-rate"
	}
	fmt.Fprintf(&b, "switchboard, register scenario, fresh server: R = %.0f/s (%s) for %v, 2×R for %v, R for %v, each phase its own SIPp started on the clock. Sampled every second: achieved = REGISTER 200s/s and failures = REGISTER responses ≥ 500/s from /metrics, dropped = `switchboard_sip_overload_dropped_total` per second (requests shed before parsing), kernel drops = `switchboard_sip_udp_receive_drops_total` per second (datagrams the kernel dropped from the full socket buffer), server CPU = its utime+stime over the second (1.00 = all of its pinned core), RSS and VmHWM from /proc. SIPp's CPU per phase is user+system time over its wall time: near 1.00 the load generator, not the server, is the limit.\n\n",
		o.Rate, source, o.Phase, 2*o.Phase, o.Phase)
	maxR, max2R, bounded, rec := o.verdict()
	bv := "**no** (RSS still growing in the second half of 2×R)"
	if bounded {
		bv = "yes (RSS in the second half of 2×R within 10% of the first half)"
	}
	rv := "**no** (the last phase never reached 90% of R)"
	if rec >= 0 {
		rv = fmt.Sprintf("after %.0f s (first second of the last phase at ≥ 90%% of R)", rec)
	}
	fmt.Fprintf(&b, "- Memory bounded: %s; max RSS at R %s, at 2×R %s (%s)\n- Recovered: %s\n\n", bv, fmtBytes(maxR), fmtBytes(max2R), ratio(float64(max2R), float64(maxR)), rv)
	if len(o.Phases) > 0 {
		b.WriteString("SIPp's own count of each phase (a registration = 401 + REGISTER → 200; the server's 200s per second below also count answers to retransmissions):\n\n| Phase | Offered | Registrations started | Completed | Failed | Retransmissions | Completed / started | SIPp CPU (cores) | SIPp exit |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
		for i, p := range overloadPhases(o.Phase) {
			if i >= len(o.Phases) {
				break
			}
			r := o.Phases[i]
			share := "—"
			if r.Created > 0 {
				share = fmt.Sprintf("%.1f%%", 100*float64(r.Successful)/float64(r.Created))
			}
			exit := "done"
			if r.ExitCode > 1 || r.ExitCode < 0 {
				// -timeout (phase + 20 s) cut it: registrations still
				// retransmitting count as started, neither completed nor failed.
				exit = fmt.Sprintf("%d: cut by its -timeout", r.ExitCode)
			}
			cores := "—"
			if r.Wall > 0 {
				cores = fmt.Sprintf("%.2f", r.CPU.Seconds()/r.Wall.Seconds())
			}
			fmt.Fprintf(&b, "| %d | %.0f/s for %v | %d | %d | %d | %d | %s | %s | %s |\n", i+1, o.Rate*p.Factor, p.Length, r.Created, r.Successful, r.Failed, r.Retransmissions, share, cores, exit)
		}
		b.WriteString("\n")
	}
	b.WriteString("| t (s) | Offered/s | Achieved/s | Failures/s | Dropped/s | Kernel drops/s | Server CPU (cores) | RSS | VmHWM |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range o.Samples {
		fmt.Fprintf(&b, "| %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f | %s | %s |\n", s.T, s.Offered, s.Achieved, s.Failures, s.Dropped, s.Kernel, s.CPU, fmtBytes(s.RSS), fmtBytes(s.HWM))
	}
	b.WriteString("\n")
	return b.String()
}

func overloadPanels(runs []overloadResult) []panel {
	ps := []panel{
		{Title: "Offered and achieved", XLabel: "s", YLabel: "REGISTER/s"},
		{Title: "Shed", XLabel: "s", YLabel: "per s"},
		{Title: "Memory", XLabel: "s", YLabel: "MiB"},
	}
	for _, o := range runs {
		var off, ach, fail, drop, rss, hwm series
		off.Name, ach.Name, fail.Name, drop.Name, rss.Name, hwm.Name = "offered", "achieved", "failures (≥ 500)", "dropped unparsed", "RSS", "VmHWM"
		for _, s := range o.Samples {
			off.Points = append(off.Points, point{s.T, s.Offered})
			ach.Points = append(ach.Points, point{s.T, s.Achieved})
			fail.Points = append(fail.Points, point{s.T, s.Failures})
			drop.Points = append(drop.Points, point{s.T, s.Dropped})
			rss.Points = append(rss.Points, point{s.T, float64(s.RSS) / (1 << 20)})
			hwm.Points = append(hwm.Points, point{s.T, float64(s.HWM) / (1 << 20)})
		}
		ps[0].Series = append(ps[0].Series, off, ach)
		ps[1].Series = append(ps[1].Series, fail, drop)
		ps[2].Series = append(ps[2].Series, rss, hwm)
	}
	return ps
}

// scrapeCounters reads the few counters the curve needs from /metrics.
func scrapeCounters(ctx context.Context, addr string) (counters, error) {
	m, err := fetchMetrics(ctx, addr)
	if err != nil {
		return counters{}, err
	}
	return countersOf(m), nil
}

// counters are the totals the curve differentiates.
type counters struct {
	ok200, fail5xx float64 // REGISTER responses
	dropped        float64 // shed unparsed by switchboard
	kernel         float64 // dropped by the kernel from a full socket buffer
}

// fetchMetrics reads a server's /metrics as series (name{labels}) → value.
func fetchMetrics(ctx context.Context, addr string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape metrics: %w", err)
	}
	defer resp.Body.Close()
	return readScrape(resp.Body), nil
}

func parseCounters(r io.Reader) counters { return countersOf(readScrape(r)) }

// countersOf sums REGISTER 200s, REGISTER 5xx and both kinds of drops.
func countersOf(m map[string]float64) counters {
	var c counters
	for name, v := range m {
		switch {
		case strings.HasPrefix(name, "switchboard_sip_overload_dropped_total"):
			c.dropped += v
		case strings.HasPrefix(name, "switchboard_sip_udp_receive_drops_total"):
			c.kernel += v
		case strings.HasPrefix(name, "switchboard_sip_responses_total{") && strings.Contains(name, `method="REGISTER"`):
			code := labelValue(name, "code")
			if code == "200" {
				c.ok200 += v
			} else if len(code) == 3 && code[0] >= '5' {
				c.fail5xx += v
			}
		}
	}
	return c
}

func labelValue(series, label string) string {
	k := label + `="`
	i := strings.Index(series, k)
	if i < 0 {
		return ""
	}
	rest := series[i+len(k):]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return rest[:j]
}

// overload runs the curve at rate on a fresh switchboard.
func (b *bench) overload(ctx context.Context, rate float64) overloadResult {
	res := overloadResult{Rate: rate, Phase: b.opt.overloadPhase}
	sc, _ := scenarioByName("register")
	httpPort, err := freeTCPPort()
	if err != nil {
		res.Err = err.Error()
		return res
	}
	httpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort))
	dir := filepath.Join(b.work, "overload")
	srv, err := startSwitchboard(ctx, switchboardOptions{Bin: b.sbBin, Dir: dir, Pop: b.pop, CPU: b.opt.serverCPU(), HTTP: httpAddr})
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer srv.stop()

	phases := overloadPhases(b.opt.overloadPhase)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(phases))
	res.Phases = make([]sippResult, len(phases))
	for i, p := range phases {
		wg.Go(func() {
			select {
			case <-time.After(time.Until(start.Add(p.Start))):
			case <-ctx.Done():
				return
			}
			pdir := filepath.Join(dir, fmt.Sprintf("phase%d", i+1))
			if err := os.MkdirAll(pdir, 0o755); err != nil {
				errs[i] = err
				return
			}
			port, err := freePort(sc.LocalIP)
			if err != nil {
				errs[i] = err
				return
			}
			r := rate * p.Factor
			res.Phases[i], errs[i] = runSIPp(ctx, b.sipp, sippRun{
				Scenario: filepath.Join(b.scenarios, sc.UAC), Remote: srv.addr, LocalIP: sc.LocalIP, Port: port,
				Inf: filepath.Join(b.inf, sc.Inf), Rate: r, Total: int(r * p.Length.Seconds()), Dir: pdir,
				CPU: b.opt.loadCPU(), Timeout: p.Length + 20*time.Second, NoDefaults: true,
			})
		})
	}

	end := start.Add(4*b.opt.overloadPhase + 2*time.Second)
	prev, _ := scrapeCounters(ctx, httpAddr)
	prevT, prevCPU := time.Now(), srv.cpu()
	tick := time.NewTicker(time.Second)
	for now := range tick.C {
		if ctx.Err() != nil || now.After(end) {
			break
		}
		cur, err := scrapeCounters(ctx, httpAddr)
		if err != nil {
			b.logf("  overload: %v", err)
			continue
		}
		dt := now.Sub(prevT).Seconds()
		t := now.Sub(start).Seconds()
		cpu := srv.cpu()
		offered := 0.0
		for _, p := range phases {
			if t > p.Start.Seconds() && t <= (p.Start+p.Length).Seconds()+0.5 {
				offered = rate * p.Factor
			}
		}
		s := overloadSample{T: float64(int(t + 0.5)), Offered: offered, Achieved: (cur.ok200 - prev.ok200) / dt, Failures: (cur.fail5xx - prev.fail5xx) / dt,
			Dropped: (cur.dropped - prev.dropped) / dt, Kernel: (cur.kernel - prev.kernel) / dt, CPU: (cpu - prevCPU).Seconds() / dt, RSS: srv.memory(), HWM: srv.peakMemory()}
		res.Samples = append(res.Samples, s)
		b.logf("  overload t=%3.0fs offered %6.0f achieved %6.0f failures %5.0f dropped %6.0f kernel drops %6.0f cpu %.2f rss %s", s.T, s.Offered, s.Achieved, s.Failures, s.Dropped, s.Kernel, s.CPU, fmtBytes(s.RSS))
		prev, prevT, prevCPU = cur, now, cpu
		if srv.alive() != nil {
			res.Err = "switchboard exited during the overload"
			break
		}
	}
	tick.Stop()
	wg.Wait()
	if res.Err == "" && srv.alive() != nil {
		res.Err = "switchboard exited during the overload"
	}
	for i, err := range errs {
		// 2×R is meant to fail calls; SIPp's exit status says so. Only a
		// SIPp that could not run at all spoils the curve.
		if err != nil && len(res.Samples) == 0 {
			res.Err = fmt.Sprintf("phase %d: %v", i+1, firstLine(err.Error()))
		}
	}
	return res
}

func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free tcp port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
