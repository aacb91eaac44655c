// Command bench measures switchboard against Kamailio on the same machine,
// in one run, with SIPp as the load generator, and writes BENCHMARKS.md.
//
//	go run ./bench -o BENCHMARKS.md
//
// See bench/README.md for what it measures and how to read the tables.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the driver's flags.
type options struct {
	out       string
	tenants   int
	users     int
	systems   []string
	scenarios []string
	step      time.Duration
	hold      time.Duration
	cooldown  time.Duration
	factor    float64
	refine    int
	starts    map[string]float64
	maxRates  map[string]float64
	limits    limits
	pin       bool
	scale     []int
	// overloadPhase is the length of the R and last R phases of the
	// overload curve (2×R lasts twice as long); 0 skips it.
	overloadPhase time.Duration
	// overloadRate is R when set; 0 = the register ladder's highest
	// sustained rate.
	overloadRate float64
	scaleRate    float64
	settle       time.Duration
	gobench      bool
	benchtime    string
	profile      bool
	profileFor   time.Duration
	profileDir   string
	kamShm       int
	kamChildren  int
	keep         bool
	noBusy       bool // skip sampling other processes' CPU (tests)
	// redisCompare runs the register ladder a second time with switchboard's
	// store.redis on a private redis-server (the memory run is the first).
	redisCompare bool
	// only is "" for the whole run, or onlyRedisCompare: just the
	// comparison, spliced into the existing -o file; or onlyVoicemail.
	only string
	// voicemail is the number of concurrent recordings of the voicemail
	// scenario (voicemail.go), 0 = skipped; voicemailLength each one's.
	voicemail       int
	voicemailLength time.Duration
}

func (o options) serverCPU() int {
	if o.pin {
		return 0
	}
	return -1
}

func (o options) loadCPU() int {
	if o.pin {
		return 1
	}
	return -1
}

func (o options) ladderFor(scenario string) *ladder {
	return &ladder{Start: o.starts[scenario], Factor: o.factor, Max: o.maxRates[scenario], Refine: o.refine}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	opt, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := execute(ctx, opt, "go run ./bench "+strings.Join(args, " "), stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	if opt.only == onlyRedisCompare {
		section := rep.redisCompareMarkdown()
		fmt.Fprint(stdout, section)
		if opt.out != "" {
			if err := writeRedisCompare(opt.out, section); err != nil {
				fmt.Fprintf(stderr, "bench: %v\n", err)
				return 1
			}
			fmt.Fprintf(stderr, "bench: replaced the redis-compare section of %s\n", opt.out)
		}
		return 0
	}
	if opt.only == onlyDashboard {
		fmt.Fprintf(stderr, "bench: wrote %s and its .svg\n", opt.out)
		return 0
	}
	if opt.only == onlyVoicemail {
		// One section only: it goes to stdout, never over a whole -o report.
		if rep.Voicemail != nil {
			fmt.Fprint(stdout, rep.Voicemail.markdown(opt.pin))
		}
		return 0
	}
	fmt.Fprint(stdout, rep.summaryMarkdown())
	if opt.out != "" {
		base := strings.TrimSuffix(filepath.Base(opt.out), filepath.Ext(opt.out))
		if rep.Charts, err = writeCharts(filepath.Dir(opt.out), strings.ToLower(base), rep); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		if err := os.WriteFile(opt.out, []byte(rep.markdown()), 0o644); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "bench: wrote %s\n", opt.out)
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.out, "o", "", "write the report to this markdown `file` (the summary table always goes to stdout)")
	fs.IntVar(&o.tenants, "tenants", 10, "tenants in the generated directory")
	fs.IntVar(&o.users, "users", 1000, "users per tenant")
	systems := fs.String("systems", "switchboard,kamailio,sipp", "systems to measure: switchboard, kamailio, sipp (SIPp straight to SIPp)")
	scen := fs.String("scenarios", "register,call,did", "scenarios: register, call, did")
	fs.DurationVar(&o.step, "step", 5*time.Second, "how long each offered rate is held (-m = rate × step)")
	fs.DurationVar(&o.hold, "hold", 200*time.Millisecond, "call hold time between ACK and BYE")
	fs.DurationVar(&o.cooldown, "cooldown", time.Second, "pause between steps")
	fs.Float64Var(&o.factor, "factor", 2, "rate multiplier between steps")
	fs.IntVar(&o.refine, "refine", 1, "bisection steps between the last sustained and the first failed rate")
	starts := fs.String("start", "", "first offered rate per scenario, e.g. call=100 (default register=1000,call=250,did=250)")
	maxes := fs.String("max", "", "highest offered rate per scenario, e.g. call=2000 (default register=64000,call=16000,did=16000)")
	fs.Float64Var(&o.limits.MaxFailures, "max-failures", 0.001, "a step fails above this failed-call ratio")
	fs.Float64Var(&o.limits.MaxP99, "max-p99", 50, "a step fails when the p99 response time exceeds this many ms")
	fs.Float64Var(&o.limits.MinAchieved, "min-achieved", 0.9, "a step fails when SIPp achieves less than this share of the offered rate")
	fs.BoolVar(&o.pin, "pin", runtime.NumCPU() >= 2, "pin the server to CPU 0 and SIPp to CPU 1 with taskset")
	scale := fs.String("scale", "1000,10000,100000", "registered-phone counts for the scale curve, comma-separated (\"\" skips it)")
	fs.Float64Var(&o.overloadRate, "overload-rate", 0, "R of the overload curve in REGISTER/s (0 = the register ladder's highest sustained rate); to compare builds at one rate without a full ladder")
	fs.DurationVar(&o.overloadPhase, "overload", 10*time.Second, "with switchboard and register selected: the overload curve offers the register ladder's sustained rate R for this long, 2×R for twice as long, then R again (0 skips it)")
	fs.Float64Var(&o.scaleRate, "scale-rate", 0, "REGISTER rate offered while filling the location table for the scale curve (0: half the system's sustained register rate from its ladder, else 2000)")
	fs.DurationVar(&o.settle, "settle", 35*time.Second, "wait after filling the table before measuring memory (sipgo keeps REGISTER transactions 32 s)")
	fs.BoolVar(&o.gobench, "gobench", true, "run the Go micro-benchmarks (go test -bench) and include them")
	fs.StringVar(&o.benchtime, "benchtime", "300ms", "go test -benchtime for the micro-benchmarks")
	fs.BoolVar(&o.profile, "profile", true, "take CPU and alloc profiles of switchboard under moderate load")
	fs.DurationVar(&o.profileFor, "profile-seconds", 8*time.Second, "CPU profile length")
	fs.StringVar(&o.profileDir, "profile-dir", "", "keep the profiles and the binary here (default: the scratch folder)")
	fs.IntVar(&o.kamShm, "kamailio-shm", 3072, "Kamailio shared memory in MB (-m)")
	fs.IntVar(&o.kamChildren, "kamailio-children", 4, "Kamailio UDP worker processes")
	fs.BoolVar(&o.keep, "keep", false, "keep the scratch folder (configs, SIPp logs)")
	_, noRedis := exec.LookPath("redis-server")
	fs.BoolVar(&o.redisCompare, "redis-compare", noRedis == nil, "with switchboard and register selected, run the register ladder again with store.redis on a private redis-server (default: on when redis-server is installed)")
	fs.StringVar(&o.only, "only", "", "run one part alone: \"redis-compare\" runs the memory and Redis register ladders and replaces the section between the redis-compare markers of the -o file, leaving the rest untouched; \"voicemail\" runs the voicemail scenario alone (no SIPp needed)")
	fs.IntVar(&o.voicemail, "voicemail", 200, "concurrent voicemail recordings of the voicemail scenario (0 skips it)")
	fs.DurationVar(&o.voicemailLength, "voicemail-length", 10*time.Second, "how long each voicemail recording lasts after the beep")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var errs []error
	switch o.only {
	case "":
	case onlyVoicemail:
		*systems, *scen, *scale = sysSwitchboard, "", ""
		o.overloadPhase = 0
		o.redisCompare, o.gobench, o.profile = false, false, false
		if o.voicemail <= 0 {
			errs = append(errs, errors.New("-only voicemail: -voicemail must be at least 1"))
		}
	case onlyRedisCompare:
		if noRedis != nil {
			errs = append(errs, errors.New("-only redis-compare: redis-server not found (apt-get install -y redis-server)"))
		}
		*systems, *scen, *scale = sysSwitchboard, "register", ""
		o.overloadPhase = 0
		o.redisCompare, o.gobench, o.profile = true, false, false
	case onlyDashboard:
		*systems, *scen, *scale = sysSwitchboard, "", ""
		o.overloadPhase, o.voicemail = 0, 0
		o.redisCompare, o.gobench, o.profile = false, false, false
		if !strings.HasSuffix(o.out, ".png") {
			errs = append(errs, errors.New("-only dashboard: -o must name the .png to write (the .svg goes beside it)"))
		}
	default:
		errs = append(errs, fmt.Errorf("-only: unknown part %q (want redis-compare, voicemail or dashboard)", o.only))
	}
	o.systems = splitList(*systems)
	for _, s := range o.systems {
		if s != sysSwitchboard && s != sysKamailio && s != sysSIPp {
			errs = append(errs, fmt.Errorf("-systems: unknown system %q", s))
		}
	}
	o.scenarios = splitList(*scen)
	for _, s := range o.scenarios {
		if _, ok := scenarioByName(s); !ok {
			errs = append(errs, fmt.Errorf("-scenarios: unknown scenario %q", s))
		}
	}
	var err error
	o.starts = map[string]float64{"register": 1000, "call": 250, "did": 250}
	o.maxRates = map[string]float64{"register": 64000, "call": 16000, "did": 16000}
	if err = parseRates(*starts, o.starts); err != nil {
		errs = append(errs, fmt.Errorf("-start: %w", err))
	}
	if err = parseRates(*maxes, o.maxRates); err != nil {
		errs = append(errs, fmt.Errorf("-max: %w", err))
	}
	for _, s := range o.scenarios {
		if o.starts[s] <= 0 || o.maxRates[s] < o.starts[s] {
			errs = append(errs, fmt.Errorf("scenario %s: want 0 < -start <= -max", s))
		}
	}
	for _, s := range splitList(*scale) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("-scale: %q is not a positive count", s))
			continue
		}
		o.scale = append(o.scale, n)
	}
	if o.factor <= 1 {
		errs = append(errs, errors.New("-factor: want > 1"))
	}
	if err := (population{Tenants: o.tenants, Users: o.users}).validate(); err != nil {
		errs = append(errs, err)
	}
	return o, errors.Join(errs...)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parseRates parses "register=1000,call=250" into m.
func parseRates(s string, m map[string]float64) error {
	for _, f := range splitList(s) {
		k, v, ok := strings.Cut(f, "=")
		n, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || n <= 0 {
			return fmt.Errorf("%q: want scenario=rate", f)
		}
		m[strings.TrimSpace(k)] = n
	}
	return nil
}

// execute runs everything the options select and returns the report.
func execute(ctx context.Context, opt options, command string, log io.Writer) (*report, error) {
	logf := func(format string, args ...any) { fmt.Fprintf(log, format+"\n", args...) }
	b := &bench{opt: opt, logf: logf, pop: population{Tenants: opt.tenants, Users: opt.users, Seed: "switchboard-bench"}}
	var err error
	if b.sipp, err = exec.LookPath("sipp"); err != nil && opt.only != onlyVoicemail {
		return nil, errors.New("sipp not found: install it with `apt-get install -y sip-tester` (and `kamailio` for the comparison)")
	}
	if b.kamailio, err = exec.LookPath("kamailio"); err != nil {
		b.kamailio = ""
		if slices.Contains(opt.systems, sysKamailio) {
			logf("bench: kamailio not found, its rows are skipped: install it with `apt-get install -y kamailio`")
		}
	}
	if opt.pin {
		if _, err := exec.LookPath("taskset"); err != nil {
			return nil, errors.New("taskset not found (util-linux); install it or pass -pin=false")
		}
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	b.work, err = os.MkdirTemp("", "switchboard-bench-")
	if err != nil {
		return nil, err
	}
	if opt.keep {
		logf("bench: scratch folder %s (kept)", b.work)
	} else {
		defer os.RemoveAll(b.work)
	}
	b.scenarios = b.work + "/scenarios"
	b.inf = b.work + "/inf"
	if err := writeScenarios(b.scenarios); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(b.inf, 0o755); err != nil {
		return nil, err
	}
	if err := writeInjection(b.inf, b.pop); err != nil {
		return nil, err
	}
	if b.redis, err = exec.LookPath("redis-server"); err != nil {
		b.redis = ""
	}
	logf("bench: building switchboard")
	if b.sbBin, err = buildSwitchboard(ctx, root, b.work); err != nil {
		return nil, err
	}

	if opt.only == onlyDashboard { // dashboard.go
		logf("bench: dashboard series, %v of mixed load", dashboardLoad)
		if err := b.dashboard(ctx, opt.out); err != nil {
			return nil, err
		}
		return &report{Command: command, Options: opt}, nil
	}
	rep := &report{Command: command, Options: opt, Pop: b.pop, Started: time.Now()}
	rep.Machine = describeMachine(b.sipp, b.kamailio, b.sbBin, !opt.noBusy)
	for _, sys := range opt.systems {
		logf("bench: %s", sys)
		rep.Runs = append(rep.Runs, b.runSystem(ctx, sys)...)
	}
	if opt.voicemail > 0 && slices.Contains(opt.systems, sysSwitchboard) && ctx.Err() == nil {
		logf("bench: voicemail, %d concurrent recordings of %v", opt.voicemail, opt.voicemailLength)
		rep.Voicemail = b.voicemail(ctx)
	}
	if mem, ok := rep.run(sysSwitchboard, "register"); ok && opt.redisCompare && ctx.Err() == nil {
		logf("bench: switchboard register with store.redis on a private redis-server")
		rep.RedisCompare = &redisCompare{Memory: mem, Redis: b.runRedisRegister(ctx), When: time.Now()}
		if opt.only == onlyRedisCompare {
			rep.RedisCompare.Command = command
		}
	}
	if mem, ok := rep.run(sysSwitchboard, "register"); ok && opt.overloadPhase > 0 && ctx.Err() == nil {
		r, given := opt.overloadRate, opt.overloadRate > 0
		if best, ok := mem.best(); ok && !given {
			r = best.Offered
		}
		if r > 0 {
			logf("bench: overload curve at R = %.0f/s", r)
			res := b.overload(ctx, r)
			res.Given = given
			rep.Overload = append(rep.Overload, res)
		}
	}
	if len(opt.scale) > 0 && ctx.Err() == nil {
		b.registerBest = map[string]float64{}
		for _, x := range rep.Runs {
			if best, ok := x.best(); ok && x.Scenario == "register" {
				b.registerBest[x.System] = best.Offered
			}
		}
		for _, sys := range opt.systems {
			if sys == sysSIPp || (sys == sysKamailio && b.kamailio == "") {
				continue
			}
			for _, n := range opt.scale {
				logf("bench: scale %s %d phones", sys, n)
				rep.Scale = append(rep.Scale, b.scalePoint(ctx, sys, n))
			}
		}
	}
	if opt.profile && ctx.Err() == nil && slices.Contains(opt.systems, sysSwitchboard) {
		logf("bench: profiling switchboard")
		rep.Profile = b.profileSwitchboard(ctx, rep)
	}
	if opt.gobench && ctx.Err() == nil {
		logf("bench: go test -bench")
		rep.GoBench, rep.GoBenchErr = runGoBench(ctx, root, opt.benchtime)
	}
	rep.Finished = time.Now()
	rep.MachineAfter = loadNow()
	return rep, nil
}

// moduleRoot is the folder of the switchboard go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the bench from inside the switchboard module (go run ./bench)")
	}
	return mod[:strings.LastIndexByte(mod, '/')], nil
}
