package media

import (
	"bytes"
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestBridge(t *testing.T) {
	before := runtime.NumGoroutine()
	clk := newStepClock()
	pool := newTestPool(t, nil)
	a := newTestSession(t, SessionConfig{Pool: pool, Clock: clk, Inactivity: -1, Sequencer: rtp.NewFixedSequencer(1), Random: randoms(0xA, 1000)})
	b := newTestSession(t, SessionConfig{Pool: pool, Clock: clk, Inactivity: -1, Sequencer: rtp.NewFixedSequencer(500), Random: randoms(0xB, 50000)})
	caller, callee := newPeer(t), newPeer(t)
	a.SetRemote(Negotiated{RemoteRTP: caller.addr(), PayloadType: 0, Codec: PCMU, DTMFPayloadType: 101})
	b.SetRemote(Negotiated{RemoteRTP: callee.addr(), PayloadType: 8, Codec: PCMA, DTMFPayloadType: 96})
	ctx, cancel := context.WithCancel(context.Background())
	runs := make(chan error, 2)
	go func() { runs <- a.Run(ctx) }()
	go func() { runs <- b.Run(ctx) }()

	// The caller hears three frames of ringback: ts 1000, 1160, 1320.
	if n, err := NewPlayer(a).Play(ctx, NewPrompt("ring", make([]int16, 3*160))); n != 3 || err != nil {
		t.Fatalf("Play() = %d, %v", n, err)
	}
	for range 3 {
		caller.read()
	}
	type want struct {
		seq    uint16
		ts     uint32
		marker bool
		pt     uint8
		ssrc   uint32
	}
	check := func(p *peer, w want, payload []byte) {
		t.Helper()
		pkt := p.read()
		if pkt.SequenceNumber != w.seq || pkt.Timestamp != w.ts || pkt.Marker != w.marker || pkt.PayloadType != w.pt || pkt.SSRC != w.ssrc {
			t.Errorf("got seq %d ts %d marker %v pt %d ssrc %#x; want %+v", pkt.SequenceNumber, pkt.Timestamp, pkt.Marker, pkt.PayloadType, pkt.SSRC, w)
		}
		if payload != nil && !bytes.Equal(pkt.Payload, payload) {
			t.Errorf("payload %x..., want %x...", pkt.Payload[:4], payload[:4])
		}
	}
	alawFrame := bytes.Repeat([]byte{0xD5, 0xAA}, 80)
	asMulaw := append([]byte(nil), alawFrame...)
	transcode(asMulaw, PCMA, PCMU)

	br := NewBridge(a, b)
	br.Start()
	if !br.Running() {
		t.Errorf("Running() = false after Start")
	}
	// The callee answers 100 ms after the last ringback frame (sent at 40 ms).
	clk.Advance(100 * time.Millisecond)
	callee.send(b.LocalAddr(), rtp.Header{PayloadType: 8, SSRC: 0x5555, SequenceNumber: 9000, Timestamp: 70000}, alawFrame)
	check(caller, want{4, 1320 + 5*160, true, 0, 0xA}, asMulaw)
	callee.send(b.LocalAddr(), rtp.Header{PayloadType: 8, SSRC: 0x5555, SequenceNumber: 9001, Timestamp: 70160}, alawFrame)
	check(caller, want{5, 1320 + 6*160, false, 0, 0xA}, asMulaw)
	// The callee's stream restarts with a new SSRC: a new offset, no jump back.
	clk.Advance(20 * time.Millisecond)
	callee.send(b.LocalAddr(), rtp.Header{PayloadType: 8, SSRC: 0x6666, SequenceNumber: 3, Timestamp: 5}, alawFrame)
	check(caller, want{6, 1320 + 7*160, true, 0, 0xA}, asMulaw)

	// The other way: B has sent nothing yet, so it starts at its random ts.
	mulawFrame := bytes.Repeat([]byte{0xFF, 0x80}, 80)
	asAlaw := append([]byte(nil), mulawFrame...)
	transcode(asAlaw, PCMU, PCMA)
	caller.send(a.LocalAddr(), rtp.Header{PayloadType: 0, SSRC: 0x7777, SequenceNumber: 1, Timestamp: 100}, mulawFrame)
	check(callee, want{500, 50000, true, 8, 0xB}, asAlaw)
	// DTMF crosses with the far leg's payload type, and is detected on A.
	caller.send(a.LocalAddr(), rtp.Header{PayloadType: 101, SSRC: 0x7777, SequenceNumber: 2, Timestamp: 260, Marker: true}, Event{Code: 9}.Marshal())
	check(callee, want{501, 50160, true, 96, 0xB}, Event{Code: 9}.Marshal())
	if d := <-a.DTMF().Digits(); d != '9' {
		t.Errorf("digit %q, want '9'", d)
	}

	br.Stop()
	caller.send(a.LocalAddr(), rtp.Header{PayloadType: 0, SSRC: 0x7777, SequenceNumber: 3, Timestamp: 420}, mulawFrame)
	callee.quiet()

	cancel()
	<-runs
	<-runs
	a.Close()
	b.Close()
	if pool.Available() != 100 {
		t.Errorf("%d ports available, want 100", pool.Available())
	}
	waitGoroutines(t, before)
}
