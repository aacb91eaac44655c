package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// ErrBadDTMF is returned for a telephone-event payload or SIP INFO body that
// does not carry a key press.
var ErrBadDTMF = errors.New("media: bad DTMF")

const (
	sourceRFC4733 = "rfc4733"
	sourceInfo    = "info"
)

// Event is one RFC 4733 telephone-event payload (§2.3).
type Event struct {
	Code     uint8  // 0-9, 10 = *, 11 = #, 12-15 = A-D, 16 = flash
	End      bool   // E bit: last packets of the event
	Volume   uint8  // 0 to 63, in -dBm0
	Duration uint16 // in timestamp units (1/8000 s) since the event began
}

// ParseEvent reads a telephone-event payload: its first four bytes; more
// (RFC 2198 redundancy is not negotiated) are ignored.
func ParseEvent(payload []byte) (Event, error) {
	if len(payload) < 4 {
		return Event{}, fmt.Errorf("%w: telephone-event payload of %d bytes, want 4", ErrBadDTMF, len(payload))
	}
	return Event{
		Code:     payload[0],
		End:      payload[1]&0x80 != 0,
		Volume:   payload[1] & 0x3F,
		Duration: binary.BigEndian.Uint16(payload[2:4]),
	}, nil
}

// Marshal returns the four-byte payload of e.
func (e Event) Marshal() []byte {
	b := []byte{e.Code, e.Volume & 0x3F, 0, 0}
	if e.End {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], e.Duration)
	return b
}

const digits = "0123456789*#ABCD"

// EventDigit returns the key of an event code: '0'-'9', '*', '#', 'A'-'D'.
func EventDigit(code uint8) (byte, bool) {
	if int(code) >= len(digits) {
		return 0, false
	}
	return digits[code], true
}

// DigitEvent returns the event code of a key ('0'-'9', '*', '#', 'A'-'D',
// lower case accepted).
func DigitEvent(digit byte) (uint8, bool) {
	i := strings.IndexByte(digits, upper(digit))
	if i < 0 {
		return 0, false
	}
	return uint8(i), true
}

func upper(b byte) byte {
	if b >= 'a' && b <= 'z' {
		return b - 'a' + 'A'
	}
	return b
}

// DTMFEvents returns the payloads RFC 4733 sends for one key press lasting
// d samples (at 8 kHz): one every 20 ms with a growing duration, the first
// starting the event (send it with the marker bit), then the end packet
// three times (§2.5.1.4). All of them carry the event's start timestamp.
func DTMFEvents(digit byte, samples uint16) ([][]byte, error) {
	code, ok := DigitEvent(digit)
	if !ok {
		return nil, fmt.Errorf("%w: %q is not a DTMF key", ErrBadDTMF, digit)
	}
	const step = 8000 * Ptime / 1000
	if samples < step {
		samples = step
	}
	var out [][]byte
	for dur := uint16(step); dur < samples; dur += step {
		out = append(out, Event{Code: code, Volume: 10, Duration: dur}.Marshal())
	}
	end := Event{Code: code, End: true, Volume: 10, Duration: samples}.Marshal()
	return append(out, end, end, end), nil
}

// ParseInfo reads the key of a SIP INFO body: application/dtmf-relay
// ("Signal=5\r\nDuration=160") or application/dtmf ("5"). Signal 10 and 11
// are read as * and #, as some phones send them.
func ParseInfo(contentType string, body []byte) (byte, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return 0, fmt.Errorf("%w: content type %q: %v", ErrBadDTMF, contentType, err)
	}
	var signal string
	switch mt {
	case "application/dtmf-relay":
		for line := range strings.Lines(string(body)) {
			k, v, ok := strings.Cut(line, "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "signal") {
				signal = strings.TrimSpace(v)
				break
			}
		}
	case "application/dtmf":
		signal = strings.TrimSpace(string(body))
	default:
		return 0, fmt.Errorf("%w: content type %s, want application/dtmf-relay or application/dtmf", ErrBadDTMF, mt)
	}
	if len(signal) == 1 {
		if _, ok := DigitEvent(signal[0]); ok {
			return upper(signal[0]), nil
		}
	}
	if n, err := strconv.Atoi(signal); err == nil && n >= 10 && n <= 15 {
		return digits[n], nil
	}
	return 0, fmt.Errorf("%w: signal %q", ErrBadDTMF, signal)
}

// Detector turns RFC 4733 packets and SIP INFO bodies into key presses on a
// bounded channel. An RFC 4733 event is identified by its RTP timestamp:
// the first packet of an event (whichever arrives first, so a lost start or
// end packet does not matter) emits its key, every other packet of it —
// continuations, the repeated end packets, late duplicates — is ignored, and
// a new timestamp is a new press even with the same key. Volume and duration
// are not used. When the reader falls behind, presses are dropped and
// counted instead of queued, so a flood cannot grow memory.
type Detector struct {
	m       *Metrics
	digits  chan byte
	dropped atomic.Uint64

	mu     sync.Mutex
	recent [8]uint32 // timestamps of the last events, a ring
	seen   int       // how many of recent are valid
	next   int
}

// DefaultDTMFBuffer is how many unread key presses a Detector keeps.
const DefaultDTMFBuffer = 32

// NewDetector returns a detector that keeps up to buffer unread presses
// (DefaultDTMFBuffer when buffer <= 0).
func NewDetector(buffer int, m *Metrics) *Detector {
	if buffer <= 0 {
		buffer = DefaultDTMFBuffer
	}
	return &Detector{m: m, digits: make(chan byte, buffer)}
}

// Digits delivers each key press once: '0'-'9', '*', '#', 'A'-'D'.
func (d *Detector) Digits() <-chan byte { return d.digits }

// Dropped returns how many presses were dropped because Digits was full.
func (d *Detector) Dropped() uint64 { return d.dropped.Load() }

// Feed handles the payload of one telephone-event RTP packet with its RTP
// timestamp. It returns ErrBadDTMF for a payload too short to be an event.
func (d *Detector) Feed(timestamp uint32, payload []byte) error {
	ev, err := ParseEvent(payload)
	if err != nil {
		return err
	}
	d.mu.Lock()
	for i := range d.seen {
		if d.recent[i] == timestamp {
			d.mu.Unlock()
			return nil
		}
	}
	d.recent[d.next] = timestamp
	d.next = (d.next + 1) % len(d.recent)
	d.seen = min(d.seen+1, len(d.recent))
	d.mu.Unlock()
	if key, ok := EventDigit(ev.Code); ok {
		d.emit(key, sourceRFC4733)
	}
	return nil
}

// Info handles a SIP INFO request's body (see ParseInfo); each INFO is one
// press.
func (d *Detector) Info(contentType string, body []byte) error {
	key, err := ParseInfo(contentType, body)
	if err != nil {
		return err
	}
	d.emit(key, sourceInfo)
	return nil
}

func (d *Detector) emit(key byte, source string) {
	select {
	case d.digits <- key:
		d.m.digit(source)
	default:
		d.dropped.Add(1)
		d.m.digitDropped()
	}
}
