package media

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtp"
)

var loopback = netip.MustParseAddr("127.0.0.1")

func newTestPool(t *testing.T, m *Metrics) *PortPool {
	t.Helper()
	p, err := NewPortPool("42000-42199", m)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// randoms returns the values in turn: SSRC first, then initial timestamps.
func randoms(vals ...uint32) func() uint32 {
	i := 0
	return func() uint32 {
		v := vals[i%len(vals)]
		i++
		return v
	}
}

type peer struct {
	t    *testing.T
	conn *net.UDPConn
}

func newPeer(t *testing.T) *peer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &peer{t: t, conn: c}
}

func (p *peer) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// read returns the next RTP packet, failing after 2 s.
func (p *peer) read() *rtp.Packet {
	p.t.Helper()
	buf := make([]byte, 1500)
	_ = p.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := p.conn.Read(buf)
	if err != nil {
		p.t.Fatalf("peer read: %v", err)
	}
	var pkt rtp.Packet
	if err := pkt.Unmarshal(append([]byte(nil), buf[:n]...)); err != nil {
		p.t.Fatal(err)
	}
	return &pkt
}

// quiet asserts that nothing arrives for a moment.
func (p *peer) quiet() {
	p.t.Helper()
	buf := make([]byte, 1500)
	_ = p.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := p.conn.Read(buf); err == nil {
		p.t.Fatalf("peer got %d unexpected bytes", n)
	}
}

func (p *peer) send(to netip.AddrPort, h rtp.Header, payload []byte) {
	p.t.Helper()
	h.Version = 2
	b, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Fatal(err)
	}
}

func newTestSession(t *testing.T, cfg SessionConfig) *Session {
	t.Helper()
	if cfg.Pool == nil {
		cfg.Pool = newTestPool(t, cfg.Metrics)
	}
	cfg.Addr = loopback
	s, err := NewSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSessionPacing(t *testing.T) {
	clk := newStepClock()
	s := newTestSession(t, SessionConfig{Clock: clk, Sequencer: rtp.NewFixedSequencer(1000), Random: randoms(0xCAFEBABE, 5000)})
	p := newPeer(t)
	s.SetRemote(Negotiated{RemoteRTP: p.addr(), PayloadType: 0, Codec: PCMU})
	ctx := context.Background()
	frame := make([]byte, 160)

	type want struct {
		seq    uint16
		ts     uint32
		marker bool
		at     time.Duration // since epoch
	}
	var wants []want
	// Ten frames, each Send called 3 ms of "work" after the previous one
	// returned: the schedule stays on epoch + n*20ms, no drift.
	for n := range 10 {
		if err := s.Send(ctx, frame); err != nil {
			t.Fatal(err)
		}
		clk.Advance(3 * time.Millisecond)
		wants = append(wants, want{uint16(1000 + n), 5000 + uint32(n)*160, n == 0, time.Duration(n) * 20 * time.Millisecond})
	}
	// 50 ms late (under three frames): sent at once to catch up, same line.
	clk.Advance(50 * time.Millisecond) // now epoch+233ms; slot 10 was due at 200ms
	if err := s.Send(ctx, frame); err != nil {
		t.Fatal(err)
	}
	wants = append(wants, want{1010, 5000 + 10*160, false, 200 * time.Millisecond})
	// A second of silence: new talkspurt, marker, timestamp moved on by the
	// elapsed time in whole frames: 1233ms - 233ms(last sent) → 50 frames.
	clk.Advance(time.Second)
	if err := s.Send(ctx, frame); err != nil {
		t.Fatal(err)
	}
	wants = append(wants, want{1011, 5000 + 10*160 + 50*160, true, 1233 * time.Millisecond})
	if err := s.Send(ctx, frame); err != nil {
		t.Fatal(err)
	}
	wants = append(wants, want{1012, 5000 + 10*160 + 51*160, false, 1253 * time.Millisecond})

	sleeps := clk.Sleeps()
	for i, w := range wants {
		pkt := p.read()
		if pkt.SequenceNumber != w.seq || pkt.Timestamp != w.ts || pkt.Marker != w.marker || pkt.SSRC != 0xCAFEBABE || pkt.PayloadType != 0 || len(pkt.Payload) != 160 {
			t.Errorf("packet %d = seq %d ts %d marker %v ssrc %#x pt %d len %d; want seq %d ts %d marker %v ssrc 0xcafebabe pt 0 len 160",
				i, pkt.SequenceNumber, pkt.Timestamp, pkt.Marker, pkt.SSRC, pkt.PayloadType, len(pkt.Payload), w.seq, w.ts, w.marker)
		}
		if got := sleeps[i].Sub(epoch); got != w.at {
			t.Errorf("packet %d scheduled at %v, want %v", i, got, w.at)
		}
	}
}

func TestSessionHoldPacesWithoutSending(t *testing.T) {
	clk := newStepClock()
	s := newTestSession(t, SessionConfig{Clock: clk, Sequencer: rtp.NewFixedSequencer(1), Random: randoms(1, 0)})
	p := newPeer(t)
	s.SetRemote(Negotiated{RemoteRTP: p.addr(), Codec: PCMU, Direction: RecvOnly, OnHold: true})
	for range 3 {
		if err := s.Send(context.Background(), make([]byte, 160)); err != nil {
			t.Fatal(err)
		}
	}
	p.quiet()
	if got := len(clk.Sleeps()); got != 3 {
		t.Errorf("%d frames paced, want 3", got)
	}
}

func TestSessionSendDTMF(t *testing.T) {
	clk := newStepClock()
	s := newTestSession(t, SessionConfig{Clock: clk, Sequencer: rtp.NewFixedSequencer(7), Random: randoms(9, 800)})
	p := newPeer(t)
	s.SetRemote(Negotiated{RemoteRTP: p.addr(), Codec: PCMU, DTMFPayloadType: 101})
	ctx := context.Background()
	if err := s.SendDTMF(ctx, '5', 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, make([]byte, 160)); err != nil {
		t.Fatal(err)
	}
	// 800 samples: continuation packets at 160..640, then the end thrice.
	wantDur := []uint16{160, 320, 480, 640, 800, 800, 800}
	for i, dur := range wantDur {
		pkt := p.read()
		ev, err := ParseEvent(pkt.Payload)
		if err != nil {
			t.Fatal(err)
		}
		end := i >= 4
		if pkt.PayloadType != 101 || pkt.Timestamp != 800 || pkt.Marker != (i == 0) || pkt.SequenceNumber != uint16(7+i) ||
			ev.Code != 5 || ev.Duration != dur || ev.End != end {
			t.Errorf("event packet %d = pt %d ts %d marker %v seq %d %+v; want pt 101 ts 800 marker %v seq %d code 5 duration %d end %v",
				i, pkt.PayloadType, pkt.Timestamp, pkt.Marker, pkt.SequenceNumber, ev, i == 0, 7+i, dur, end)
		}
	}
	// The audio after it takes the next slot: 7 slots later.
	if pkt := p.read(); pkt.PayloadType != 0 || pkt.Timestamp != 800+7*160 || pkt.Marker || pkt.SequenceNumber != 14 {
		t.Errorf("audio after DTMF = pt %d ts %d marker %v seq %d; want pt 0 ts %d no marker seq 14", pkt.PayloadType, pkt.Timestamp, pkt.Marker, pkt.SequenceNumber, 800+7*160)
	}
}

// dtmfPacket is a telephone-event packet whose key shows which packets a
// session accepted.
func dtmfPacket(t *testing.T, key byte, ts uint32) []byte {
	code, _ := DigitEvent(key)
	b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, Timestamp: ts, SequenceNumber: uint16(ts)}, Payload: Event{Code: code}.Marshal()}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSessionLatching(t *testing.T) {
	sdpAddr := netip.MustParseAddrPort("192.0.2.1:4000")
	nat := netip.MustParseAddrPort("192.0.2.99:5555")
	other := netip.MustParseAddrPort("192.0.2.50:6000")
	type pkt struct {
		after time.Duration // since SetRemote
		from  netip.AddrPort
		key   byte
	}
	tests := []struct {
		name       string
		window     time.Duration
		packets    []pkt
		wantKeys   string
		wantRemote netip.AddrPort
	}{
		{"NAT source within window latches", 0, []pkt{{time.Second, nat, '1'}, {2 * time.Second, sdpAddr, '2'}, {3 * time.Second, nat, '3'}}, "13", nat},
		{"SDP address latches", 0, []pkt{{time.Second, sdpAddr, '1'}, {2 * time.Second, nat, '2'}}, "1", sdpAddr},
		{"after window only the SDP address", 0, []pkt{{6 * time.Second, nat, '1'}, {7 * time.Second, sdpAddr, '2'}, {8 * time.Second, nat, '3'}}, "2", sdpAddr},
		{"window edge is inside", 0, []pkt{{5 * time.Second, nat, '1'}}, "1", nat},
		{"latched: a third address is ignored", 0, []pkt{{0, nat, '1'}, {0, other, '2'}}, "1", nat},
		{"latching off", -1, []pkt{{0, nat, '1'}, {0, sdpAddr, '2'}}, "2", sdpAddr},
		{"nothing yet: send to the SDP address", 0, nil, "", sdpAddr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newStepClock()
			s := newTestSession(t, SessionConfig{Clock: clk, LatchWindow: tt.window})
			s.SetRemote(Negotiated{RemoteRTP: sdpAddr, Codec: PCMU, DTMFPayloadType: 101})
			at := time.Duration(0)
			for i, p := range tt.packets {
				clk.Advance(p.after - at)
				at = p.after
				s.receive(dtmfPacket(t, p.key, uint32(i)*1000), p.from)
			}
			got := ""
			for len(s.DTMF().Digits()) > 0 {
				got += string(<-s.DTMF().Digits())
			}
			if got != tt.wantKeys || s.Remote() != tt.wantRemote {
				t.Errorf("accepted %q, remote %v; want %q, %v", got, s.Remote(), tt.wantKeys, tt.wantRemote)
			}
		})
	}
}

// Over real sockets: the peer's SDP says one port, it sends from another
// (a NAT); the session answers to where the RTP came from.
func TestSessionSymmetricRTP(t *testing.T) {
	s := newTestSession(t, SessionConfig{Sequencer: rtp.NewFixedSequencer(1)})
	announced, actual := newPeer(t), newPeer(t)
	s.SetRemote(Negotiated{RemoteRTP: announced.addr(), Codec: PCMU, DTMFPayloadType: 101})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	actual.send(s.LocalAddr(), rtp.Header{PayloadType: 101, Timestamp: 1}, Event{Code: 4}.Marshal())
	if d := <-s.DTMF().Digits(); d != '4' {
		t.Fatalf("digit %q, want '4'", d)
	}
	if err := s.Send(ctx, make([]byte, 160)); err != nil {
		t.Fatal(err)
	}
	if pkt := actual.read(); pkt.SequenceNumber != 1 {
		t.Errorf("latched peer got seq %d, want 1", pkt.SequenceNumber)
	}
	announced.quiet()
}

func TestSessionIgnoresUnknownPayloadAndGarbage(t *testing.T) {
	m := newTestMetrics(t)
	s := newTestSession(t, SessionConfig{Clock: newStepClock(), Metrics: m.Metrics})
	from := netip.MustParseAddrPort("192.0.2.1:4000")
	s.SetRemote(Negotiated{RemoteRTP: from, Codec: PCMU, DTMFPayloadType: 101})
	s.receive([]byte{0x80, 0x00}, from)                            // too short
	s.receive([]byte{0x40, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}, from) // version 1
	s.receive(append(dtmfPacket(t, '1', 5)[:1], 13<<0), from)      // truncated
	b := dtmfPacket(t, '1', 5)
	b[1] = 13 // comfort noise: not negotiated
	s.receive(b, from)
	if len(s.DTMF().Digits()) != 0 {
		t.Errorf("a digit came through")
	}
	m.expect(t, `switchboard_rtp_packets_ignored_total{reason="malformed"}`, 3)
	m.expect(t, `switchboard_rtp_packets_ignored_total{reason="payload_type"}`, 1)
}

func TestSessionInactivity(t *testing.T) {
	clk := newManualClock()
	pool := newTestPool(t, nil)
	s := newTestSession(t, SessionConfig{Clock: clk, Pool: pool, Inactivity: 30 * time.Second})
	from := netip.MustParseAddrPort("192.0.2.1:4000")
	s.SetRemote(Negotiated{RemoteRTP: from, Codec: PCMU, DTMFPayloadType: 101})
	errc := make(chan error, 1)
	go func() { errc <- s.Run(context.Background()) }()

	clk.waitSleeper(t, epoch.Add(30*time.Second))
	clk.Advance(29 * time.Second)
	s.receive(dtmfPacket(t, '1', 1), from) // activity at 29 s
	clk.Advance(time.Second)               // 30 s: the watchdog wakes, sleeps on
	clk.waitSleeper(t, epoch.Add(59*time.Second))
	select {
	case <-s.Done():
		t.Fatalf("session ended at 30 s with %v despite RTP at 29 s", s.Err())
	default:
	}
	clk.Advance(29 * time.Second) // 59 s: 30 s of silence
	if err := <-errc; !errors.Is(err, ErrInactive) {
		t.Fatalf("Run() = %v, want ErrInactive", err)
	}
	<-s.Done()
	if !errors.Is(s.Err(), ErrInactive) {
		t.Errorf("Err() = %v, want ErrInactive", s.Err())
	}
	s.Close()
	if got := pool.Available(); got != 100 {
		t.Errorf("%d ports available after Close, want 100", got)
	}
}

func TestSessionInactivityPausedOnHold(t *testing.T) {
	clk := newManualClock()
	s := newTestSession(t, SessionConfig{Clock: clk, Inactivity: 30 * time.Second})
	s.SetRemote(Negotiated{RemoteRTP: netip.MustParseAddrPort("192.0.2.1:4000"), Codec: PCMU, Direction: RecvOnly, OnHold: true})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	for i := 1; i <= 3; i++ {
		clk.waitSleeper(t, epoch.Add(time.Duration(i)*30*time.Second))
		clk.Advance(30 * time.Second)
	}
	clk.waitSleeper(t, epoch.Add(120*time.Second))
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Run() = %v, want context.Canceled (no inactivity while held)", err)
	}
}

// Every way out of a session gives its port back, and leaves no goroutine.
func TestSessionReturnsPortOnEveryExit(t *testing.T) {
	before := runtime.NumGoroutine()
	pool, err := NewPortPool("42300-42305", nil) // 42300, 42302, 42304
	if err != nil {
		t.Fatal(err)
	}
	cfg := SessionConfig{Addr: loopback, Pool: pool, Inactivity: 20 * time.Millisecond}

	t.Run("bind fails", func(t *testing.T) {
		busy, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 42300})
		if err != nil {
			t.Skip("port 42300 busy:", err)
		}
		defer busy.Close()
		s, err := NewSession(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if s.LocalAddr().Port() != 42302 {
			t.Errorf("bound %v, want port 42302 (42300 is taken)", s.LocalAddr())
		}
		if got := pool.Available(); got != 2 {
			t.Errorf("%d available with one session, want 2 (42300 returned)", got)
		}
		s.Close()
	})
	t.Run("exhausted", func(t *testing.T) {
		var ss []*Session
		for range 3 {
			s, err := NewSession(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ss = append(ss, s)
		}
		if _, err := NewSession(cfg); !errors.Is(err, ErrNoPorts) {
			t.Errorf("fourth NewSession: %v, want ErrNoPorts", err)
		}
		for _, s := range ss {
			s.Close()
		}
	})
	t.Run("close without run", func(t *testing.T) {
		s, _ := NewSession(cfg)
		s.Close()
		s.Close()
		if err := s.Run(context.Background()); !errors.Is(err, ErrClosed) {
			t.Errorf("Run after Close = %v, want ErrClosed", err)
		}
	})
	t.Run("context ends", func(t *testing.T) {
		s, _ := NewSession(cfg)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.Run(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
		s.Close()
	})
	t.Run("inactivity", func(t *testing.T) { // system clock, 20 ms
		s, _ := NewSession(cfg)
		s.SetRemote(Negotiated{RemoteRTP: netip.MustParseAddrPort("127.0.0.1:9"), Codec: PCMU})
		if err := s.Run(context.Background()); !errors.Is(err, ErrInactive) {
			t.Errorf("Run = %v, want ErrInactive", err)
		}
		s.Close()
	})
	t.Run("close while running", func(t *testing.T) {
		s, _ := NewSession(SessionConfig{Addr: loopback, Pool: pool, Inactivity: -1})
		errc := make(chan error, 1)
		go func() { errc <- s.Run(context.Background()) }()
		time.Sleep(10 * time.Millisecond) // let Run start; either order must work
		s.Close()
		if err := <-errc; !errors.Is(err, ErrClosed) && err != nil {
			t.Errorf("Run = %v, want ErrClosed", err)
		}
		if !errors.Is(s.Err(), ErrClosed) {
			t.Errorf("Err() = %v, want ErrClosed", s.Err())
		}
	})
	if got := pool.Available(); got != 3 {
		t.Errorf("%d ports available at the end, want 3", got)
	}
	waitGoroutines(t, before)
}

// waitGoroutines fails unless the goroutine count falls back to before
// (runtime bookkeeping may take a moment to notice exits).
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPortPool(t *testing.T) {
	m := newTestMetrics(t)
	p, err := NewPortPool("10001-10008", m.Metrics) // even ports with their +1: 10002, 10004, 10006
	if err != nil {
		t.Fatal(err)
	}
	m.expect(t, "switchboard_rtp_ports_available", 3)
	var got []int
	for range 3 {
		port, err := p.Get()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, port)
	}
	if got[0] != 10002 || got[1] != 10004 || got[2] != 10006 {
		t.Errorf("ports %v, want [10002 10004 10006]", got)
	}
	if _, err := p.Get(); !errors.Is(err, ErrNoPorts) {
		t.Errorf("Get on empty pool: %v, want ErrNoPorts", err)
	}
	p.Put(10004)
	p.Put(10004) // twice: no effect
	p.Put(12345) // never given out: no effect
	if p.Available() != 1 {
		t.Errorf("Available() = %d, want 1", p.Available())
	}
	p.Put(10002)
	if port, _ := p.Get(); port != 10004 {
		t.Errorf("Get() = %d, want 10004 (FIFO: released first, reused first)", port)
	}
	m.expect(t, "switchboard_rtp_ports_available", 1)

	for _, bad := range []string{"", "20000", "a-b", "20001-20001", "0-10", "30000-20000", "1-70000"} {
		if _, err := NewPortPool(bad, nil); err == nil {
			t.Errorf("NewPortPool(%q) succeeded", bad)
		}
	}
}

func TestPortPoolConcurrent(t *testing.T) {
	p, _ := NewPortPool("20000-20199", nil)
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 1000 {
				if port, err := p.Get(); err == nil {
					p.Put(port)
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
	if p.Available() != 100 {
		t.Errorf("Available() = %d after concurrent use, want 100", p.Available())
	}
}

func netAddr(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
