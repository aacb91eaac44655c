package mailbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"sync"
	"time"
)

// Memory is the Store of a single instance (the embedded store): messages
// live in process memory and are lost at restart.
type Memory struct {
	mu       sync.Mutex
	boxes    map[Box]*memBox
	watchers []func(Box)
	now      func() time.Time
}

type memBox struct {
	msgs     []memMsg
	bytes    int64
	greeting []byte
}

type memMsg struct {
	Message
	wav []byte
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty memory store.
func NewMemory() *Memory { return &Memory{boxes: map[Box]*memBox{}, now: time.Now} }

// Watch implements Store.
func (s *Memory) Watch(f func(Box)) {
	s.mu.Lock()
	s.watchers = append(s.watchers, f)
	s.mu.Unlock()
}

func (s *Memory) changed(b Box) {
	s.mu.Lock()
	ws := slices.Clone(s.watchers)
	s.mu.Unlock()
	for _, f := range ws {
		f(b)
	}
}

func (s *Memory) box(b Box) *memBox {
	mb := s.boxes[b]
	if mb == nil {
		mb = &memBox{}
		s.boxes[b] = mb
	}
	return mb
}

// Save implements Store.
func (s *Memory) Save(_ context.Context, b Box, m Message, wav []byte, lim Limits) (Message, error) {
	lim = lim.withDefaults()
	s.mu.Lock()
	mb := s.box(b)
	if len(mb.msgs) >= lim.MaxMessages || mb.bytes+int64(len(wav)) > lim.MaxBytes {
		s.mu.Unlock()
		return Message{}, ErrFull
	}
	m.ID, m.Size = newID(), len(wav)
	if m.Received.IsZero() {
		m.Received = s.now().UTC()
	}
	mb.msgs = append(mb.msgs, memMsg{Message: m, wav: slices.Clone(wav)})
	mb.bytes += int64(len(wav))
	s.mu.Unlock()
	s.changed(b)
	return m, nil
}

// Full implements Store.
func (s *Memory) Full(_ context.Context, b Box, size int, lim Limits) (bool, error) {
	lim = lim.withDefaults()
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.boxes[b]
	if mb == nil {
		return int64(size) > lim.MaxBytes, nil
	}
	return len(mb.msgs) >= lim.MaxMessages || mb.bytes+int64(size) > lim.MaxBytes, nil
}

// List implements Store.
func (s *Memory) List(_ context.Context, b Box) ([]Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.boxes[b]
	if mb == nil {
		return nil, nil
	}
	out := make([]Message, len(mb.msgs))
	for i, m := range mb.msgs {
		out[i] = m.Message
	}
	return out, nil
}

// Audio implements Store.
func (s *Memory) Audio(_ context.Context, b Box, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if mb := s.boxes[b]; mb != nil {
		for _, m := range mb.msgs {
			if m.ID == id {
				return m.wav, nil
			}
		}
	}
	return nil, ErrNotFound
}

// SetNew implements Store.
func (s *Memory) SetNew(_ context.Context, b Box, id string, isNew bool) error {
	s.mu.Lock()
	mb := s.boxes[b]
	i := -1
	if mb != nil {
		i = slices.IndexFunc(mb.msgs, func(m memMsg) bool { return m.ID == id })
	}
	if i < 0 {
		s.mu.Unlock()
		return ErrNotFound
	}
	was := mb.msgs[i].New
	mb.msgs[i].New = isNew
	s.mu.Unlock()
	if was != isNew {
		s.changed(b)
	}
	return nil
}

// Delete implements Store.
func (s *Memory) Delete(_ context.Context, b Box, id string) error {
	s.mu.Lock()
	mb := s.boxes[b]
	i := -1
	if mb != nil {
		i = slices.IndexFunc(mb.msgs, func(m memMsg) bool { return m.ID == id })
	}
	if i < 0 {
		s.mu.Unlock()
		return ErrNotFound
	}
	mb.bytes -= int64(len(mb.msgs[i].wav))
	mb.msgs = slices.Delete(mb.msgs, i, i+1)
	s.mu.Unlock()
	s.changed(b)
	return nil
}

// Greeting implements Store.
func (s *Memory) Greeting(_ context.Context, b Box) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if mb := s.boxes[b]; mb != nil {
		return mb.greeting, nil
	}
	return nil, nil
}

// SetGreeting implements Store.
func (s *Memory) SetGreeting(_ context.Context, b Box, wav []byte) error {
	s.mu.Lock()
	s.box(b).greeting = slices.Clone(wav)
	s.mu.Unlock()
	s.changed(b)
	return nil
}

// newID is a message id: time-ordered, unguessable, URL-safe.
func newID() string {
	var r [6]byte
	_, _ = rand.Read(r[:])
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(r[:])
}
