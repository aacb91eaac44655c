package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The dashboard picture (issue 17: "a PNG plot of the same series from a
// short run" where Grafana cannot be installed). `-only dashboard -o
// docs/dashboard.png` runs switchboard under a short mixed load —
// registrations, authenticated calls, and a few phones with a wrong password
// — scrapes /metrics every second as Prometheus would, and draws the main
// series of deploy/grafana/switchboard.json with the same arithmetic its
// queries use (rate() as the per-second delta, histogram_quantile over the
// last 5 s of buckets). Chromium, headless, turns the SVG into the PNG.

const onlyDashboard = "dashboard"

// dashboardLoad is how long each load runs; the whole picture spans it.
const dashboardLoad = 40 * time.Second

// scrape is one /metrics read: series (name{labels}) → value.
type scrape struct {
	T      float64
	Values map[string]float64
}

func readScrape(r io.Reader) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out
}

// sumBy adds the series of a metric by the value of one label ("" = all).
func sumBy(m map[string]float64, name, label string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		n, _, _ := strings.Cut(k, "{")
		if n != name {
			continue
		}
		key := ""
		if label != "" {
			key = labelValue(k, label)
		}
		out[key] += v
	}
	return out
}

// rateSeries is rate(name[1s]) summed by label, one series per label value.
func rateSeries(ss []scrape, name, label, prefix string) []series {
	byKey := map[string]*series{}
	for i := 1; i < len(ss); i++ {
		now, before := sumBy(ss[i].Values, name, label), sumBy(ss[i-1].Values, name, label)
		dt := ss[i].T - ss[i-1].T
		for k, v := range now {
			s := byKey[k]
			if s == nil {
				s = &series{Name: prefix + k}
				byKey[k] = s
			}
			s.Points = append(s.Points, point{ss[i].T, math.Max(0, v-before[k]) / dt})
		}
	}
	return sortedSeries(byKey)
}

// gaugeSeries is a gauge summed by label.
func gaugeSeries(ss []scrape, name, label, prefix string, scale float64) []series {
	byKey := map[string]*series{}
	for _, s := range ss {
		for k, v := range sumBy(s.Values, name, label) {
			x := byKey[k]
			if x == nil {
				x = &series{Name: prefix + k}
				byKey[k] = x
			}
			x.Points = append(x.Points, point{s.T, v * scale})
		}
	}
	return sortedSeries(byKey)
}

func sortedSeries(m map[string]*series) []series {
	var out []series
	for _, s := range m {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b series) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// quantileSeries is histogram_quantile(q, rate(name_bucket[window])) in ms.
func quantileSeries(ss []scrape, name string, q float64, window int, label string) series {
	s := series{Name: label}
	for i := window; i < len(ss); i++ {
		now, before := sumBy(ss[i].Values, name+"_bucket", "le"), sumBy(ss[i-window].Values, name+"_bucket", "le")
		type bucket struct{ le, n float64 }
		var bs []bucket
		for le, v := range now {
			x, err := strconv.ParseFloat(le, 64)
			if le == "+Inf" {
				x, err = math.Inf(1), nil
			}
			if err == nil {
				bs = append(bs, bucket{x, v - before[le]})
			}
		}
		slices.SortFunc(bs, func(a, b bucket) int { return cmpFloat(a.le, b.le) })
		if len(bs) == 0 || bs[len(bs)-1].n <= 0 {
			continue
		}
		rank := q * bs[len(bs)-1].n
		prevLE, prevN := 0.0, 0.0
		for _, b := range bs {
			if b.n >= rank {
				v := b.le
				if math.IsInf(v, 1) {
					v = prevLE
				} else if b.n > prevN {
					v = prevLE + (b.le-prevLE)*(rank-prevN)/(b.n-prevN)
				}
				s.Points = append(s.Points, point{ss[i].T, v * 1000})
				break
			}
			prevLE, prevN = b.le, b.n
		}
	}
	return s
}

// dashboardPanels are the main rows of the Grafana dashboard.
func dashboardPanels(ss []scrape) []panel {
	setup := []series{
		quantileSeries(ss, "switchboard_call_setup_seconds", 0.5, 5, "p50"),
		quantileSeries(ss, "switchboard_call_setup_seconds", 0.99, 5, "p99"),
	}
	return []panel{
		{Title: "Registrations", XLabel: "s", YLabel: "bindings", Series: gaugeSeries(ss, "switchboard_registrations_active", "", "registrations", 1)},
		{Title: "SIP requests by method", XLabel: "s", YLabel: "per s", Series: rateSeries(ss, "switchboard_sip_requests_total", "method", "")},
		{Title: "SIP responses by code", XLabel: "s", YLabel: "per s", Series: rateSeries(ss, "switchboard_sip_responses_total", "code", "")},
		{Title: "Calls active", XLabel: "s", YLabel: "calls", Series: gaugeSeries(ss, "switchboard_calls_active", "", "calls active", 1)},
		{Title: "Call setup time", XLabel: "s", YLabel: "ms", Series: setup},
		{Title: "Auth failures and bans", XLabel: "s", YLabel: "per s / active",
			Series: append(rateSeries(ss, "switchboard_auth_failures_total", "reason", "auth failure: "),
				gaugeSeries(ss, "switchboard_security_bans_active", "", "bans active", 1)...)},
		{Title: "Go heap in use", XLabel: "s", YLabel: "MiB", Series: gaugeSeries(ss, "go_memstats_heap_inuse_bytes", "", "heap", 1.0/(1<<20))},
		{Title: "Goroutines", XLabel: "s", YLabel: "goroutines", Series: gaugeSeries(ss, "go_goroutines", "", "goroutines", 1)},
	}
}

// dashboard runs the load, samples /metrics and writes out (PNG) and the
// SVG beside it.
func (b *bench) dashboard(ctx context.Context, out string) error {
	httpPort, err := freeTCPPort()
	if err != nil {
		return err
	}
	httpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort))
	dir := filepath.Join(b.work, "dashboard")
	srv, err := startSwitchboard(ctx, switchboardOptions{Bin: b.sbBin, Dir: dir, Pop: b.pop, CPU: b.opt.serverCPU(), HTTP: httpAddr})
	if err != nil {
		return err
	}
	defer srv.stop()
	call, _ := scenarioByName("call")
	u, err := b.startUAS(ctx, call.UAS, srv.addr)
	if err != nil {
		return err
	}
	defer u.stop()
	reg, _ := scenarioByName("register")
	wrong, err := wrongPasswords(filepath.Join(b.inf, reg.Inf), filepath.Join(dir, "wrong.csv"))
	if err != nil {
		return err
	}

	loadCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	start := time.Now()
	for _, l := range []struct {
		at       time.Duration
		scen     scenario
		inf      string
		rate     float64
		duration time.Duration
	}{
		{0, reg, filepath.Join(b.inf, reg.Inf), 300, dashboardLoad},
		{5 * time.Second, call, filepath.Join(b.inf, call.Inf), 60, dashboardLoad - 10*time.Second},
		{15 * time.Second, reg, wrong, 5, 10 * time.Second},
	} {
		wg.Go(func() {
			select {
			case <-time.After(l.at):
			case <-loadCtx.Done():
				return
			}
			port, err := freePort(l.scen.LocalIP)
			if err != nil {
				errs <- err
				return
			}
			pdir, _ := os.MkdirTemp(dir, "load-")
			_, err = runSIPp(loadCtx, b.sipp, sippRun{Scenario: filepath.Join(b.scenarios, l.scen.UAC), Remote: srv.addr,
				LocalIP: l.scen.LocalIP, Port: port, Inf: l.inf, Rate: l.rate, Total: int(l.rate * l.duration.Seconds()),
				Hold: time.Second, Dir: pdir, CPU: b.opt.loadCPU(), Timeout: l.duration + 30*time.Second})
			if err != nil && !strings.Contains(l.inf, "wrong") {
				errs <- err // the wrong-password phones fail by design
			}
		})
	}
	var ss []scrape
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for time.Since(start) < dashboardLoad+5*time.Second {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errs:
			return fmt.Errorf("dashboard load: %w", err)
		case <-tick.C:
		}
		m, err := fetchMetrics(ctx, httpAddr)
		if err != nil {
			return err
		}
		ss = append(ss, scrape{T: time.Since(start).Seconds(), Values: m})
	}
	cancel()
	wg.Wait()

	svgPath := strings.TrimSuffix(out, filepath.Ext(out)) + ".svg"
	title := fmt.Sprintf("switchboard dashboard series, %v of mixed load (bench -only dashboard, %s)", dashboardLoad, time.Now().UTC().Format("2006-01-02"))
	svg := renderSVG(title, dashboardPanels(ss))
	if err := os.WriteFile(svgPath, []byte(svg), 0o644); err != nil {
		return err
	}
	return svgToPNG(ctx, svgPath, out, svg)
}

// wrongPasswords copies a SIPp injection file with every password wrong.
func wrongPasswords(src, dst string) (string, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) > 21 {
		lines = lines[:21] // a few phones are enough to show failures and bans
	}
	s := strings.ReplaceAll(strings.Join(lines, "\n")+"\n", "password=", "password=wrong-")
	return dst, os.WriteFile(dst, []byte(s), 0o644)
}

// svgToPNG renders the SVG with headless Chromium at its own size.
func svgToPNG(ctx context.Context, svgPath, pngPath, svg string) error {
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		return fmt.Errorf("wrote %s, but no chromium to make the PNG (apt-get install -y chromium)", svgPath)
	}
	var w, h int
	if _, err := fmt.Sscanf(svg[strings.Index(svg, "width="):], `width="%d" height="%d"`, &w, &h); err != nil {
		return fmt.Errorf("svg size: %w", err)
	}
	abs, err := filepath.Abs(svgPath)
	if err != nil {
		return err
	}
	absPNG, err := filepath.Abs(pngPath)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		fmt.Sprintf("--window-size=%d,%d", w, h), "--screenshot="+absPNG, "file://"+abs)
	if outp, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("chromium screenshot: %v\n%s", err, tail(string(outp), 2000))
	}
	return nil
}
