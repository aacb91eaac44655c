package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sippRun is one SIPp invocation. A UAC run has Remote, Rate and Total; a
// UAS run (Remote == "") serves until stopped.
type sippRun struct {
	Scenario string        // scenario XML path
	Remote   string        // host:port the UAC sends to; "" for a UAS
	LocalIP  string        // -i
	Port     int           // -p
	Inf      string        // injection file; "" for none
	Rate     float64       // calls per second (-r with -rp 1000)
	Total    int           // calls to place (-m)
	Hold     time.Duration // <pause/> length (-d)
	Dir      string        // working folder: SIPp writes its stat, rtt and error files here
	CPU      int           // CPU to pin to with taskset; -1: none
	Timeout  time.Duration // global -timeout; 0 = none
	// NoDefaults (-nd) ends a failed call quietly. By default SIPp aborts a
	// call that timed out or got an unexpected answer (a 503) with a BYE:
	// under overload that is a flood of out-of-dialog BYEs a real phone,
	// whose REGISTER failed, never sends.
	NoDefaults bool
}

// sippBufSize is the socket buffer SIPp asks for (-buff_size): its default of
// 64 KiB drops datagrams at a few thousand calls per second.
const sippBufSize = 4 << 20

func (r sippRun) args() []string {
	a := []string{"-sf", r.Scenario, "-i", r.LocalIP, "-p", strconv.Itoa(r.Port),
		"-t", "u1", "-nostdin", "-buff_size", strconv.Itoa(sippBufSize),
		"-trace_err", "-max_recv_loops", "10000"}
	if r.Inf != "" {
		a = append(a, "-inf", r.Inf)
	}
	if r.NoDefaults {
		a = append(a, "-nd")
	}
	if r.Timeout > 0 {
		a = append(a, "-timeout", fmt.Sprintf("%ds", int(r.Timeout.Seconds())), "-timeout_error")
	}
	if r.Remote == "" {
		return a
	}
	a = append(a,
		"-r", strconv.FormatFloat(r.Rate, 'f', 0, 64), "-rp", "1000",
		"-m", strconv.Itoa(r.Total),
		"-l", strconv.Itoa(max(r.Total, 100)),
		"-d", strconv.FormatInt(r.Hold.Milliseconds(), 10),
		// A call whose message never comes fails after 10 s instead of
		// hanging the step.
		"-recv_timeout", "10000",
		"-trace_stat", "-stf", "stat.csv", "-fd", "1",
		"-trace_rtt", "-rtt_freq", "1",
		r.Remote)
	return a
}

// command builds the exec.Cmd, pinned with taskset when asked.
func (r sippRun) command(ctx context.Context, sipp string) *exec.Cmd {
	name, args := pinned(r.CPU, sipp, r.args()...)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = r.Dir
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGKILL) }
	return cmd
}

// pinned prefixes a command with taskset when cpu >= 0.
func pinned(cpu int, name string, args ...string) (string, []string) {
	if cpu < 0 {
		return name, args
	}
	return "taskset", append([]string{"-c", strconv.Itoa(cpu), name}, args...)
}

// sippResult is what one UAC run measured.
type sippResult struct {
	Created, Successful, Failed int
	Retransmissions             int
	Wall                        time.Duration // process start to exit
	Achieved                    float64       // calls/s from the first to the last response-time sample
	RTD                         map[int][]float64
	CPU                         time.Duration // SIPp's own user+system time
	ExitCode                    int
	Errors                      string // tail of SIPp's output and error log when it failed
}

// failureRatio is failed / created (1 when nothing was created).
func (r sippResult) failureRatio() float64 {
	if r.Created == 0 {
		return 1
	}
	return float64(r.Failed+max(0, r.Created-r.Successful-r.Failed)) / float64(r.Created)
}

// runSIPp runs a UAC to completion and parses its files. Exit code 1 (some
// calls failed) is a result, not an error.
func runSIPp(ctx context.Context, sipp string, r sippRun) (sippResult, error) {
	var out bytes.Buffer
	cmd := r.command(ctx, sipp)
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	res := sippResult{Wall: time.Since(start)}
	if cmd.ProcessState != nil {
		res.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && res.ExitCode == 1) {
		// SIPp stopped by its -timeout still wrote its counts, which the
		// overload curve reports; the error says the run was cut short.
		if b, serr := os.ReadFile(filepath.Join(r.Dir, "stat.csv")); serr == nil {
			if st, serr := parseStatCSV(b); serr == nil {
				res.Created, res.Successful, res.Failed, res.Retransmissions = st.Created, st.Successful, st.Failed, st.Retransmissions
			}
		}
		return res, fmt.Errorf("sipp %s: %v\n%s%s", filepath.Base(r.Scenario), err, tail(out.String(), 1500), errorLog(r.Dir, 1500))
	}
	if res.ExitCode != 0 {
		res.Errors = tail(out.String(), 600) + errorLog(r.Dir, 1500)
	}
	b, err := os.ReadFile(filepath.Join(r.Dir, "stat.csv"))
	if err != nil {
		return res, fmt.Errorf("sipp stat file: %w", err)
	}
	st, err := parseStatCSV(b)
	if err != nil {
		return res, err
	}
	res.Created, res.Successful, res.Failed, res.Retransmissions = st.Created, st.Successful, st.Failed, st.Retransmissions
	rtts, _ := filepath.Glob(filepath.Join(r.Dir, "*_rtt.csv"))
	if len(rtts) != 1 {
		return res, fmt.Errorf("sipp: want one *_rtt.csv in %s, found %d", r.Dir, len(rtts))
	}
	f, err := os.Open(rtts[0])
	if err != nil {
		return res, err
	}
	defer f.Close()
	rt, err := parseRTT(f)
	if err != nil {
		return res, err
	}
	res.RTD = rt.Samples
	res.Achieved = rt.rate(1)
	return res, nil
}

func errorLog(dir string, n int) string {
	logs, _ := filepath.Glob(filepath.Join(dir, "*_errors.log"))
	var b strings.Builder
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		fmt.Fprintf(&b, "\n%s:\n%s", filepath.Base(l), tail(string(data), n))
	}
	return b.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// statCounts are the cumulative counters of SIPp's last statistics row.
type statCounts struct {
	Created, Successful, Failed, Retransmissions int
}

// parseStatCSV reads the final row of a SIPp -trace_stat file (';'
// separated, a header row, one row per -fd period and one at exit).
func parseStatCSV(b []byte) (statCounts, error) {
	lines := strings.Split(strings.TrimRight(string(b), "\r\n"), "\n")
	if len(lines) < 2 {
		return statCounts{}, fmt.Errorf("sipp stat file: %d lines, want a header and a row", len(lines))
	}
	header := strings.Split(strings.TrimRight(lines[0], ";\r"), ";")
	last := strings.Split(strings.TrimRight(lines[len(lines)-1], "\r"), ";")
	get := func(name string) (int, error) {
		i := slices.Index(header, name)
		if i < 0 || i >= len(last) {
			return 0, fmt.Errorf("sipp stat file: no column %s", name)
		}
		n, err := strconv.Atoi(strings.TrimSpace(last[i]))
		if err != nil {
			return 0, fmt.Errorf("sipp stat file: column %s: %w", name, err)
		}
		return n, nil
	}
	var c statCounts
	var errs []error
	for _, f := range []struct {
		name string
		dst  *int
	}{
		{"TotalCallCreated", &c.Created},
		{"SuccessfulCall(C)", &c.Successful},
		{"FailedCall(C)", &c.Failed},
		{"Retransmissions(C)", &c.Retransmissions},
	} {
		n, err := get(f.name)
		*f.dst = n
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// rttSamples are the response times of a SIPp -trace_rtt file.
type rttSamples struct {
	Samples map[int][]float64 // rtd number -> response times in ms
	first   map[int]float64   // rtd number -> ms since start of its first sample
	last    map[int]float64
}

// parseRTT reads a SIPp -trace_rtt file: a "Date_ms;response_time_ms;rtd_no"
// header, then one sample per line.
func parseRTT(r io.Reader) (rttSamples, error) {
	s := rttSamples{Samples: map[int][]float64{}, first: map[int]float64{}, last: map[int]float64{}}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "Date_ms") {
			continue
		}
		f := strings.Split(strings.TrimRight(t, ";"), ";")
		if len(f) < 3 {
			return s, fmt.Errorf("sipp rtt file line %d: %d fields, want 3", line, len(f))
		}
		date, err1 := strconv.ParseFloat(f[0], 64)
		ms, err2 := strconv.ParseFloat(f[1], 64)
		rtd, err3 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil || err3 != nil {
			return s, fmt.Errorf("sipp rtt file line %d: malformed %q", line, t)
		}
		if _, ok := s.first[rtd]; !ok {
			s.first[rtd] = date
		}
		s.last[rtd] = date
		s.Samples[rtd] = append(s.Samples[rtd], ms)
	}
	return s, sc.Err()
}

// rate is the throughput of one rtd: samples per second between its first
// and last sample; 0 with fewer than two samples.
func (s rttSamples) rate(rtd int) float64 {
	n := len(s.Samples[rtd])
	span := s.last[rtd] - s.first[rtd]
	if n < 2 || span <= 0 {
		return 0
	}
	return float64(n-1) / span * 1000
}

// percentile is the nearest-rank p-th percentile (0 < p <= 100) of xs; 0
// for none. xs is sorted in place.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	rank := int(p/100*float64(len(xs))+0.999999) - 1
	return xs[min(max(rank, 0), len(xs)-1)]
}
