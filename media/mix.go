package media

import "time"

// Track is recorded audio that started at a moment of the call.
type Track struct {
	Start time.Time
	PCM   []int16
}

// Mix lays tracks out on one timeline starting at the earliest track and
// sums them, clipping at full scale: the two directions of a call (and the
// legs a transfer joined one after the other) become one mono recording.
// The result is at most max samples long; empty tracks are ignored.
func Mix(tracks []Track, max int) []int16 {
	var t0 time.Time
	for _, t := range tracks {
		if len(t.PCM) > 0 && (t0.IsZero() || t.Start.Before(t0)) {
			t0 = t.Start
		}
	}
	var out []int16
	for _, t := range tracks {
		if len(t.PCM) == 0 {
			continue
		}
		at := int(t.Start.Sub(t0) * 8000 / time.Second)
		if at >= max {
			continue
		}
		pcm := t.PCM[:min(len(t.PCM), max-at)]
		if n := at + len(pcm); n > len(out) {
			out = append(out, make([]int16, n-len(out))...)
		}
		for i, v := range pcm {
			out[at+i] = clip16(int32(out[at+i]) + int32(v))
		}
	}
	return out
}

func clip16(v int32) int16 {
	return int16(max(min(v, 32767), -32768))
}
