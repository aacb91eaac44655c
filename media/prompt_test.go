package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// wavFile builds a WAV: format tag, channels, rate, bits, data; extra
// chunks go before the data.
func wavFile(format, channels uint16, rate uint32, bits uint16, data []byte, extra ...string) []byte {
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(0)) // many writers leave it wrong; not checked
	b.WriteString("WAVE")
	b.WriteString("fmt ")
	le(uint32(16))
	le(format)
	le(channels)
	le(rate)
	le(rate * uint32(channels) * uint32(bits) / 8)
	le(channels * bits / 8)
	le(bits)
	for _, e := range extra {
		b.WriteString(e[:4])
		le(uint32(len(e) - 4))
		b.WriteString(e[4:])
		if len(e)%2 == 1 {
			b.WriteByte(0)
		}
	}
	b.WriteString("data")
	le(uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

func pcm16(samples ...int16) []byte {
	b := make([]byte, 2*len(samples))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	return b
}

func TestReadWAV(t *testing.T) {
	tests := []struct {
		name string
		file []byte
		want []int16
		err  string
	}{
		{"pcm16", wavFile(1, 1, 8000, 16, pcm16(0, 1000, -1000, 32767)), []int16{0, 1000, -1000, 32767}, ""},
		{"pcm16 with LIST chunk", wavFile(1, 1, 8000, 16, pcm16(5), "LISTabc"), []int16{5}, ""},
		{"mulaw", wavFile(7, 1, 8000, 8, []byte{0xFF, 0x80}), []int16{0, 32124}, ""},
		{"alaw", wavFile(6, 1, 8000, 8, []byte{0xD5, 0xAA}), []int16{8, 32256}, ""},
		{"stereo", wavFile(1, 2, 8000, 16, nil), nil, "2 channels, want mono"},
		{"44.1 kHz", wavFile(1, 1, 44100, 16, nil), nil, "44100 Hz, want 8000 Hz"},
		{"8-bit PCM", wavFile(1, 1, 8000, 8, nil), nil, "PCM with 8 bits per sample, want 16"},
		{"float", wavFile(3, 1, 8000, 32, nil), nil, "format 0x3, want PCM (1), A-law (6) or µ-law (7)"},
		{"not RIFF", []byte("ID3 this is an mp3, honest"), nil, "not a RIFF WAVE file"},
		{"empty", nil, nil, "not a RIFF WAVE file"},
		{"no data", wavFile(1, 1, 8000, 16, nil)[:36], nil, "no data chunk"},
		{"data first", append([]byte("RIFF\x00\x00\x00\x00WAVEdata\x02\x00\x00\x00\x00\x00"), wavFile(1, 1, 8000, 16, nil)[12:]...), nil, "data chunk before fmt"},
		{"huge", wavFile(1, 1, 8000, 16, nil)[:40], nil, ""}, // patched below
	}
	tests[len(tests)-1].file = append(wavFile(1, 1, 8000, 16, nil)[:40], 0xFF, 0xFF, 0xFF, 0x7F)
	tests[len(tests)-1].err = "more than the"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadWAV(bytes.NewReader(tt.file))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrWAV) {
					t.Fatalf("ReadWAV() error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || !slicesEqual(got, tt.want) {
				t.Errorf("ReadWAV() = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func slicesEqual(a, b []int16) bool { return bytes.Equal(pcm16(a...), pcm16(b...)) }

func TestBuiltinPrompts(t *testing.T) {
	p, err := LoadPrompts("")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Names(), ","); got != "call-for,digit-0,digit-1,digit-2,digit-3,digit-4,digit-5,digit-6,digit-7,digit-8,digit-9,from,goodbye,invalid,press-1,screening,"+
		"vm-deleted,vm-enter-mailbox,vm-enter-pin,vm-greeting-saved,vm-mailbox-full,vm-menu,vm-new-messages,vm-no-more,vm-not-available,"+
		"vm-person-at-extension,vm-record-greeting,vm-saved,vm-unavailable,vm-wrong-pin,vm-you-have,welcome,you-have-a-call" {
		t.Errorf("Names() = %s", got)
	}
	for name, min := range map[string]time.Duration{"welcome": 4 * time.Second, "invalid": time.Second, "goodbye": 500 * time.Millisecond, "screening": 2 * time.Second} {
		pr, ok := p.Get(name)
		if !ok || pr.Duration() < min || pr.Duration() > 10*time.Second {
			t.Errorf("prompt %s: ok=%v duration %v, want %v to 10s", name, ok, pr.Duration(), min)
		}
	}
	entries, _ := builtinFS.ReadDir("prompts")
	for _, e := range entries {
		if info, _ := e.Info(); info.Size() >= 100<<10 {
			t.Errorf("%s is %d bytes, keep built-ins under 100 KB", e.Name(), info.Size())
		}
	}
}

func TestPromptsOverride(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("welcome.wav", wavFile(1, 1, 8000, 16, pcm16(make([]int16, 1000)...)))
	write("acme-night.wav", wavFile(7, 1, 8000, 8, bytes.Repeat([]byte{0xFF}, 320)))
	write("notes.txt", []byte("not a prompt"))
	p, err := LoadPrompts(dir)
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := p.Get("welcome"); w.Frames() != 7 { // 1000 samples: 6 frames and a padded one
		t.Errorf("welcome has %d frames, want 7 (the folder's file)", w.Frames())
	}
	if n, ok := p.Get("acme-night"); !ok || n.Frames() != 2 || !n.Custom() {
		t.Errorf("acme-night missing or wrong: %v", ok)
	}
	if w, _ := p.Get("welcome"); !w.Custom() {
		t.Errorf("welcome from the folder not reported custom")
	}
	if g, ok := p.Get("goodbye"); !ok || g.Custom() {
		t.Errorf("built-in goodbye lost or reported custom")
	}

	write("bad.wav", wavFile(1, 2, 8000, 16, nil))
	if _, err := LoadPrompts(dir); err == nil || !strings.Contains(err.Error(), "bad.wav: media: unsupported WAV: 2 channels") {
		t.Errorf("LoadPrompts with a stereo file: %v", err)
	}
	if _, err := LoadPrompts(filepath.Join(dir, "missing")); err == nil {
		t.Errorf("LoadPrompts(missing folder) succeeded")
	}
}

func TestPromptFrames(t *testing.T) {
	pcm := make([]int16, 400)
	for i := range pcm {
		pcm[i] = int16(i * 50)
	}
	p := NewPrompt("ramp", pcm)
	if p.Frames() != 3 || p.Duration() != 60*time.Millisecond {
		t.Fatalf("Frames() = %d, Duration() = %v; want 3, 60ms", p.Frames(), p.Duration())
	}
	for _, c := range []Codec{PCMU, PCMA} {
		f, _ := p.Frame(c, 1)
		if len(f) != 160 || f[0] != c.Encode(nil, pcm[160:161])[0] {
			t.Errorf("%v frame 1 wrong", c)
		}
		last, _ := p.Frame(c, 2)
		if last[159] != c.Silence() {
			t.Errorf("%v: last frame not padded with silence", c)
		}
		if _, ok := p.Frame(c, 3); ok {
			t.Errorf("%v: frame past the end", c)
		}
	}
}

// goertzel returns the power of frequency f in pcm sampled at 8 kHz.
func goertzel(pcm []int16, f float64) float64 {
	k := 2 * math.Cos(2*math.Pi*f/8000)
	var s1, s2 float64
	for _, x := range pcm {
		s1, s2 = float64(x)+k*s1-s2, s1
	}
	return s1*s1 + s2*s2 - k*s1*s2
}

func TestRingback(t *testing.T) {
	for _, c := range []Codec{PCMU, PCMA} {
		var on []int16
		for n := range 100 { // 2 s on
			f, ok := Ringback.Frame(c, n)
			if !ok {
				t.Fatalf("ringback ended at frame %d", n)
			}
			on = c.Decode(on, f)
		}
		p440, p480, p1000 := goertzel(on, 440), goertzel(on, 480), goertzel(on, 1000)
		if p440 < 1000*p1000 || p480 < 1000*p1000 {
			t.Errorf("%v: power at 440 Hz %.3g, 480 Hz %.3g, 1 kHz %.3g; want the tones to dominate", c, p440, p480, p1000)
		}
		for n := 100; n < 300; n++ { // 4 s off
			f, _ := Ringback.Frame(c, n)
			if bytes.Count(f, []byte{c.Silence()}) != 160 {
				t.Fatalf("%v: frame %d of the off period is not silent", c, n)
			}
		}
		a, _ := Ringback.Frame(c, 7)
		b, _ := Ringback.Frame(c, 307)
		if !bytes.Equal(a, b) {
			t.Errorf("%v: cadence does not repeat every 6 s", c)
		}
	}
}

func TestPlayerPlaysWholePrompt(t *testing.T) {
	clk := newStepClock()
	s := newTestSession(t, SessionConfig{Clock: clk, Sequencer: rtp.NewFixedSequencer(1), Random: randoms(1, 0)})
	p := newPeer(t)
	s.SetRemote(Negotiated{RemoteRTP: p.addr(), PayloadType: 8, Codec: PCMA})
	prompt := NewPrompt("x", make([]int16, 160*5))
	n, err := NewPlayer(s).Play(context.Background(), prompt)
	if n != 5 || err != nil {
		t.Fatalf("Play() = %d, %v; want 5, nil", n, err)
	}
	for i := range 5 {
		pkt := p.read()
		if pkt.PayloadType != 8 || pkt.Payload[0] != PCMA.Silence() || pkt.Timestamp != uint32(i*160) {
			t.Errorf("packet %d: pt %d payload[0] %#x ts %d", i, pkt.PayloadType, pkt.Payload[0], pkt.Timestamp)
		}
	}
}

func TestPlayerBargeIn(t *testing.T) {
	clk := newManualClock()
	s := newTestSession(t, SessionConfig{Clock: clk, Sequencer: rtp.NewFixedSequencer(1), Random: randoms(1, 0)})
	p := newPeer(t)
	s.SetRemote(Negotiated{RemoteRTP: p.addr(), Codec: PCMU})
	player := NewPlayer(s)
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := player.Play(context.Background(), Ringback)
		done <- result{n, err}
	}()
	// Frame 0 goes at once; frames 1-5 as the clock reaches them.
	for i := 1; i <= 5; i++ {
		clk.waitSleeper(t, epoch.Add(time.Duration(i)*20*time.Millisecond))
		clk.Advance(20 * time.Millisecond)
	}
	clk.waitSleeper(t, epoch.Add(120*time.Millisecond)) // waiting to send frame 6
	player.Stop()                                       // a digit arrived
	r := <-done
	if r.n != 6 || !errors.Is(r.err, ErrStopped) {
		t.Errorf("Play() = %d, %v; want 6, ErrStopped", r.n, r.err)
	}
	for range 6 {
		p.read()
	}
	clk.Advance(time.Second)
	p.quiet()
	player.Stop() // nothing playing: no effect
}

// ramp returns a prompt of frames frames whose samples count up from first,
// so that every frame of a sequence can be told apart.
func ramp(name string, first, frames int) *Prompt {
	pcm := make([]int16, frames*160)
	for i := range pcm {
		pcm[i] = int16((first*160 + i) * 7 % 30000)
	}
	return NewPrompt(name, pcm)
}

func TestSequence(t *testing.T) {
	a, b, c := ramp("a", 0, 3), ramp("b", 3, 1), ramp("c", 4, 5)
	whole := ramp("whole", 0, 9)
	s := NewSequence(a, nil, b, NewPrompt("empty", nil), c)
	if s.Frames() != a.Frames()+b.Frames()+c.Frames() || s.Duration() != 180*time.Millisecond {
		t.Fatalf("Frames() = %d, Duration() = %v; want 9, 180ms", s.Frames(), s.Duration())
	}
	if got := strings.Join(s.Names(), ","); got != "a,b,c" {
		t.Errorf("Names() = %s, want a,b,c (nil and empty parts left out)", got)
	}
	for _, codec := range []Codec{PCMU, PCMA} {
		for n := range 9 {
			got, ok := s.Frame(codec, n)
			want, _ := whole.Frame(codec, n)
			if !ok || !bytes.Equal(got, want) {
				t.Errorf("%v frame %d: not the parts' frame", codec, n)
			}
		}
		for _, n := range []int{-1, 9, 100} {
			if _, ok := s.Frame(codec, n); ok {
				t.Errorf("%v frame %d exists", codec, n)
			}
		}
	}
	if e := NewSequence(); e.Frames() != 0 {
		t.Errorf("empty sequence has %d frames", e.Frames())
	} else if _, ok := e.Frame(PCMU, 0); ok {
		t.Errorf("empty sequence has frame 0")
	}
}

func TestPlayerPlaysWholeSequence(t *testing.T) {
	clk := newStepClock()
	s := newTestSession(t, SessionConfig{Clock: clk, Sequencer: rtp.NewFixedSequencer(1), Random: randoms(1, 0)})
	p := newPeer(t)
	s.SetRemote(Negotiated{RemoteRTP: p.addr(), PayloadType: 0, Codec: PCMU})
	seq := NewSequence(ramp("a", 0, 2), ramp("b", 2, 3))
	whole := ramp("whole", 0, 5)
	n, err := NewPlayer(s).Play(context.Background(), seq)
	if n != 5 || err != nil {
		t.Fatalf("Play() = %d, %v; want 5 (2+3), nil", n, err)
	}
	for i := range 5 {
		pkt := p.read()
		want, _ := whole.Frame(PCMU, i)
		if pkt.PayloadType != 0 || !bytes.Equal(pkt.Payload, want) || pkt.Timestamp != uint32(i*160) {
			t.Errorf("packet %d: pt %d ts %d, payload equal %v", i, pkt.PayloadType, pkt.Timestamp, bytes.Equal(pkt.Payload, want))
		}
	}
}

func TestPlayerStopsSequence(t *testing.T) {
	clk := newManualClock()
	s := newTestSession(t, SessionConfig{Clock: clk, Sequencer: rtp.NewFixedSequencer(1), Random: randoms(1, 0)})
	p := newPeer(t)
	s.SetRemote(Negotiated{RemoteRTP: p.addr(), Codec: PCMU})
	player := NewPlayer(s)
	seq := NewSequence(ramp("a", 0, 2), ramp("b", 2, 50))
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := player.Play(context.Background(), seq)
		done <- result{n, err}
	}()
	for i := 1; i <= 3; i++ { // into the second part
		clk.waitSleeper(t, epoch.Add(time.Duration(i)*20*time.Millisecond))
		clk.Advance(20 * time.Millisecond)
	}
	clk.waitSleeper(t, epoch.Add(80*time.Millisecond)) // waiting to send frame 4
	player.Stop()                                      // barge-in
	if r := <-done; r.n != 4 || !errors.Is(r.err, ErrStopped) {
		t.Errorf("Play() = %d, %v; want 4, ErrStopped", r.n, r.err)
	}
	for range 4 {
		p.read()
	}
	clk.Advance(time.Second)
	p.quiet()
}

func TestBuiltinAnnouncementParts(t *testing.T) {
	p, err := LoadPrompts("")
	if err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	entries, _ := builtinFS.ReadDir("prompts")
	for _, e := range entries {
		info, _ := e.Info()
		total += info.Size()
	}
	// 184 KB for the attendant and screening, ~365 KB for voicemail's 15
	// prompts (issue 15).
	if total > 600<<10 {
		t.Errorf("built-in prompts take %d bytes, keep them under 600 KB", total)
	}
	names := []string{"you-have-a-call", "call-for", "from", "press-1"}
	for d := range 10 {
		names = append(names, "digit-"+string(rune('0'+d)))
	}
	for _, name := range names {
		pr, ok := p.Get(name)
		switch {
		case !ok:
			t.Errorf("no built-in %s", name)
		case pr.Custom():
			t.Errorf("built-in %s reported custom", name)
		case name == "press-1" && (pr.Duration() < 2*time.Second || pr.Duration() > 4*time.Second):
			t.Errorf("press-1 lasts %v, want 2-4 s", pr.Duration())
		case name != "press-1" && (pr.Duration() < 300*time.Millisecond || pr.Duration() > 1200*time.Millisecond):
			t.Errorf("%s lasts %v, want a short word (0.3-1.2 s)", name, pr.Duration())
		}
	}
}
