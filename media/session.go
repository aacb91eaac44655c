package media

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// Session errors.
var (
	ErrInactive = errors.New("media: no RTP received within the inactivity timeout")
	ErrClosed   = errors.New("media: session closed")
)

// Defaults of SessionConfig.
const (
	DefaultLatchWindow = 5 * time.Second
	DefaultInactivity  = 30 * time.Second
)

const (
	frameDuration = Ptime * time.Millisecond
	frameSamples  = 8000 * Ptime / 1000 // 160 timestamp units per frame
	// maxLate is how many frames a local Send may fall behind its schedule
	// and still be sent at once to catch up; later than that it starts a new
	// talkspurt.
	maxLate = 3
)

// SessionConfig configures a Session.
type SessionConfig struct {
	Addr    netip.Addr // address to bind (and to put in SDP)
	Pool    *PortPool
	Metrics *Metrics // nil: none
	// LatchWindow bounds symmetric RTP: see Session. 0 means
	// DefaultLatchWindow; negative disables latching to other addresses.
	LatchWindow time.Duration
	// Inactivity ends Run with ErrInactive when no RTP arrives for this
	// long while the peer is expected to send. 0 means DefaultInactivity;
	// negative disables it.
	Inactivity time.Duration
	DTMFBuffer int // unread key presses kept; 0 means DefaultDTMFBuffer

	// For tests: nil means the system clock, a random sequence number
	// start, and random SSRC and initial timestamp.
	Clock     Clock
	Sequencer rtp.Sequencer
	Random    func() uint32
}

// remote is what the latest SDP says about the peer.
type remote struct {
	neg Negotiated
	at  time.Time // when it was set: the latching window opens
}

// Session is one RTP stream on one UDP port, from the pool.
//
// Sending: Send sends one 20 ms frame in the negotiated codec, paced on a
// schedule computed from the talkspurt's start (start + n*20 ms, timestamp
// + n*160), so pacing never drifts however late each wake-up is. A Send
// more than three frames behind the schedule (the sender paused: silence)
// starts a new talkspurt: marker bit set, timestamp advanced by the time
// that passed. SSRC, initial sequence number and timestamp are random. One
// source feeds a session at a time: a Player, or a Bridge relaying the other
// leg; at each switch the stream stays continuous (see Bridge).
//
// Receiving and symmetric RTP (latching), for peers behind NAT: the session
// sends to the SDP address until a valid RTP packet (version 2, negotiated
// payload type) arrives. The first such packet latches the session to its
// source address — from then on it sends there and ignores packets from any
// other address — provided it comes from the SDP address or arrives within
// LatchWindow of the SDP being set (SetRemote); after the window only the
// SDP address can latch. A new SDP with a different address (a re-INVITE)
// unlatches and opens a new window.
//
// Lifecycle: NewSession binds the port; SetRemote before or during Run; Run
// receives until ctx ends, the inactivity timeout, or Close; Close releases
// the socket and the port, and is idempotent.
type Session struct {
	cfg      SessionConfig
	clock    Clock
	seq      rtp.Sequencer
	conn     *net.UDPConn
	port     int
	dtmf     *Detector
	done     chan struct{}
	lastRx   atomic.Int64 // clock time of the last accepted packet, UnixNano
	relayTo  atomic.Pointer[Session]
	rec      atomic.Pointer[Recorder] // recorder.go
	remoteMu sync.Mutex
	rem      remote
	latched  netip.AddrPort // zero until latched

	stateMu sync.Mutex
	running bool
	closed  bool
	err     error
	runDone chan struct{}

	outMu   sync.Mutex
	out     outState
	buf     [1500]byte
	scratch [1500]byte
}

// outState is the outgoing stream: one SSRC, and a timestamp line that every
// source continues.
type outState struct {
	ssrc   uint32
	sent   bool
	lastTS uint32
	lastAt time.Time
	// Local talkspurt: frame n goes at t0+n*20ms with timestamp ts0+n*160.
	local bool
	t0    time.Time
	ts0   uint32
	n     int64
	// Relayed source: its SSRC and the offset added to its timestamps.
	relaying  bool
	relaySSRC uint32
	tsOffset  uint32
}

// NewSession takes a port from cfg.Pool and binds it on cfg.Addr. A port
// that cannot be bound goes back to the pool and the next is tried.
func NewSession(cfg SessionConfig) (*Session, error) {
	if cfg.Pool == nil {
		return nil, errors.New("media: session needs a port pool")
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Random == nil {
		cfg.Random = rand.Uint32
	}
	if cfg.Sequencer == nil {
		cfg.Sequencer = rtp.NewRandomSequencer()
	}
	if cfg.LatchWindow == 0 {
		cfg.LatchWindow = DefaultLatchWindow
	}
	if cfg.Inactivity == 0 {
		cfg.Inactivity = DefaultInactivity
	}
	var lastErr error
	for range 8 {
		port, err := cfg.Pool.Get()
		if err != nil {
			return nil, err
		}
		conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(cfg.Addr, uint16(port))))
		if err != nil {
			cfg.Pool.Put(port)
			lastErr = err
			continue
		}
		s := &Session{
			cfg: cfg, clock: cfg.Clock, seq: cfg.Sequencer, conn: conn, port: port,
			dtmf: NewDetector(cfg.DTMFBuffer, cfg.Metrics),
			done: make(chan struct{}), runDone: make(chan struct{}),
		}
		s.out.ssrc = cfg.Random()
		s.lastRx.Store(s.clock.Now().UnixNano())
		cfg.Metrics.sessionOpened()
		return s, nil
	}
	return nil, fmt.Errorf("media: bind RTP port: %w", lastErr)
}

// LocalAddr returns the bound address and port, for Local.
func (s *Session) LocalAddr() netip.AddrPort {
	return netip.AddrPortFrom(s.cfg.Addr, uint16(s.port))
}

// DTMF returns the session's detector: RFC 4733 packets of the negotiated
// telephone-event type are fed to it, and sip feeds it INFO bodies.
func (s *Session) DTMF() *Detector { return s.dtmf }

// SetRemote applies a negotiation: where to send, payload types, direction.
// Call it again for every re-INVITE.
func (s *Session) SetRemote(n Negotiated) {
	s.remoteMu.Lock()
	defer s.remoteMu.Unlock()
	if n.RemoteRTP != s.rem.neg.RemoteRTP {
		s.latched = netip.AddrPort{}
	}
	s.rem = remote{neg: n, at: s.clock.Now()}
}

// Remote returns the address RTP is sent to: the latched one, else the SDP's.
func (s *Session) Remote() netip.AddrPort {
	s.remoteMu.Lock()
	defer s.remoteMu.Unlock()
	return s.target()
}

func (s *Session) target() netip.AddrPort {
	if s.latched.IsValid() {
		return s.latched
	}
	return s.rem.neg.RemoteRTP
}

// Negotiated returns the latest negotiation (SetRemote): a bridge reads
// OnHold from it after a re-INVITE.
func (s *Session) Negotiated() Negotiated { return s.negotiated() }

func (s *Session) negotiated() Negotiated {
	s.remoteMu.Lock()
	defer s.remoteMu.Unlock()
	return s.rem.neg
}

// Done is closed when the session ends: Run returned or Close was called.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns why the session ended (ErrInactive, ErrClosed, the context's
// error), nil while it runs.
func (s *Session) Err() error {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	return s.err
}

// end records why the session ended, once.
func (s *Session) end(err error) {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	if s.err == nil {
		s.err = err
		close(s.done)
	}
}

// Run receives RTP until ctx ends, no RTP arrives for the inactivity
// timeout (ErrInactive), or Close (ErrClosed). It owns one reader goroutine
// and returns only after it has stopped. Run can be called once.
func (s *Session) Run(ctx context.Context) error {
	s.stateMu.Lock()
	switch {
	case s.closed:
		s.stateMu.Unlock()
		return ErrClosed
	case s.running:
		s.stateMu.Unlock()
		return errors.New("media: session already running")
	}
	s.running = true
	s.stateMu.Unlock()
	defer close(s.runDone)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.lastRx.Store(s.clock.Now().UnixNano())
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer cancel() // the socket closed: stop watching
		s.readLoop()
	}()
	err := s.watch(ctx)
	_ = s.conn.SetReadDeadline(time.Unix(1, 0)) // wake the reader
	<-readerDone
	s.stateMu.Lock()
	if s.closed {
		err = ErrClosed
	}
	s.stateMu.Unlock()
	s.end(err)
	return err
}

// watch sleeps until the inactivity deadline, which each accepted packet
// pushes back; while the peer is not expected to send (hold, recvonly on
// its side) the deadline keeps moving.
func (s *Session) watch(ctx context.Context) error {
	if s.cfg.Inactivity < 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	for {
		deadline := time.Unix(0, s.lastRx.Load()).Add(s.cfg.Inactivity)
		if err := s.clock.Sleep(ctx, deadline); err != nil {
			return err
		}
		now := s.clock.Now()
		if n := s.negotiated(); !n.Direction.Receives() || n.OnHold {
			s.lastRx.Store(now.UnixNano())
			continue
		}
		if !now.Before(time.Unix(0, s.lastRx.Load()).Add(s.cfg.Inactivity)) {
			return ErrInactive
		}
	}
}

func (s *Session) readLoop() {
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP port unreachable surfacing on Linux
		}
		s.receive(buf[:n], from)
	}
}

// receive handles one datagram: filter, latch, then DTMF or relay.
func (s *Session) receive(b []byte, from netip.AddrPort) {
	var p rtp.Packet
	if err := p.Unmarshal(b); err != nil || p.Version != 2 {
		s.cfg.Metrics.ignoredPacket("malformed")
		return
	}
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	s.remoteMu.Lock()
	n := s.rem.neg
	known := n.PayloadType == p.PayloadType && n.Codec != 0 || n.DTMFPayloadType != 0 && n.DTMFPayloadType == p.PayloadType
	if !known {
		s.remoteMu.Unlock()
		s.cfg.Metrics.ignoredPacket("payload_type")
		return
	}
	accept := s.accept(from)
	s.remoteMu.Unlock()
	if !accept {
		s.cfg.Metrics.ignoredPacket("source")
		return
	}
	s.lastRx.Store(s.clock.Now().UnixNano())
	s.cfg.Metrics.received(len(b))
	if n.DTMFPayloadType != 0 && p.PayloadType == n.DTMFPayloadType {
		_ = s.dtmf.Feed(p.Timestamp, p.Payload)
	}
	if r := s.rec.Load(); r != nil && p.PayloadType == n.PayloadType {
		r.feed(n.Codec, p.Timestamp, p.Payload)
	}
	if dst := s.relayTo.Load(); dst != nil {
		dst.relay(&p, n)
	}
}

// accept applies the latching rule (see Session); remoteMu is held.
func (s *Session) accept(from netip.AddrPort) bool {
	if s.latched.IsValid() {
		return from == s.latched
	}
	inWindow := s.cfg.LatchWindow > 0 && s.clock.Now().Sub(s.rem.at) <= s.cfg.LatchWindow
	if from == s.rem.neg.RemoteRTP || inWindow {
		s.latched = from
		return true
	}
	return false
}

// Send sends one 20 ms frame, encoded in the negotiated codec, at its slot
// in the schedule (see Session); it blocks until then or until ctx ends.
// While the stream is on hold the frame is paced but not sent.
func (s *Session) Send(ctx context.Context, frame []byte) error {
	ts, marker, err := s.nextSlot(ctx)
	if err != nil {
		return err
	}
	s.outMu.Lock()
	defer s.outMu.Unlock()
	return s.writeLocked(s.negotiated().PayloadType, marker, ts, frame)
}

// SendDTMF sends a key press as RFC 4733 events lasting d (at least 20 ms),
// paced like frames: one packet per 20 ms slot, all with the timestamp of
// the first, the first with the marker bit, the end packet three times.
// It does nothing when the peer did not negotiate telephone-event.
func (s *Session) SendDTMF(ctx context.Context, digit byte, d time.Duration) error {
	samples := min(d.Milliseconds()*8, 0xFFFF)
	events, err := DTMFEvents(digit, uint16(samples))
	if err != nil {
		return err
	}
	pt := s.negotiated().DTMFPayloadType
	if pt == 0 {
		return nil
	}
	var start uint32
	for i, ev := range events {
		ts, _, err := s.nextSlot(ctx)
		if err != nil {
			return err
		}
		if i == 0 {
			start = ts
		}
		s.outMu.Lock()
		err = s.writeLocked(pt, i == 0, start, ev)
		s.outMu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// nextSlot takes the next slot of the local schedule and waits for it.
func (s *Session) nextSlot(ctx context.Context) (ts uint32, marker bool, err error) {
	s.outMu.Lock()
	now := s.clock.Now()
	o := &s.out
	if !o.local || now.After(o.t0.Add(time.Duration(o.n+maxLate)*frameDuration)) {
		o.ts0 = s.continueTS(now)
		o.t0, o.n, o.local, o.relaying = now, 0, true, false
		marker = true
	}
	at := o.t0.Add(time.Duration(o.n) * frameDuration)
	ts = o.ts0 + uint32(o.n)*frameSamples
	o.n++
	s.outMu.Unlock()
	if err := s.clock.Sleep(ctx, at); err != nil {
		return 0, false, err
	}
	return ts, marker, nil
}

// continueTS returns the timestamp for a new talkspurt or source starting
// now: the last timestamp sent plus the time since, in whole frames (at
// least one), so the receiver sees silence, never overlap. outMu is held.
func (s *Session) continueTS(now time.Time) uint32 {
	o := &s.out
	if !o.sent {
		return s.cfg.Random()
	}
	frames := int64((now.Sub(o.lastAt) + frameDuration - 1) / frameDuration)
	return o.lastTS + uint32(max(frames, 1))*frameSamples
}

// relay sends a packet received on another session's leg (src describes
// that leg), rewriting SSRC, sequence number and timestamp, and
// transcoding G.711 when the legs differ. Called from the other session's
// reader.
func (s *Session) relay(p *rtp.Packet, src Negotiated) {
	dst := s.negotiated()
	pt := dst.PayloadType
	if src.DTMFPayloadType != 0 && p.PayloadType == src.DTMFPayloadType {
		if dst.DTMFPayloadType == 0 {
			return
		}
		pt = dst.DTMFPayloadType
	}
	s.outMu.Lock()
	defer s.outMu.Unlock()
	o := &s.out
	marker := p.Marker
	if !o.relaying || o.relaySSRC != p.SSRC {
		o.tsOffset = s.continueTS(s.clock.Now()) - p.Timestamp
		o.relaying, o.relaySSRC, o.local = true, p.SSRC, false
		marker = true
	}
	payload := p.Payload
	if pt == dst.PayloadType && src.Codec != dst.Codec {
		payload = append(s.scratch[:0], payload...)
		transcode(payload, src.Codec, dst.Codec)
	}
	_ = s.writeLocked(pt, marker, p.Timestamp+o.tsOffset, payload)
}

// writeLocked sends one packet to the current target; outMu is held.
func (s *Session) writeLocked(pt uint8, marker bool, ts uint32, payload []byte) error {
	o := &s.out
	o.sent, o.lastTS, o.lastAt = true, ts, s.clock.Now()
	s.remoteMu.Lock()
	n, to := s.rem.neg, s.target()
	s.remoteMu.Unlock()
	if !n.Direction.Sends() || !to.IsValid() || to.Addr().IsUnspecified() {
		return nil
	}
	h := rtp.Header{Version: 2, Marker: marker, PayloadType: pt, SequenceNumber: s.seq.NextSequenceNumber(), Timestamp: ts, SSRC: o.ssrc}
	size, err := rtp.MarshalPacketTo(s.buf[:], &h, payload)
	if err != nil {
		return fmt.Errorf("media: marshal RTP: %w", err)
	}
	if _, err := s.conn.WriteToUDPAddrPort(s.buf[:size], to); err != nil {
		if errors.Is(err, net.ErrClosed) {
			return ErrClosed
		}
		return nil // a transient send error is a lost packet, like on the wire
	}
	s.cfg.Metrics.sent(size)
	return nil
}

// Close ends the session: it closes the socket, waits for Run to return,
// and returns the port to the pool. Further calls do nothing.
func (s *Session) Close() error {
	s.stateMu.Lock()
	if s.closed {
		s.stateMu.Unlock()
		return nil
	}
	s.closed = true
	running := s.running
	s.stateMu.Unlock()
	err := s.conn.Close()
	if running {
		<-s.runDone
	}
	s.relayTo.Store(nil)
	s.end(ErrClosed)
	s.cfg.Pool.Put(s.port)
	s.cfg.Metrics.sessionClosed()
	return err
}
