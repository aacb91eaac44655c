package media

import (
	"context"
	"errors"
	"math"
	"sync"
)

// ErrStopped is returned by Player.Play when Stop interrupted it.
var ErrStopped = errors.New("media: playback stopped")

// Player sends a Source on a Session, one frame per 20 ms slot. Stop
// interrupts it at once (barge-in): after Stop returns no further frame of
// that playback is sent, so another source (a Bridge) can take over.
type Player struct {
	s *Session

	mu      sync.Mutex
	cancel  context.CancelCauseFunc
	playing chan struct{} // closed when the current Play returns
}

// NewPlayer returns a player for s.
func NewPlayer(s *Session) *Player { return &Player{s: s} }

// Play sends src's frames in the session's codec until src ends (nil error),
// ctx ends, or Stop (ErrStopped). It returns how many frames it sent. A Play
// started while another is running stops that one first.
func (p *Player) Play(ctx context.Context, src Source) (int, error) {
	p.Stop()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	defer close(done)
	p.mu.Lock()
	p.cancel, p.playing = cancel, done
	p.mu.Unlock()

	codec := p.s.negotiated().Codec
	sent := 0
	for n := 0; ; n++ {
		frame, ok := src.Frame(codec, n)
		if !ok {
			return sent, nil
		}
		if err := p.s.Send(ctx, frame); err != nil {
			if cause := context.Cause(ctx); errors.Is(cause, ErrStopped) {
				return sent, ErrStopped
			}
			return sent, err
		}
		sent++
	}
}

// Stop interrupts the current Play, if any, and waits until it has returned.
func (p *Player) Stop() {
	p.mu.Lock()
	cancel, playing := p.cancel, p.playing
	p.cancel, p.playing = nil, nil
	p.mu.Unlock()
	if cancel != nil {
		cancel(ErrStopped)
		<-playing
	}
}

// Ringback is the North American ringback tone (ANSI T1.401: 440 Hz + 480
// Hz, 2 s on, 4 s off), an endless Source.
var Ringback Source = newTone(2000, 4000, 440, 480)

// tone is a cadenced dual-frequency tone, precomputed for one cycle.
type tone struct {
	mulaw, alaw []byte
	frames      int
}

func newTone(onMs, offMs int, f1, f2 float64) *tone {
	samples := (onMs + offMs) * 8
	pcm := make([]int16, samples)
	const amp = 0.1 * math.MaxInt16 // each tone about -20 dBFS, the sum well clear of clipping
	for i := range onMs * 8 {
		t := float64(i) / 8000
		pcm[i] = int16(amp * (math.Sin(2*math.Pi*f1*t) + math.Sin(2*math.Pi*f2*t)))
	}
	return &tone{mulaw: PCMU.Encode(nil, pcm), alaw: PCMA.Encode(nil, pcm), frames: samples / frameSamples}
}

// Frame returns frame n of the endless cadence.
func (t *tone) Frame(c Codec, n int) ([]byte, bool) {
	if n < 0 {
		return nil, false
	}
	i := n % t.frames
	b := t.mulaw
	if c == PCMA {
		b = t.alaw
	}
	return b[i*frameSamples : (i+1)*frameSamples], true
}
