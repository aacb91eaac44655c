package media

import (
	"encoding/binary"
	"sync"
	"time"
)

// voiceLevel is the mean absolute sample value above which a 20 ms frame
// counts as speech (about -36 dBFS): line noise and comfort noise stay below.
const voiceLevel = 500

// maxGap bounds the silence inserted for a jump in RTP timestamps (lost
// packets, a peer pausing its stream): 2 s.
const maxGap = 2 * 8000

// Recorder collects the audio a Session receives, decoded to 8 kHz 16-bit
// PCM and placed by RTP timestamp (a gap becomes silence, a duplicate or
// late packet is dropped), up to a maximum length. It is fed from the
// session's reader; its methods are safe from any goroutine.
type Recorder struct {
	s     *Session
	max   int // samples
	full  chan struct{}
	clock Clock

	mu        sync.Mutex
	pcm       []int16
	ts0       uint32
	started   bool
	began     time.Time // when the first packet came
	voiced    bool
	lastVoice time.Time
	fullOnce  sync.Once
}

// Record starts recording what the session receives, at most max long; it
// replaces a recording already running.
func (s *Session) Record(max time.Duration) *Recorder {
	r := &Recorder{s: s, max: int(max.Seconds() * 8000), full: make(chan struct{}), clock: s.clock}
	s.rec.Store(r)
	return r
}

// Stop ends the recording and returns its audio.
func (r *Recorder) Stop() []int16 {
	r.s.rec.CompareAndSwap(r, nil)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pcm
}

// Duration is how much audio has been recorded.
func (r *Recorder) Duration() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Duration(len(r.pcm)) * time.Second / 8000
}

// Silence is how long it has been since the last frame of speech; ok is
// false while no speech came at all.
func (r *Recorder) Silence() (d time.Duration, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.voiced {
		return 0, false
	}
	return r.clock.Now().Sub(r.lastVoice), true
}

// Began is when the first packet was recorded; ok is false while none came.
func (r *Recorder) Began() (t time.Time, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.began, r.started
}

// Full is closed when the recording reached its maximum length.
func (r *Recorder) Full() <-chan struct{} { return r.full }

func (r *Recorder) feed(c Codec, ts uint32, payload []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started {
		r.started, r.ts0, r.began = true, ts, r.clock.Now()
	}
	at := int(int32(ts - r.ts0))
	switch {
	case at < len(r.pcm): // a duplicate or late packet
		return
	case at > len(r.pcm):
		r.pcm = append(r.pcm, make([]int16, min(at-len(r.pcm), maxGap))...)
	}
	n := len(r.pcm)
	r.pcm = c.Decode(r.pcm, payload)
	if len(r.pcm) >= r.max {
		r.pcm = r.pcm[:r.max]
		r.fullOnce.Do(func() { close(r.full) })
	}
	var sum int
	for _, v := range r.pcm[n:] {
		sum += int(max(v, -v))
	}
	if len(r.pcm) > n && sum/(len(r.pcm)-n) > voiceLevel {
		r.voiced, r.lastVoice = true, r.clock.Now()
	}
}

// WAV returns pcm as a RIFF WAVE file: 8 kHz mono 16-bit PCM, what ReadWAV
// reads back.
func WAV(pcm []int16) []byte {
	b := make([]byte, 0, 44+2*len(pcm))
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(36+2*len(pcm)))
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, wavPCM)
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint32(b, 8000)
	b = binary.LittleEndian.AppendUint32(b, 16000)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(2*len(pcm)))
	for _, v := range pcm {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}
