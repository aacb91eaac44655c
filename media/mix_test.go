package media

import (
	"testing"
	"time"
)

func TestMixAlignsAndClips(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := Track{Start: t0, PCM: []int16{100, 100, 100, 100}}
	// b starts 2 samples (250 µs) later and runs past a's end; a sample of
	// full scale saturates instead of wrapping.
	b := Track{Start: t0.Add(250 * time.Microsecond), PCM: []int16{10, 32767, 10, 10}}
	got := Mix([]Track{b, a, {Start: t0.Add(-time.Hour)}}, 100)
	want := []int16{100, 100, 110, 32767, 10, 10}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if got := Mix([]Track{a, b}, 3); len(got) != 3 {
		t.Errorf("max 3: %d samples", len(got))
	}
	if got := Mix(nil, 10); len(got) != 0 {
		t.Errorf("no tracks: %v", got)
	}
}

func TestRecorderBegan(t *testing.T) {
	r := &Recorder{max: 8000, full: make(chan struct{}), clock: newStepClock()}
	if _, ok := r.Began(); ok {
		t.Fatal("began before any packet")
	}
	r.feed(PCMU, 160, make([]byte, 160))
	if at, ok := r.Began(); !ok || at.IsZero() {
		t.Fatalf("began %v %v", at, ok)
	}
}
