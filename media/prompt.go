package media

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Source is audio a Player can send: frame n (from 0) of 20 ms, encoded
// with c; false past the end.
type Source interface {
	Frame(c Codec, n int) ([]byte, bool)
}

// Prompt is a recorded announcement, held encoded in both codecs so that
// playing it costs no encoding. It is immutable and shared between calls.
type Prompt struct {
	name       string
	mulaw      []byte
	alaw       []byte
	frameCount int
	custom     bool // from the prompts folder, not built in
}

// NewPrompt encodes pcm (8 kHz mono) as a prompt; the last frame is padded
// with silence.
func NewPrompt(name string, pcm []int16) *Prompt {
	frames := (len(pcm) + frameSamples - 1) / frameSamples
	padded := make([]int16, frames*frameSamples)
	copy(padded, pcm)
	return &Prompt{
		name:       name,
		mulaw:      PCMU.Encode(nil, padded),
		alaw:       PCMA.Encode(nil, padded),
		frameCount: frames,
	}
}

// Name returns the prompt's name, e.g. "welcome".
func (p *Prompt) Name() string { return p.name }

// Frames returns the number of 20 ms frames.
func (p *Prompt) Frames() int { return p.frameCount }

// Custom reports whether the prompt was loaded from the prompts folder
// rather than built in.
func (p *Prompt) Custom() bool { return p.custom }

// Duration returns the prompt's length.
func (p *Prompt) Duration() time.Duration { return time.Duration(p.frameCount) * frameDuration }

// Frame returns frame n encoded with c. The slice is shared: do not modify it.
func (p *Prompt) Frame(c Codec, n int) ([]byte, bool) {
	if n < 0 || n >= p.frameCount {
		return nil, false
	}
	b := p.mulaw
	if c == PCMA {
		b = p.alaw
	}
	return b[n*frameSamples : (n+1)*frameSamples], true
}

//go:embed prompts/*.wav
var builtinFS embed.FS

// Prompts is a set of prompts by name.
type Prompts struct {
	byName map[string]*Prompt
}

// LoadPrompts returns the built-in prompts (welcome, invalid, goodbye,
// screening and the parts of the screening announcement: see
// prompts/README.md), overridden and extended by the *.wav files of dir, each named
// by its file name without .wav; dir "" means built-ins only. Every file that
// cannot be used is reported, by path.
func LoadPrompts(dir string) (*Prompts, error) {
	p := &Prompts{byName: map[string]*Prompt{}}
	if err := p.load(builtinFS, "prompts", false); err != nil {
		return nil, err // a broken build
	}
	if dir == "" {
		return p, nil
	}
	if err := p.load(os.DirFS(dir), ".", true); err != nil {
		return nil, fmt.Errorf("prompts %s: %w", dir, err)
	}
	return p, nil
}

func (p *Prompts) load(fsys fs.FS, dir string, custom bool) error {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".wav")
		if !ok || e.IsDir() {
			continue
		}
		f, err := fsys.Open(filepath.ToSlash(filepath.Join(dir, e.Name())))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pcm, err := ReadWAV(f)
		f.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.Name(), err))
			continue
		}
		pr := NewPrompt(name, pcm)
		pr.custom = custom
		p.byName[name] = pr
	}
	return errors.Join(errs...)
}

// Get returns the prompt called name.
func (p *Prompts) Get(name string) (*Prompt, bool) {
	pr, ok := p.byName[name]
	return pr, ok
}

// Names returns the prompt names, sorted.
func (p *Prompts) Names() []string { return slices.Sorted(maps.Keys(p.byName)) }

// Sequence is prompts played back to back, as one Source: an announcement
// assembled per call ("call for", the tenant, "from", the caller's digits…).
// Like its prompts it is immutable, and costs no copying of audio.
type Sequence struct {
	parts []*Prompt
	ends  []int // ends[i]: frames of parts[0..i]
}

// NewSequence returns parts played one after the other; nil parts are left
// out.
func NewSequence(parts ...*Prompt) *Sequence {
	s := &Sequence{}
	total := 0
	for _, p := range parts {
		if p == nil || p.frameCount == 0 {
			continue
		}
		total += p.frameCount
		s.parts = append(s.parts, p)
		s.ends = append(s.ends, total)
	}
	return s
}

// Names returns the names of the parts, in order.
func (s *Sequence) Names() []string {
	names := make([]string, len(s.parts))
	for i, p := range s.parts {
		names[i] = p.name
	}
	return names
}

// Frames returns the number of 20 ms frames: the sum of the parts'.
func (s *Sequence) Frames() int {
	if len(s.ends) == 0 {
		return 0
	}
	return s.ends[len(s.ends)-1]
}

// Duration returns the sequence's length.
func (s *Sequence) Duration() time.Duration { return time.Duration(s.Frames()) * frameDuration }

// Frame returns frame n of the sequence encoded with c, shared like a
// Prompt's.
func (s *Sequence) Frame(c Codec, n int) ([]byte, bool) {
	if n < 0 || n >= s.Frames() {
		return nil, false
	}
	i, _ := slices.BinarySearch(s.ends, n+1) // the first part ending after frame n
	start := 0
	if i > 0 {
		start = s.ends[i-1]
	}
	return s.parts[i].Frame(c, n-start)
}
