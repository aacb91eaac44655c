package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/switchboard/switchboard/admin"
	"github.com/switchboard/switchboard/apps"
	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/sip"
	"github.com/switchboard/switchboard/sip/auth"
)

// serve runs the PBX until ctx ends (SIGINT/SIGTERM).
//
// Shutdown order: on SIGTERM the SIP server turns not-ready (/readyz 503),
// refuses new INVITEs and registrations with 503 + Retry-After and keeps
// relaying the in-dialog requests of every live call (proxied or B2BUA)
// until they end or shutdown_timeout passes, then closes its sockets; the
// stores' background work stops after that; HTTP closes last.
func serve(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on `host:port` (default: off; for profiling only)")
	cfg, err := config.FromArgs(fs, args, environ)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: invalid configuration:\n%v\n", err)
		return 1
	}
	log := newLogger(cfg.Log, stderr)
	gcLoaded := tuneGC(environ)
	if *pprofAddr != "" {
		addr, closePprof, err := listenPprof(*pprofAddr)
		if err != nil {
			fmt.Fprintf(stderr, "switchboard: %v\n", err)
			return 1
		}
		defer closePprof()
		log.Info("pprof listening", "addr", "http://"+addr+"/debug/pprof/")
	}

	dir, demo, err := loadDirectory(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: invalid directory:\n%v\n", err)
		return 1
	}
	if demo != nil && cfg.SIP.DefaultTenant == "" {
		cfg.SIP.DefaultTenant = dir.Tenants[0].Domain
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	st, err := openStores(ctx, cfg, dir, reg, log)
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return 1
	}
	defer st.Close()
	store, loc := st.dir, st.loc
	dir = nil // the stores hold their own copies; let gcLoaded free this one
	defer gcLoaded()()

	sipCfg, err := sipConfig(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return 1
	}
	sipCfg.NonceSecret = st.nonceSecret
	// The B2BUA applications (attendant, screening) plug into sip through
	// its Applications interface: sip never imports apps.
	if sipCfg.Apps, err = apps.New(appsConfig(cfg, st.mail), reg, log); err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return 1
	}
	guard := newGuard(cfg, st, reg, log)
	sipCfg.Guard = guard
	sipCfg.CallLimits = newCallCounter(st, log)
	if len(cfg.Trunks) > 0 {
		res, err := newResolver(cfg)
		if err != nil {
			fmt.Fprintf(stderr, "switchboard: %v\n", err)
			return 1
		}
		defer res.Close()
		sipCfg.Resolver = res
	}
	sipSrv, err := sip.New(sipCfg, store, loc, reg, log)
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return 1
	}
	mwi := apps.NewMWI(store, st.mail, log)
	mwi.Attach(sipSrv, reg)
	if cfg.Voicemail.UnsolicitedMWI {
		mwi.Unsolicited(sipSrv)
	}
	if err := sipSrv.Listen(); err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return 1
	}
	invite, err := inviteConfig(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return 1
	}
	apiOpts, err := adminOptions(cfg.HTTP.AdminToken, store, st.accounts, loc, sipSrv, guard, st.mail, invite, log)
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return 1
	}
	httpSrv := admin.New(reg, func(ctx context.Context) error {
		if !sipSrv.Ready() {
			return errors.New("sip not listening")
		}
		if err := st.Health(ctx); err != nil {
			return admin.Degraded{Err: err}
		}
		return nil
	}, log, apiOpts...)
	if err := httpSrv.Listen(cfg.HTTP.Listen); err != nil {
		sipSrv.Close()
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return 1
	}
	if demo != nil {
		printDemo(stdout, demo, cfg, sipSrv.Addrs(), httpSrv.Addr())
	}

	// The stores and HTTP outlive SIP's drain: calls still up need the
	// directory cache kept fresh, and /readyz must answer 503 meanwhile.
	httpCtx, stopHTTP := context.WithCancel(context.Background())
	defer stopHTTP()
	storeCtx, stopStores := context.WithCancel(context.Background())
	defer stopStores()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer stopHTTP()
		defer stopStores()
		return sipSrv.Serve(gctx, cfg.ShutdownTimeout)
	})
	g.Go(func() error { return st.Run(storeCtx) })
	g.Go(func() error { return guard.Run(storeCtx) }) // bans outlive the drain, like the stores
	g.Go(func() error { return mwi.Run(storeCtx) })
	g.Go(func() error { return httpSrv.Serve(httpCtx, 5*time.Second) })
	g.Go(func() error { reloadOnHUP(httpCtx, sipSrv); return nil }) // ends with SIP, like HTTP
	log.Info("switchboard started", "sip", sipSrv.Addrs(), "http", httpSrv.Addr(), "version", version())
	if err := g.Wait(); err != nil {
		log.Error("switchboard stopped", "error", err)
		return 1
	}
	log.Info("switchboard stopped")
	return 0
}

// loadDirectory reads the directory file, or with no config file at all the
// embedded demo directory, whose plaintext passwords are returned for printing.
func loadDirectory(cfg config.Config) (*dialplan.Directory, *dialplan.Directory, error) {
	opts := dialplan.LoadOptions{Realm: cfg.SIP.Realm, Trunks: trunkNames(cfg)}
	if cfg.Directory != "" {
		d, err := dialplan.Load(cfg.Directory, opts)
		return d, nil, err
	}
	if cfg.File != "" {
		return &dialplan.Directory{}, nil, nil
	}
	demo, err := dialplan.Demo()
	if err != nil {
		return nil, nil, fmt.Errorf("demo directory: %w", err)
	}
	shown := dialplan.Clone(demo)
	return demo, shown, nil
}

func sipConfig(cfg config.Config) (sip.Config, error) {
	ls, err := cfg.SIP.Listeners()
	if err != nil {
		return sip.Config{}, err
	}
	sc := sip.Config{
		Advertise:      cfg.SIP.Advertise,
		Realm:          cfg.SIP.Realm,
		DefaultTenant:  cfg.SIP.DefaultTenant,
		TLSCert:        cfg.SIP.TLS.Cert,
		TLSKey:         cfg.SIP.TLS.Key,
		MinExpires:     cfg.SIP.MinExpires,
		MaxExpires:     cfg.SIP.MaxExpires,
		DefaultExpires: cfg.SIP.DefaultExpires,
		Keepalive:      cfg.SIP.Keepalive,
		UDPReadBuffer:  cfg.SIP.UDPReadBuffer,
		Park:           sip.ParkConfig{Timeout: cfg.SIP.Park.Timeout, First: cfg.SIP.Park.FirstSlot, Slots: cfg.SIP.Park.Slots},
		Media: sip.MediaConfig{ // the legs of attendant and screening calls
			Ports:         cfg.Media.Ports,
			Inactivity:    cfg.Media.Inactivity,
			ScreeningRing: cfg.Media.ScreeningRing,
		},
	}
	if addr, err := netip.ParseAddr(cfg.Media.Address); err == nil {
		sc.Media.Addr = addr
	}
	for _, l := range ls {
		sc.Listen = append(sc.Listen, sip.Listener{Network: l.Network, Addr: l.Addr})
	}
	if sc.Trunks, err = sipTrunks(cfg); err != nil {
		return sip.Config{}, err
	}
	for _, a := range cfg.SIP.AuthAlgorithms {
		sc.AuthAlgorithms = append(sc.AuthAlgorithms, auth.Algorithm(a))
	}
	return sc, nil
}

func newLogger(c config.LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// printDemo tells the person who just typed the demo command how to register a
// phone to it.
func printDemo(w io.Writer, demo *dialplan.Directory, cfg config.Config, sipAddrs []string, httpAddr string) {
	t := demo.Tenants[0]
	sipAddr := ""
	if len(sipAddrs) > 0 {
		_, sipAddr, _ = strings.Cut(sipAddrs[0], "://")
	}
	host, port, _ := net.SplitHostPort(sipAddr)
	fmt.Fprintf(w, "switchboard demo PBX — tenant %s (%s), SIP %s, HTTP http://%s\n\n",
		t.Domain, t.Name, strings.Join(sipAddrs, " "), httpAddr)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tEXTENSION\tPASSWORD\tALIASES\tNAME")
	for _, u := range t.Users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.ID, strings.Join(u.Extensions, ","), u.Password,
			strings.Join(u.Aliases, ","), u.Name)
	}
	tw.Flush()
	if len(t.Users) > 0 {
		u := t.Users[0]
		fmt.Fprintf(w, "\nSoftphone: server %s, port %s, username %s, password %s (domain %s or just the IP).\n",
			host, port, u.Extensions[0], u.Password, t.Domain)
		fmt.Fprintf(w, "Try: sipp -sn uac ... or baresip with <sip:%s@%s;transport=udp>;auth_pass=%s\n",
			u.Extensions[0], sipAddr, u.Password)
	}
	fmt.Fprintf(w, "Metrics: curl http://%s/metrics\n\n", httpAddr)
}

// defaultGOGC is the GC target used unless GOGC is set. SIP traffic is
// allocation-heavy and the live heap small (bindings, dialogs), so the
// default 100 spent about a quarter of the CPU in GC under load; 400 cut CPU
// per REGISTER by ~25% in the bench driver (BENCHMARKS.md) for a larger but
// still bounded heap. GOGC and GOMEMLIMIT in the environment win.
const defaultGOGC = 400

// tuneGC sets the memory limit at once, and returns what to call once the
// directory is loaded: loading keeps Go's GOGC 100, since decoding and
// compiling a large directory is the process's biggest transient (peak RSS
// for 100,000 users: 991 MB with 400), and the call then
// hands that transient back to the OS and switches to defaultGOGC for
// traffic (RSS after start: 994 MB before this, 189 MB after; peak 500 MB).
// Loading runs under the memory ceiling (a 1,000,000-user directory is
// over a GB live); after it the limit follows the live heap (memlimit.go)
// until the returned stop is called.
func tuneGC(environ []string) (loaded func() (stop func())) {
	gogc, limit := true, true
	for _, kv := range environ {
		gogc = gogc && !strings.HasPrefix(kv, "GOGC=")
		limit = limit && !strings.HasPrefix(kv, "GOMEMLIMIT=")
	}
	policy := newMemoryPolicy(cgroupMemoryMax(), physicalMemory())
	if limit {
		debug.SetMemoryLimit(policy.ceiling)
	}
	return func() func() {
		debug.FreeOSMemory()
		if gogc {
			debug.SetGCPercent(defaultGOGC)
		}
		if !limit {
			return func() {}
		}
		return followLiveHeap(policy, 2*time.Second, debug.SetMemoryLimit)
	}
}

// reloadOnHUP reloads the TLS certificate on every SIGHUP until ctx ends
// (without it SIGHUP would end the process). A certificate that fails to
// load keeps the old one; the SIP server logs why.
func reloadOnHUP(ctx context.Context, s *sip.Server) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_ = s.ReloadCertificates()
		}
	}
}
