package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchboard/switchboard/media"
)

// MediaConfig configures the legs of calls switchboard answers itself
// (the applications of Config.Apps): where RTP is bound. What they play is
// the applications' business.
type MediaConfig struct {
	Addr  netip.Addr // RTP bind and SDP c= address; default 127.0.0.1
	Ports string     // RTP port range "lo-hi"; default "20000-20999"
	// ScreeningRing is how long a screened forward rings when the forward
	// sets no timeout of its own (default 30s): a voicemail that never
	// answers must not hold the caller for the proxy's 3 minutes.
	ScreeningRing time.Duration
	// Inactivity ends a call whose peer sends no RTP for this long (default
	// media.DefaultInactivity); negative disables it.
	Inactivity time.Duration
}

func (c *MediaConfig) setDefaults() {
	if !c.Addr.IsValid() {
		c.Addr = netip.MustParseAddr("127.0.0.1")
	}
	if c.Ports == "" {
		c.Ports = "20000-20999"
	}
	if c.ScreeningRing == 0 {
		c.ScreeningRing = 30 * time.Second
	}
	if c.Inactivity == 0 {
		c.Inactivity = media.DefaultInactivity
	}
}

// b2bua owns the calls switchboard answers or originates itself, as a
// back-to-back user agent: the RTP port pool and prompts, the table of its
// dialogs by Call-ID (so their in-dialog requests and stray responses reach
// them instead of the proxy), and the goroutines of connected calls, which it
// ends at shutdown.
type b2bua struct {
	s     *Server
	cfg   MediaConfig
	pool  *media.PortPool
	media *media.Metrics
	log   *slog.Logger

	screening *prometheus.CounterVec

	ctx    context.Context // ends at shutdown: every call hangs up
	stop   context.CancelFunc
	wg     sync.WaitGroup // call goroutines
	active atomic.Int64   // call goroutines running, polled by the shutdown drain

	mu   sync.Mutex
	legs map[string]dialogLeg // by Call-ID
}

// dialogLeg is one SIP dialog of a B2BUA call. request and response report
// whether the message was theirs.
type dialogLeg interface {
	request(req *sip.Request, tx sip.ServerTransaction) bool
	response(res *sip.Response) bool
}

func newB2BUA(s *Server, cfg MediaConfig, reg prometheus.Registerer) (*b2bua, error) {
	cfg.setDefaults()
	m := media.NewMetrics(reg)
	pool, err := media.NewPortPool(cfg.Ports, m)
	if err != nil {
		return nil, err
	}
	f := promauto.With(reg)
	ctx, stop := context.WithCancel(context.Background())
	return &b2bua{
		s: s, cfg: cfg, pool: pool, media: m, log: s.log,
		screening: f.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_screening_total",
			Help: "Press-1 screened forwards, by result (accepted, declined, timeout, no_answer, busy, caller_cancelled).",
		}, []string{"result"}),
		ctx: ctx, stop: stop,
		legs: map[string]dialogLeg{},
	}, nil
}

// request hands an in-dialog request to the B2BUA dialog it belongs to; false
// when it is not one of ours (the proxy handles it).
func (b *b2bua) request(req *sip.Request, tx sip.ServerTransaction) bool {
	if b == nil || req.CallID() == nil {
		return false
	}
	b.mu.Lock()
	l := b.legs[req.CallID().Value()]
	b.mu.Unlock()
	return l != nil && l.request(req, tx)
}

// response hands a response that matched no transaction (a retransmitted
// 2xx) to the B2BUA dialog it belongs to.
func (b *b2bua) response(res *sip.Response) bool {
	if b == nil || res.CallID() == nil {
		return false
	}
	b.mu.Lock()
	l := b.legs[res.CallID().Value()]
	b.mu.Unlock()
	return l != nil && l.response(res)
}

func (b *b2bua) register(callID string, l dialogLeg) {
	b.mu.Lock()
	b.legs[callID] = l
	b.mu.Unlock()
}

func (b *b2bua) unregister(callID string, l dialogLeg) {
	b.mu.Lock()
	if b.legs[callID] == l {
		delete(b.legs, callID)
	}
	b.mu.Unlock()
}

// Len is the number of B2BUA dialogs live.
func (b *b2bua) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.legs)
}

// running is the number of B2BUA call goroutines; nil-safe.
func (b *b2bua) running() int {
	if b == nil {
		return 0
	}
	return int(b.active.Load())
}

// goCall runs f as a call goroutine: tracked for shutdown, its panics
// recovered and counted.
func (b *b2bua) goCall(what string, f func(ctx context.Context)) {
	b.wg.Add(1)
	b.active.Add(1)
	go func() {
		defer b.wg.Done()
		defer b.active.Add(-1)
		defer b.recoverPanic(what)
		f(b.ctx)
	}()
}

func (b *b2bua) recoverPanic(what string) {
	if p := recover(); p != nil {
		b.s.metrics.panics.Inc()
		b.log.Error("b2bua panic", "in", what, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	}
}

// shutdown hangs up every B2BUA call and waits for them, at most wait. The
// sockets must still be open: the BYEs leave through them.
func (b *b2bua) shutdown(wait time.Duration) {
	if b == nil {
		return
	}
	b.stop()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
		b.log.Warn("b2bua calls still running after shutdown timeout", "timeout", wait)
	}
}

// newSession opens an RTP session on a pool port and returns it with the
// SDP description of our end.
func (b *b2bua) newSession() (*media.Session, media.Local, error) {
	sess, err := media.NewSession(media.SessionConfig{
		Addr: b.cfg.Addr, Pool: b.pool, Metrics: b.media, Inactivity: b.cfg.Inactivity,
	})
	if err != nil {
		return nil, media.Local{}, err
	}
	local := media.Local{Addr: b.cfg.Addr, Port: int(sess.LocalAddr().Port()), SessionID: uint64(time.Now().UnixNano())}
	return sess, local, nil
}

// runSession runs s's receiver in a goroutine; Close waits for it.
func runSession(ctx context.Context, s *media.Session) {
	go func() { _ = s.Run(ctx) }()
}

// playing is a prompt or tone being played on a session from its own
// goroutine, so the call's goroutine stays free to read digits and events.
// It has its own context: a stop that comes before the goroutine has
// started playing must still stop it (Player.Stop alone would miss it).
type playing struct {
	p      *media.Player
	cancel context.CancelFunc
	done   chan struct{}
}

func play(ctx context.Context, p *media.Player, src media.Source) *playing {
	ctx, cancel := context.WithCancel(ctx)
	pl := &playing{p: p, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(pl.done)
		_, _ = p.Play(ctx, src)
	}()
	return pl
}

// stop interrupts the playback and waits until it has returned; nil-safe.
func (pl *playing) stop() {
	if pl == nil {
		return
	}
	pl.cancel()
	pl.p.Stop()
	<-pl.done
}

// finished is closed when the playback ends by itself; nil-safe (never).
func (pl *playing) finished() <-chan struct{} {
	if pl == nil {
		return nil
	}
	return pl.done
}

// sdpStatus maps an offer/answer error to the response for the caller.
func sdpStatus(err error) (int, string) {
	switch {
	case err == nil:
		return 200, "OK"
	case errors.Is(err, media.ErrNoCommonCodec):
		return 488, "Not Acceptable Here"
	case errors.Is(err, media.ErrMalformed):
		return 400, "Bad Request"
	case errors.Is(err, media.ErrNoPorts):
		return 503, "Service Unavailable"
	}
	return 500, "Server Internal Error"
}
