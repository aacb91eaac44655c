package media

import (
	"math"
	"sync"
)

// Music on hold. The built-in loop is synthesised here at first use rather
// than shipped as a recording, so it is royalty-free by construction and
// its source is this file: a soft pad over a held low C (the pedal), moving
// through C major, A minor, F major and G major, two seconds each, eight
// seconds in all. Every frequency completes a whole number of cycles in the
// loop and every chord fades in and out within its two seconds, so the loop
// repeats without a click.

// HoldPedal is the frequency (Hz) sounding throughout the built-in loop,
// its pedal note (a C3 tuned to a whole number of cycles per loop): a
// Goertzel filter at it tells the loop from silence or other audio.
const HoldPedal = 130.875

const (
	holdChordMs = 2000
	holdChords  = 4
	holdLoopMs  = holdChordMs * holdChords
)

// holdProgression is C, Am, F, G in close voicing around middle C, each
// frequency rounded to a multiple of 1/8 Hz (whole cycles in 8 s).
var holdProgression = [holdChords][3]float64{
	{261.625, 329.625, 392.0}, // C4 E4 G4
	{220.0, 261.625, 329.625}, // A3 C4 E4
	{174.625, 220.0, 261.625}, // F3 A3 C4
	{196.0, 246.875, 293.625}, // G3 B3 D4
}

// HoldLoop is the built-in music-on-hold loop as a prompt (one pass of
// eight seconds); play it with Loop. Built once, shared by every call.
var HoldLoop = sync.OnceValue(func() *Prompt { return NewPrompt("moh-builtin", holdLoopPCM()) })

// holdLoopPCM synthesises the loop at 8 kHz.
func holdLoopPCM() []int16 {
	const rate = 8000
	n := holdLoopMs * rate / 1000
	perChord := holdChordMs * rate / 1000
	fade := 300 * rate / 1000 // 300 ms raised-cosine in and out
	pcm := make([]int16, n)
	const (
		pedalAmp = 0.08 * math.MaxInt16
		noteAmp  = 0.07 * math.MaxInt16
	)
	for i := range n {
		t := float64(i) / rate
		v := pedalAmp * math.Sin(2*math.Pi*HoldPedal*t)
		c, j := i/perChord, i%perChord
		env := 1.0
		switch {
		case j < fade:
			env = 0.5 - 0.5*math.Cos(math.Pi*float64(j)/float64(fade))
		case j > perChord-fade:
			env = 0.5 - 0.5*math.Cos(math.Pi*float64(perChord-j)/float64(fade))
		}
		for _, f := range holdProgression[c] {
			// A touch of the second harmonic makes it a pad rather than
			// a test tone.
			v += env * noteAmp * (math.Sin(2*math.Pi*f*t) + 0.25*math.Sin(4*math.Pi*f*t))
		}
		pcm[i] = int16(v)
	}
	return pcm
}

// Loop is src played over and over: an endless Source (a prompt without
// frames, or nil, is endless silence).
func Loop(src *Prompt) Source { return loop{src} }

type loop struct{ p *Prompt }

// Frame returns frame n of the endless repetition.
func (l loop) Frame(c Codec, n int) ([]byte, bool) {
	if n < 0 {
		return nil, false
	}
	if l.p == nil || l.p.Frames() == 0 {
		return silenceFrame(c), true
	}
	return l.p.Frame(c, n%l.p.Frames())
}

var silence = sync.OnceValue(func() [2][]byte {
	pcm := make([]int16, frameSamples)
	return [2][]byte{PCMU.Encode(nil, pcm), PCMA.Encode(nil, pcm)}
})

func silenceFrame(c Codec) []byte {
	if c == PCMA {
		return silence()[1]
	}
	return silence()[0]
}
