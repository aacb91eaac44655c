package media

import (
	"math"
	"testing"
)

func goertzelPower(pcm []int16, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/8000)
	var s1, s2 float64
	for _, v := range pcm {
		s := float64(v) + k*s1 - s2
		s2, s1 = s1, s
	}
	return (s1*s1 + s2*s2 - k*s1*s2) / float64(len(pcm)*len(pcm))
}

// TestHoldLoopPedalThroughout checks the property tests elsewhere rely on:
// every 100 ms of the loop, decoded from PCMU as a phone would, carries the
// pedal note well above a frequency the loop does not contain.
func TestHoldLoopPedalThroughout(t *testing.T) {
	p := HoldLoop()
	if got, want := p.Duration().Milliseconds(), int64(holdLoopMs); got != want {
		t.Fatalf("HoldLoop duration = %d ms, want %d", got, want)
	}
	var pcm []int16
	for n := range p.Frames() {
		f, _ := p.Frame(PCMU, n)
		pcm = PCMU.Decode(pcm, f)
	}
	for at := 0; at+800 <= len(pcm); at += 800 {
		win := pcm[at : at+800]
		pedal, off := goertzelPower(win, HoldPedal), goertzelPower(win, 1000)
		if pedal < 100*off || pedal < 1e4 {
			t.Fatalf("window at %d ms: pedal power %.0f, 1 kHz %.0f: want the pedal clearly present", at/8, pedal, off)
		}
	}
}

// TestHoldLoopSeamless checks the loop has no click where it repeats: the
// jump from the last sample to the first is no bigger than the largest
// step inside the loop.
func TestHoldLoopSeamless(t *testing.T) {
	pcm := holdLoopPCM()
	maxStep := 0.0
	for i := 1; i < len(pcm); i++ {
		maxStep = max(maxStep, math.Abs(float64(pcm[i])-float64(pcm[i-1])))
	}
	if wrap := math.Abs(float64(pcm[0]) - float64(pcm[len(pcm)-1])); wrap > maxStep {
		t.Errorf("step at the loop point = %.0f, larger than any inside (%.0f)", wrap, maxStep)
	}
}

func TestLoopIsEndless(t *testing.T) {
	p := NewPrompt("two", make([]int16, 2*frameSamples))
	l := Loop(p)
	for _, n := range []int{0, 1, 2, 3, 1001} {
		f, ok := l.Frame(PCMA, n)
		want, _ := p.Frame(PCMA, n%2)
		if !ok || &f[0] != &want[0] {
			t.Errorf("Loop.Frame(%d) = ok %v, not frame %d of the prompt", n, ok, n%2)
		}
	}
	if _, ok := l.Frame(PCMU, -1); ok {
		t.Error("Loop.Frame(-1) ok, want false")
	}
	if f, ok := Loop(nil).Frame(PCMU, 7); !ok || len(f) != frameSamples {
		t.Errorf("Loop(nil).Frame = %d bytes, ok %v; want a silence frame", len(f), ok)
	}
}
