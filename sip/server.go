package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/security"
	"github.com/switchboard/switchboard/sip/auth"
)

// Listener is one transport address to serve, e.g. {"udp", "127.0.0.1:5060"}.
type Listener struct {
	Network string // udp, tcp, tls, ws or wss
	Addr    string // host:port; port 0 picks a free one
}

// Config is what the SIP server needs from the configuration file.
type Config struct {
	Listen        []Listener
	Advertise     string // host[:port] for Via/Contact; default: the first listener
	Realm         string // digest realm; "" = the tenant's domain
	DefaultTenant string // tenant for requests addressed to the server's own IP or host
	// TLSCert and TLSKey are the PEM files of the tls:// and wss://
	// listeners' certificate, reloaded when they change (tlscert.go).
	TLSCert, TLSKey string
	AuthAlgorithms  []auth.Algorithm
	// NonceSecret is the HMAC key digest nonces are signed with (at least
	// auth.MinSecretLen bytes). Instances sharing a store must share it so a
	// challenge from one is answered to another; nil = a random key.
	NonceSecret    []byte
	MinExpires     time.Duration
	MaxExpires     time.Duration
	DefaultExpires time.Duration
	MaxContacts    int // bindings kept per AOR; the oldest is replaced past it
	// Keepalive is the interval of the OPTIONS sent to UDP registrations
	// held here (keepalive.go); 0 = none.
	Keepalive     time.Duration
	UDPReadBuffer int // bytes; the kernel default (~208 KB) drops packets under load
	// fastInline forces the fast path onto the read loop (1) or off it
	// (-1) for tests; 0 decides by inlineFastPath (stateless.go).
	fastInline int8
	// Instance overrides the id stored with the bindings this instance
	// holds, "transport:host:port" where the other instances can reach it
	// (relay.go); "" = derived from the listeners and Advertise at Listen.
	Instance  string
	UserAgent string
	Trunks    []Trunk
	// Resolver resolves trunk addresses (RFC 3263); nil = a resolver using
	// /etc/resolv.conf.
	Resolver Resolver
	// MaxActive bounds the requests handled at once; past it new work is
	// shed (overload.go). Default DefaultMaxActive.
	MaxActive int
	// MaxCallAge drops a confirmed call whose BYE never came (default 12h).
	MaxCallAge time.Duration
	// CallLimits counts the tenants' toll-fraud limits (limits.go); nil =
	// this instance only.
	CallLimits CallLimiter
	// Guard drops banned, flooding and scanning sources before parsing
	// and refuses banned usernames (edge.go); nil = no checks.
	Guard Guard
	// Media configures the calls switchboard answers itself (attendant,
	// screening); see MediaConfig for the defaults.
	Media MediaConfig
	// Park configures call park (park.go); Slots 0 = off.
	Park ParkConfig
	// Apps runs those calls (package apps, set by cmd/switchboard); nil
	// answers attendant steps 480 and skips screened forwards.
	Apps Applications
}

func (c *Config) setDefaults() {
	if c.MinExpires == 0 {
		c.MinExpires = 60 * time.Second
	}
	if c.MaxExpires == 0 {
		c.MaxExpires = time.Hour
	}
	if c.DefaultExpires == 0 {
		c.DefaultExpires = time.Hour
	}
	if c.MaxContacts == 0 {
		c.MaxContacts = 10
	}
	if c.UserAgent == "" {
		c.UserAgent = "switchboard"
	}
	if c.MaxCallAge == 0 {
		c.MaxCallAge = 12 * time.Hour
	}
	if len(c.AuthAlgorithms) == 0 {
		c.AuthAlgorithms = []auth.Algorithm{auth.MD5}
	}
}

// Server is the SIP server: it owns the sockets, the sipgo stack and the
// request handlers.
type Server struct {
	cfg     Config
	dir     dialplan.Reader
	loc     location.Store
	auth    *auth.Authenticator
	log     *slog.Logger
	metrics *metrics
	limits  CallLimiter            // toll-fraud counts (limits.go)
	refused *prometheus.CounterVec // calls_refused_total

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	b2b    *b2bua         // attendant and screening calls (b2bua.go)
	subs   *subscriptions // SUBSCRIBE dialogs we notify (subscribe.go)
	blf    *blf           // dialog event package (blf.go)
	ctl    *callControlMetrics
	ka     *keepalive  // NAT keepalive of UDP registrations (keepalive.go)
	dsync  *dialogSync // dialogs kept in the store across restarts (dialogstore.go)

	trunks   *trunks
	resolver Resolver
	keepers  sync.WaitGroup // trunk registrations and probes (trunk_keep.go)
	dialogs  dialogs
	cdrs     cdrLog          // recent finished calls (cdrlog.go)
	ringing  ringingCalls    // calls ringing users, for pickup (pickup.go)
	parked   parkLot         // parked calls by slot (park.go)
	ownAddrs map[string]bool // host:port of every listener
	bound    []boundAddr
	instance string // this instance's id, set by Listen (relay.go)

	serverHeader sharedHeader // Server: on every response (hotheaders.go)
	date         dateHeader   // Date: on REGISTER's 200

	mu       sync.Mutex
	udp      []net.PacketConn
	parser   *sip.Parser    // the stateless fast path's (stateless.go)
	overload *overload      // load shedding (overload.go)
	udpDrops *udpDrops      // the kernel's receive-buffer drops (udpdrops.go)
	fast     []*udpListener // the UDP sockets as the fast path sees them
	fastOnce sync.Once
	fastPool handlerPool // the fast path's kept handler goroutines (fastpool.go)
	// batched maps each UDP socket to the batchConn sipgo reads it
	// through, and fastInline says whether the fast path answers on the
	// read loop (stateless.go); both set by Serve before any read.
	batched    map[net.PacketConn]*batchConn
	fastInline bool
	tcp        []net.Listener
	streams    []*streamListener // tls, ws, wss (streams.go)
	certs      *certStore        // nil without sip.tls (tlscert.go)
	trunkTLS   *trunkTLS         // carrier TLS connections; nil without trunks (trunk_tls.go)
	ownHosts   map[string]bool
	anyIPOwn   bool // listening on an unspecified address: every IP literal may be ours
	ready      atomic.Bool
	draining   atomic.Bool
	flowUse    flowUse      // flows in use by relayed set-ups, and closed by the drain (drain.go)
	inflight   atomic.Int64 // handlers running (handle.go)
	closeOnce  sync.Once
}

func init() {
	// sipgo refuses every UDP write over UDPMTUSize-200 bytes, responses
	// included, so a 200 OK listing many contacts or a proxied INVITE with
	// a large SDP would silently never leave. Let the kernel fragment them
	// instead: losing them is worse than IP fragmentation.
	sip.UDPMTUSize = 65000
}

// Counter is implemented by location stores that can report live bindings per
// tenant for the registrations_active metric.
type Counter interface {
	Counts() map[string]int
}

// New builds a server. It does not open sockets; call Listen then Serve.
func New(cfg Config, dir dialplan.Reader, loc location.Store, reg prometheus.Registerer, log *slog.Logger) (*Server, error) {
	cfg.setDefaults()
	if log == nil {
		log = slog.Default()
	}
	a, err := auth.New(auth.Config{Algorithms: cfg.AuthAlgorithms, Secret: cfg.NonceSecret})
	if err != nil {
		return nil, fmt.Errorf("sip auth: %w", err)
	}
	var counts func() map[string]int
	if c, ok := loc.(Counter); ok {
		counts = c.Counts
	}
	s := &Server{
		cfg:      cfg,
		dir:      dir,
		loc:      loc,
		auth:     a,
		log:      log,
		metrics:  newMetrics(reg, counts),
		limits:   cfg.CallLimits,
		refused:  newRefusedMetric(reg),
		ownHosts: map[string]bool{"localhost": true},
		ownAddrs: map[string]bool{},
		parser:   sip.NewParser(),
	}
	s.overload = newOverload(reg, &s.inflight, cfg.MaxActive)
	s.udpDrops = newUDPDrops(reg) // udpdrops.go
	if s.limits == nil {
		s.limits = security.NewCallCounter(nil, "", cfg.MaxCallAge, log)
	}
	s.trunks = newTrunks(cfg.Trunks, newTrunkMetrics(reg))
	s.resolver = cfg.Resolver
	if s.resolver == nil {
		s.resolver = defaultResolver(log)
	}
	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		if s.certs, err = newCertStore(cfg.TLSCert, cfg.TLSKey, reg, log); err != nil {
			return nil, err
		}
	}
	if len(cfg.Trunks) > 0 {
		if s.trunkTLS, err = newTrunkTLS(cfg.Trunks, s.tlsAddr); err != nil {
			return nil, err
		}
	}
	clientTLS, err := s.clientTLSConfig()
	if err != nil {
		return nil, err
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgenTLSConfig(clientTLS),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerReadFilter(s.readFilter)),
		sipgo.WithUserAgentTransactionLayerOptions(
			sip.WithTransactionLayerLogger(log),
			sip.WithTransactionLayerUnhandledResponseHandler(s.strayResponse)))
	if err != nil {
		return nil, fmt.Errorf("sip user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("sip server: %w", err)
	}
	var copts []sipgo.ClientOption
	if cfg.Advertise != "" {
		host := cfg.Advertise
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		copts = append(copts, sipgo.WithClientHostname(host))
	}
	client, err := sipgo.NewClient(ua, copts...)
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("sip client: %w", err)
	}
	s.ua, s.srv, s.client = ua, srv, client
	s.subs = newSubscriptions(reg)
	s.ctl = newCallControlMetrics(reg)
	s.ka = newKeepalive(cfg.Keepalive, reg)
	ds, _ := loc.(DialogStore)
	s.dsync = newDialogSync(s, ds)
	bus, _ := loc.(Bus) // the Redis location store shares call state between instances
	s.blf = newBLF(s, bus)
	if s.b2b, err = newB2BUA(s, cfg.Media, reg); err != nil {
		ua.Close()
		return nil, fmt.Errorf("sip media: %w", err)
	}
	for _, m := range []sip.RequestMethod{sip.REGISTER, sip.OPTIONS, sip.INVITE, sip.ACK, sip.BYE,
		sip.CANCEL, sip.INFO, sip.UPDATE, sip.PRACK, sip.SUBSCRIBE, sip.NOTIFY, sip.REFER,
		sip.MESSAGE, sip.PUBLISH} {
		srv.OnRequest(m, s.handle)
	}
	srv.OnNoRoute(s.handle)
	return s, nil
}

// Listen opens every configured socket, so that a taken port fails start-up
// before anything is served.
func (s *Server) Listen() error {
	for _, l := range s.cfg.Listen {
		switch l.Network {
		case "udp":
			pc, err := net.ListenPacket("udp", l.Addr)
			if err != nil {
				s.closeSockets()
				return fmt.Errorf("listen udp %s: %w", l.Addr, err)
			}
			if uc, ok := pc.(*net.UDPConn); ok && s.cfg.UDPReadBuffer > 0 {
				if err := uc.SetReadBuffer(s.cfg.UDPReadBuffer); err != nil {
					s.log.Warn("cannot enlarge UDP receive buffer", "addr", l.Addr, "error", err)
				}
			}
			s.udp = append(s.udp, pc)
			s.addOwn("udp", pc.LocalAddr().String())
		case "tcp":
			ln, err := net.Listen("tcp", l.Addr)
			if err != nil {
				s.closeSockets()
				return fmt.Errorf("listen tcp %s: %w", l.Addr, err)
			}
			s.tcp = append(s.tcp, ln)
			s.addOwn("tcp", ln.Addr().String())
		case "tls", "ws", "wss":
			var conf *tls.Config
			if l.Network != "ws" {
				if s.certs == nil {
					s.closeSockets()
					return fmt.Errorf("listen %s://%s: sip.tls.cert and sip.tls.key are required", l.Network, l.Addr)
				}
				conf = s.serverTLSConfig()
			}
			ln, err := net.Listen("tcp", l.Addr)
			if err != nil {
				s.closeSockets()
				return fmt.Errorf("listen %s %s: %w", l.Network, l.Addr, err)
			}
			s.streams = append(s.streams, newStreamListener(l.Network, ln, conf, s.admitConn))
			s.addOwn(l.Network, ln.Addr().String())
		default:
			s.closeSockets()
			return fmt.Errorf("listen %s://%s: unknown transport", l.Network, l.Addr)
		}
	}
	if s.cfg.Advertise != "" {
		host := s.cfg.Advertise
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		s.ownHosts[strings.ToLower(host)] = true
	}
	s.instance = s.instanceID()
	s.udpDrops.watch(s.udp)
	return nil
}

type boundAddr struct {
	network string
	host    string
	port    int
}

func (s *Server) addOwn(network, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return
	}
	s.ownAddrs[addr] = true
	p, _ := strconv.Atoi(port)
	s.bound = append(s.bound, boundAddr{network: network, host: host, port: p})
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		s.anyIPOwn = true
		return
	}
	s.ownHosts[strings.ToLower(host)] = true
}

// Addrs returns the bound addresses as "network://host:port".
func (s *Server) Addrs() []string {
	var out []string
	for _, pc := range s.udp {
		out = append(out, "udp://"+pc.LocalAddr().String())
	}
	for _, ln := range s.tcp {
		out = append(out, "tcp://"+ln.Addr().String())
	}
	for _, ln := range s.streams {
		out = append(out, ln.network+"://"+ln.Addr().String())
	}
	return out
}

// Ready reports whether the server is listening and not draining.
func (s *Server) Ready() bool { return s.ready.Load() && !s.draining.Load() }

// Serve serves requests on the sockets opened by Listen until ctx ends, then
// shuts down: new requests get 503, in-flight handlers get up to drain to
// finish, then the sockets and the sipgo stack close.
func (s *Server) Serve(ctx context.Context, drain time.Duration) error {
	errc := make(chan error, len(s.udp)+len(s.tcp)+len(s.streams)+1)
	// Started before the listeners, stopped after everything else (the
	// first defer runs last); a request arriving after stop still gets a
	// goroutine of its own.
	defer s.fastPool.start(fastHandlers(), s.handle)()
	s.fastInline = s.inlineFastPath()
	s.batched = make(map[net.PacketConn]*batchConn, len(s.udp))
	for _, pc := range s.udp {
		if u, ok := pc.(*net.UDPConn); ok {
			bc := newBatchConn(u) // recvmmsg and sendmmsg under sipgo's read loop (udpbatch.go)
			bc.writeErr = func(err error) { s.log.Warn("sip respond failed", "error", err) }
			s.batched[pc] = bc
		}
	}
	for _, pc := range s.udp {
		var served net.PacketConn = pc
		if bc := s.batched[pc]; bc != nil {
			served = bc
		}
		go func() { errc <- s.srv.ServeUDP(served) }()
	}
	for _, ln := range s.tcp {
		go func() { errc <- s.srv.ServeTCP(ln) }()
	}
	for _, ln := range s.streams {
		ln.run()
		serve := map[string]func(net.Listener) error{"tls": s.srv.ServeTLS, "ws": s.srv.ServeWS, "wss": s.srv.ServeWSS}[ln.network]
		go func() { errc <- serve(ln) }()
	}
	if s.trunkTLS != nil {
		go func() { errc <- s.srv.ServeTLS(s.trunkTLS.adopt) }()
	}
	if s.certs != nil {
		certCtx, stopCerts := context.WithCancel(ctx)
		certDone := make(chan struct{})
		go func() { defer close(certDone); s.certs.run(certCtx) }()
		defer func() { stopCerts(); <-certDone }()
	}
	s.ready.Store(true)
	s.log.Info("sip listening", "addrs", s.Addrs(), "instance", s.instance)
	keepCtx, stopKeepers := context.WithCancel(context.Background())
	defer stopKeepers()
	s.startKeepers(keepCtx) // trunk registrations and probes (trunk_keep.go)

	defer s.blf.start(ctx)()
	defer s.dsync.start(ctx)()
	kaCtx, kaStop := context.WithCancel(ctx)
	kaDone := make(chan struct{})
	go func() { defer close(kaDone); s.runKeepalive(kaCtx) }()
	defer func() { kaStop(); <-kaDone }()

	var serveErr error
	sweep := time.NewTicker(time.Minute)
	defer sweep.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-errc:
			if err != nil && !errors.Is(err, net.ErrClosed) {
				serveErr = fmt.Errorf("sip serve: %w", err)
			}
			break loop
		case <-sweep.C:
			s.subs.expire(time.Now())
			for _, dl := range s.dialogs.expire(s.cfg.MaxCallAge) {
				s.dialogGone(dl)
				s.metrics.callsActive.Dec()
				s.blfHangup(dl.blf)
				s.log.Warn("call dropped from the table: no BYE within max call age", "call_id", dl.callID)
			}
		}
	}
	// Trunk registrations are removed first, so carriers stop sending new
	// calls while the live ones drain.
	stopKeepers()
	s.waitKeepers(3 * time.Second)
	s.shutdown(drain)
	return serveErr
}

// shutdown drains then closes, in this order (DESIGN.md "shutdown order"):
//
//  1. draining: Ready turns false (/readyz 503) and requests that would start
//     something new (INVITE without To tag, REGISTER, OPTIONS, …) get 503
//     with Retry-After, so phones and carriers move to another instance;
//  2. live calls go on: in-dialog requests (ACK, BYE, re-INVITE, UPDATE,
//     INFO, PRACK) of proxied dialogs are still relayed and B2BUA calls
//     still run, until every call has ended or drain has passed;
//  3. B2BUA calls still up are hung up (their BYEs need the sockets);
//  4. sockets and the sipgo stack close.
//
// Proxied dialogs still up after drain are dropped from the table without a
// BYE: the proxy holds no CSeq of its own to end them with.
func (s *Server) shutdown(drain time.Duration) {
	s.draining.Store(true)
	start := time.Now()
	s.log.Info("sip draining: new calls refused, live calls go on", "calls", s.liveCalls(), "timeout", drain)
	deadline := time.NewTimer(drain)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	moveFlows := func() {
		if n := s.closeIdleFlows(); n > 0 {
			s.log.Info("sip draining: closed idle phone connections so they register elsewhere", "flows", n)
		}
	}
	moveFlows()
wait:
	for s.liveCalls() > 0 || s.inflight.Load() > 0 {
		moveFlows() // flows whose calls ended since
		select {
		case <-deadline.C:
			s.log.Warn("sip shutdown: calls still up after shutdown_timeout; ending them",
				"timeout", drain, "proxied", s.dialogs.Len(), "anchored", s.b2b.running(), "handlers", s.inflight.Load())
			break wait
		case <-tick.C:
		}
	}
	moveFlows() // the flows of the calls that just ended
	s.awaitMoved(moveGrace)
	s.log.Info("sip drained", "after", time.Since(start).Round(time.Millisecond))
	s.b2b.shutdown(2 * time.Second) // hangs up what is left while the sockets are open
	s.subs.close(time.Second)
	s.Close()
}

// liveCalls is the number of calls the server still carries: confirmed
// proxied dialogs and running B2BUA (attendant, screening) calls.
func (s *Server) liveCalls() int {
	return s.dialogs.Len() + s.b2b.running()
}

// Draining reports whether shutdown has begun.
func (s *Server) Draining() bool { return s.draining.Load() }

// Close closes the sockets and the sipgo stack. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.ready.Store(false)
		s.b2b.shutdown(time.Second)
		s.closeSockets()
		s.srv.Close()
		s.ua.Close()
	})
	return nil
}

func (s *Server) closeSockets() {
	for _, pc := range s.udp {
		pc.Close()
	}
	for _, ln := range s.tcp {
		ln.Close()
	}
	for _, ln := range s.streams {
		ln.Close()
	}
	if s.trunkTLS != nil {
		s.trunkTLS.adopt.Close()
	}
}

// tlsAddr is the first tls:// listener's address, else an unspecified
// one (sipgo then puts the connection's own port in the Via).
func (s *Server) tlsAddr() net.Addr {
	for _, ln := range s.streams {
		if ln.network == "tls" {
			return ln.Addr()
		}
	}
	return &net.TCPAddr{IP: net.IPv4zero}
}

// isOwnHost reports whether a request-URI or To host names this server rather
// than a tenant domain (a softphone set up with just the server's IP).
func (s *Server) isOwnHost(host string) bool {
	host = strings.ToLower(strings.Trim(host, "[]"))
	if s.ownHosts[host] {
		return true
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return s.anyIPOwn || s.cfg.DefaultTenant != ""
	}
	return false
}

// tenant finds the tenant a host names: its domain, or the default tenant when
// the host is this server's own address.
func (s *Server) tenant(ctx context.Context, host string) (*dialplan.View, error) {
	v, err := s.dir.Tenant(ctx, host)
	if errors.Is(err, dialplan.ErrNotFound) && s.cfg.DefaultTenant != "" && s.isOwnHost(host) {
		return s.dir.Tenant(ctx, s.cfg.DefaultTenant)
	}
	return v, err
}
