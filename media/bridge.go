package media

import "sync"

// Bridge relays RTP between two sessions, A→B and B→A, from each session's
// reader (no goroutine of its own). Each outgoing stream keeps its own SSRC
// and sequence numbers; the relayed timestamps get an offset, set per
// direction whenever the source changes (start of the bridge, the peer's
// SSRC changing, a Player in between), that continues the stream the far
// end was hearing — after the ringback the callee's audio follows without a
// timestamp jump back or overlap, with the marker bit set. Audio is
// transcoded between PCMU and PCMA when the legs negotiated different
// codecs; telephone-events are relayed when both legs negotiated them.
//
// Stop any Player on either session before Start: a session has one source
// at a time.
type Bridge struct {
	a, b *Session

	mu      sync.Mutex
	running bool
}

// NewBridge returns a stopped bridge between a and b.
func NewBridge(a, b *Session) *Bridge { return &Bridge{a: a, b: b} }

// Start begins relaying in both directions; starting a started bridge does
// nothing.
func (br *Bridge) Start() {
	br.mu.Lock()
	defer br.mu.Unlock()
	br.running = true
	br.a.relayTo.Store(br.b)
	br.b.relayTo.Store(br.a)
}

// Stop ends relaying; packets already being relayed finish. The sessions
// stay open, ready for a Player or another Start.
func (br *Bridge) Stop() {
	br.mu.Lock()
	defer br.mu.Unlock()
	br.running = false
	br.a.relayTo.CompareAndSwap(br.b, nil)
	br.b.relayTo.CompareAndSwap(br.a, nil)
}

// Running reports whether the bridge relays.
func (br *Bridge) Running() bool {
	br.mu.Lock()
	defer br.mu.Unlock()
	return br.running
}
