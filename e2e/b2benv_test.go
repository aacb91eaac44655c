package e2e

import (
	le "encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// b2bDirectory is the directory of the attendant and screening tests: the
// sales group, a "main" menu (built-in welcome greeting, dial by extension)
// and a "quick" one (a 0.4 s custom greeting, 1 s timeout) for the timeout
// path, and sam, whose calls are forwarded with press-1 screening.
const b2bDirectory = `tenants:
  - domain: acme.example
    name: Acme Inc
    main_number: "+14155550100"
    users:
      - {id: alice, name: Alice Anders, extensions: ["7001"], password: alice7001}
      - {id: bob, name: Bob Brown, extensions: ["7002"], password: bob7002}
      - {id: carol, name: Carol Chen, extensions: ["7003"], password: carol7003}
      - id: sam
        name: Sam Screened
        extensions: ["7010"]
        password: sam7010
        direct_number: "+14155550110"
        forward: {number: "+14085550010", when: always, screening: true}
    groups:
      - {id: sales, extension: "7100", members: ["alice", "bob"], strategy: simultaneous, ring: 20s}
    attendants:
      - id: main
        greeting: welcome
        options: {"1": "group:sales", "0": "user:carol"}
        dial_by_extension: true
        timeout: 2s
        retries: 1
        fallback: "user:carol"
      - id: quick
        greeting: short
        options: {"1": "group:sales"}
        timeout: 1s
        retries: 1
        fallback: "user:carol"
    numbers:
      "+14155550100": "attendant:main"
      "+14155550199": "attendant:quick"
      "+14155550110": "user:sam"
`

// b2bPorts is the number of RTP ports each test server's pool holds.
const b2bPorts = 50

var b2bPortBase atomic.Int32

// b2bEnv is a server with the B2BUA directory, a PSTN caller and a fake
// carrier (the trunk's address), both media phones on 127.0.0.2.
type b2bEnv struct {
	srv     *server
	pstn    *mediaPhone // calls in through the trunk
	carrier *mediaPhone // where forwards go
	prompts string      // the media.prompts folder
}

func newB2BEnv(t *testing.T) *b2bEnv {
	t.Helper()
	return newB2BEnvWith(t, options{Directory: b2bDirectory})
}

// newB2BEnvWith is newB2BEnv with other options (directory, admin token);
// the trunk and media settings are the environment's.
func newB2BEnvWith(t *testing.T, opt options) *b2bEnv {
	t.Helper()
	pstn := newMediaPhone(t, nil, "pstn", "127.0.0.2", 0x11)
	carrier := newMediaPhone(t, nil, "carrier", "127.0.0.2", 0x22)
	prompts := t.TempDir()
	writeTone(t, filepath.Join(prompts, "short.wav"), 400*time.Millisecond)
	// The tenant's name in the screening announcement.
	writeTone(t, filepath.Join(prompts, "tenant-acme.example.wav"), 500*time.Millisecond)
	lo := 21000 + 100*int(b2bPortBase.Add(1))
	opt.Trunk, opt.TrunkFrom = carrier.addr, "127.0.0.2/32"
	opt.Media = fmt.Sprintf("  address: 127.0.0.1\n  ports: \"%d-%d\"\n  prompts: %q\n  inactivity: 3s\n  screening_timeout: 2s\n  screening_ring: 3s\n",
		lo, lo+2*b2bPorts-1, prompts)
	srv := start(t, opt)
	pstn.srv, carrier.srv = srv, srv
	return &b2bEnv{srv: srv, pstn: pstn, carrier: carrier, prompts: prompts}
}

// phone is a registered media phone on 127.0.0.1.
func (e *b2bEnv) phone(t *testing.T, u user, fill byte, a answer) *mediaPhone {
	t.Helper()
	p := newMediaPhone(t, e.srv, u.id, "127.0.0.1", fill)
	p.register(u.ext, u)
	p.setAnswer(a)
	return p
}

// wantIdle waits until no call, RTP session or port is left, plus the
// extra samples given.
func (e *b2bEnv) wantIdle(t *testing.T, extra map[string]float64) {
	t.Helper()
	want := map[string]float64{
		"switchboard_media_sessions_active": 0,
		"switchboard_rtp_ports_available":   b2bPorts,
		callsActive:                         0,
	}
	for k, v := range extra {
		want[k] = v
	}
	e.srv.wantMetrics(t, want, 10*time.Second)
}

func selections(option string) string {
	return fmt.Sprintf(`switchboard_attendant_selections_total{option=%q,tenant="acme.example"}`, option)
}

func screening(result string) string {
	return fmt.Sprintf(`switchboard_screening_total{result=%q}`, result)
}

// writeTone writes a 440 Hz tone as an 8 kHz mono 16-bit PCM WAV file: a
// custom prompt.
func writeTone(t *testing.T, path string, d time.Duration) {
	t.Helper()
	n := int(d.Seconds() * 8000)
	data := make([]byte, 2*n)
	for i := range n {
		v := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
		le.LittleEndian.PutUint16(data[2*i:], uint16(v))
	}
	var h []byte
	h = append(h, "RIFF"...)
	h = le.LittleEndian.AppendUint32(h, uint32(36+len(data)))
	h = append(h, "WAVEfmt "...)
	h = le.LittleEndian.AppendUint32(h, 16)
	h = le.LittleEndian.AppendUint16(h, 1)    // PCM
	h = le.LittleEndian.AppendUint16(h, 1)    // mono
	h = le.LittleEndian.AppendUint32(h, 8000) // sample rate
	h = le.LittleEndian.AppendUint32(h, 16000)
	h = le.LittleEndian.AppendUint16(h, 2)
	h = le.LittleEndian.AppendUint16(h, 16)
	h = append(h, "data"...)
	h = le.LittleEndian.AppendUint32(h, uint32(len(data)))
	if err := os.WriteFile(path, append(h, data...), 0o600); err != nil {
		t.Fatal(err)
	}
}
