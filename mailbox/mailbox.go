package mailbox

import (
	"context"
	"errors"
	"time"
)

// Errors of a Store.
var (
	ErrNotFound = errors.New("mailbox: message not found")
	ErrFull     = errors.New("mailbox: full")
)

// Box names one mailbox: a tenant's domain and the mailbox within it,
// "user:john" or "mailbox:general" (routing.Mailbox.String()).
type Box struct {
	Tenant string
	Name   string
}

func (b Box) String() string { return b.Tenant + "/" + b.Name }

// Message is one voicemail message's metadata; its audio (an 8 kHz mono
// 16-bit WAV) is stored beside it. The JSON names are the admin API's.
type Message struct {
	ID       string    `json:"id"`
	From     string    `json:"from"`                // the caller's number or user
	FromName string    `json:"from_name,omitempty"` // its display name
	To       string    `json:"to"`                  // the number or extension called
	Received time.Time `json:"received"`
	Duration float64   `json:"duration_s"`
	New      bool      `json:"new"`
	Size     int       `json:"size_bytes"`
}

// Limits cap one mailbox; zero fields mean the defaults.
type Limits struct {
	MaxMessages int   // default 100
	MaxBytes    int64 // default 50 MiB
}

func (l Limits) withDefaults() Limits {
	if l.MaxMessages <= 0 {
		l.MaxMessages = 100
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = 50 << 20
	}
	return l
}

// Counts are what a message-waiting lamp shows.
type Counts struct{ New, Old int }

// Store keeps messages and greetings. Every change (save, read, delete,
// greeting) is announced to the Watch callbacks of every instance sharing
// the store.
type Store interface {
	// Save stores a message (ID, Received and Size are set) unless the
	// mailbox is at its limits (ErrFull).
	Save(ctx context.Context, b Box, m Message, wav []byte, lim Limits) (Message, error)
	// Full reports whether a message of size bytes would not fit.
	Full(ctx context.Context, b Box, size int, lim Limits) (bool, error)
	// List returns the mailbox's messages, oldest first.
	List(ctx context.Context, b Box) ([]Message, error)
	// Audio returns a message's WAV (ErrNotFound).
	Audio(ctx context.Context, b Box, id string) ([]byte, error)
	// SetNew marks a message new or heard (ErrNotFound).
	SetNew(ctx context.Context, b Box, id string, isNew bool) error
	// Delete removes a message (ErrNotFound).
	Delete(ctx context.Context, b Box, id string) error
	// Greeting returns the mailbox's recorded greeting, nil when none.
	Greeting(ctx context.Context, b Box) ([]byte, error)
	// SetGreeting records the mailbox's greeting.
	SetGreeting(ctx context.Context, b Box, wav []byte) error
	// Watch registers f, called (from a store goroutine) with every mailbox
	// that changed, on this instance or another. Call before Run.
	Watch(f func(Box))
}

// CountsOf counts the new and old messages of a list.
func CountsOf(ms []Message) Counts {
	var c Counts
	for _, m := range ms {
		if m.New {
			c.New++
		} else {
			c.Old++
		}
	}
	return c
}
