package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pion/rtp"
)

const sipTesterDir = "/usr/share/sip-tester"

// readPcap returns the UDP payloads of a classic pcap file (Ethernet, IPv4).
// It is the small reader the tests need, not a general one.
func readPcap(t testing.TB, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("SIPp DTMF pcaps not installed (apt-get install sip-tester): %v", err)
	}
	if len(b) < 24 {
		t.Fatalf("%s: %d bytes, too short for a pcap", path, len(b))
	}
	var order binary.ByteOrder
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		order = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		order = binary.BigEndian
	default:
		t.Fatalf("%s: not a pcap file", path)
	}
	if link := order.Uint32(b[20:]); link != 1 {
		t.Fatalf("%s: link type %d, want Ethernet (1)", path, link)
	}
	var out [][]byte
	for rec := b[24:]; len(rec) >= 16; {
		n := int(order.Uint32(rec[8:]))
		if 16+n > len(rec) {
			t.Fatalf("%s: truncated record", path)
		}
		frame := rec[16 : 16+n]
		rec = rec[16+n:]
		eth := 14
		if binary.BigEndian.Uint16(frame[12:]) == 0x8100 { // VLAN tag
			eth += 4
		}
		if binary.BigEndian.Uint16(frame[eth-2:]) != 0x0800 {
			continue // not IPv4
		}
		ip := frame[eth:]
		if ip[9] != 17 {
			continue // not UDP
		}
		udp := ip[int(ip[0]&0x0F)*4:]
		out = append(out, udp[8:binary.BigEndian.Uint16(udp[4:])])
	}
	return out
}

func pcapPackets(t testing.TB, name string) []*rtp.Packet {
	t.Helper()
	var out []*rtp.Packet
	for _, payload := range readPcap(t, filepath.Join(sipTesterDir, name)) {
		var p rtp.Packet
		if err := p.Unmarshal(payload); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, &p)
	}
	return out
}

func drain(d *Detector) string {
	got := ""
	for len(d.Digits()) > 0 {
		got += string(<-d.Digits())
	}
	return got
}

func TestDetectorSIPpPcaps(t *testing.T) {
	keys := map[string]byte{"star": '*', "pound": '#'}
	for i := range 10 {
		keys[fmt.Sprint(i)] = byte('0' + i)
	}
	all := NewDetector(64, nil)
	want := ""
	for _, name := range []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "star", "pound"} {
		t.Run(name, func(t *testing.T) {
			pkts := pcapPackets(t, "dtmf_2833_"+name+".pcap")
			ends := 0
			for _, p := range pkts {
				if ev, _ := ParseEvent(p.Payload); ev.End {
					ends++
				}
			}
			if len(pkts) < 4 || ends < 3 || pkts[0].PayloadType != 101 {
				t.Fatalf("pcap has %d packets, %d with the end bit, pt %d; want a whole event with 3 end packets", len(pkts), ends, pkts[0].PayloadType)
			}
			d := NewDetector(8, nil)
			for range 2 { // replaying it: same timestamps, the same press
				for _, p := range pkts {
					if err := d.Feed(p.Timestamp, p.Payload); err != nil {
						t.Fatal(err)
					}
				}
			}
			if got := drain(d); got != string(keys[name]) {
				t.Errorf("digits %q, want %q", got, keys[name])
			}
			// Without its first packet, and then without its end packets.
			d = NewDetector(8, nil)
			for _, p := range pkts[1:] {
				_ = d.Feed(p.Timestamp, p.Payload)
			}
			for _, p := range pkts[:len(pkts)-ends] {
				_ = d.Feed(p.Timestamp+1000, p.Payload) // another press
			}
			if got, want := drain(d), string([]byte{keys[name], keys[name]}); got != want {
				t.Errorf("with lost packets: digits %q, want %q", got, want)
			}
			for _, p := range pkts {
				_ = all.Feed(p.Timestamp, p.Payload)
			}
			want += string(keys[name])
		})
	}
	if got := drain(all); got != want {
		t.Errorf("all pcaps in a row: %q, want %q", got, want)
	}
}

// The pcaps through a Session: only the negotiated telephone-event type
// reaches the detector.
func TestSessionDTMFFromPcap(t *testing.T) {
	m := newTestMetrics(t)
	s := newTestSession(t, SessionConfig{Clock: newStepClock(), Metrics: m.Metrics})
	pkts := readPcap(t, filepath.Join(sipTesterDir, "dtmf_2833_7.pcap"))
	from := netAddr("192.168.0.3:49176")
	s.SetRemote(Negotiated{RemoteRTP: from, Codec: PCMU, DTMFPayloadType: 101})
	for _, b := range pkts {
		s.receive(b, from)
	}
	if got := drain(s.DTMF()); got != "7" {
		t.Errorf("digits %q, want \"7\"", got)
	}
	m.expect(t, `switchboard_dtmf_events_total{source="rfc4733"}`, 1)
	m.expect(t, `switchboard_rtp_packets_total{direction="in"}`, float64(len(pkts)))

	s.SetRemote(Negotiated{RemoteRTP: from, Codec: PCMU, DTMFPayloadType: 96}) // 101 no longer ours
	for _, b := range pkts {
		s.receive(b, from)
	}
	if got := drain(s.DTMF()); got != "" {
		t.Errorf("digits %q from a payload type not negotiated", got)
	}
}

func TestDetectorEvents(t *testing.T) {
	d := NewDetector(8, nil)
	feed := func(ts uint32, ev Event) { _ = d.Feed(ts, ev.Marshal()) }
	feed(100, Event{Code: 1})
	feed(100, Event{Code: 1, Duration: 160})
	feed(100, Event{Code: 1, End: true, Duration: 320})
	feed(100, Event{Code: 1, End: true, Duration: 320})
	feed(900, Event{Code: 1, Volume: 63}) // same key, new timestamp: a new press
	feed(100, Event{Code: 1, End: true})  // late duplicate of the first
	feed(1700, Event{Code: 11})
	feed(2500, Event{Code: 16}) // flash: no key
	feed(3300, Event{Code: 12})
	if got := drain(d); got != "11#A" {
		t.Errorf("digits %q, want \"11#A\"", got)
	}
	if err := d.Feed(1, []byte{1, 2}); !errors.Is(err, ErrBadDTMF) {
		t.Errorf("Feed(short) = %v, want ErrBadDTMF", err)
	}
}

func TestDetectorFloodIsBounded(t *testing.T) {
	m := newTestMetrics(t)
	d := NewDetector(4, m.Metrics)
	for ts := range uint32(10000) {
		_ = d.Feed(ts*160, Event{Code: 5}.Marshal())
	}
	if len(d.Digits()) != 4 || d.Dropped() != 9996 {
		t.Errorf("%d queued, %d dropped; want 4, 9996", len(d.Digits()), d.Dropped())
	}
	m.expect(t, "switchboard_dtmf_dropped_total", 9996)
	m.expect(t, `switchboard_dtmf_events_total{source="rfc4733"}`, 4)
}

func TestEventRoundTrip(t *testing.T) {
	for _, ev := range []Event{{Code: 0}, {Code: 11, End: true, Volume: 63, Duration: 0xFFFF}, {Code: 15, Volume: 10, Duration: 800}} {
		got, err := ParseEvent(ev.Marshal())
		if err != nil || got != ev {
			t.Errorf("ParseEvent(Marshal(%+v)) = %+v, %v", ev, got, err)
		}
	}
	for key := range 256 {
		code, ok := DigitEvent(byte(key))
		back, ok2 := EventDigit(code)
		if ok && (!ok2 || back != upper(byte(key))) {
			t.Errorf("EventDigit(DigitEvent(%q)) = %q", byte(key), back)
		}
	}
	if _, err := DTMFEvents('x', 800); !errors.Is(err, ErrBadDTMF) {
		t.Errorf("DTMFEvents('x') = %v, want ErrBadDTMF", err)
	}
	if evs, _ := DTMFEvents('#', 0); len(evs) != 3 {
		t.Errorf("DTMFEvents('#', 0) = %d packets, want 3 end packets", len(evs))
	}
}

func TestParseInfo(t *testing.T) {
	tests := []struct {
		ct, body string
		want     byte
		ok       bool
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', true},
		{"application/dtmf-relay", "Signal= *\r\nDuration= 160", '*', true},
		{"Application/DTMF-Relay; charset=x", "duration=100\nsignal=#\n", '#', true},
		{"application/dtmf-relay", "Signal=11\r\nDuration=160\r\n", '#', true},
		{"application/dtmf-relay", "Signal=10", '*', true},
		{"application/dtmf-relay", "Signal=d", 'D', true},
		{"application/dtmf", "7", '7', true},
		{"application/dtmf", " 0\r\n", '0', true},
		{"application/dtmf-relay", "Duration=160", 0, false},
		{"application/dtmf-relay", "Signal=16", 0, false},
		{"application/dtmf-relay", "Signal=55", 0, false},
		{"application/dtmf", "", 0, false},
		{"text/plain", "5", 0, false},
		{"", "5", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.ct+" "+tt.body, func(t *testing.T) {
			got, err := ParseInfo(tt.ct, []byte(tt.body))
			if got != tt.want || (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrBadDTMF)) {
				t.Errorf("ParseInfo(%q, %q) = %q, %v; want %q, ok=%v", tt.ct, tt.body, got, err, tt.want, tt.ok)
			}
		})
	}
	m := newTestMetrics(t)
	d := NewDetector(4, m.Metrics)
	_ = d.Info("application/dtmf-relay", []byte("Signal=1\r\n"))
	_ = d.Info("application/dtmf-relay", []byte("Signal=1\r\n")) // each INFO is a press
	if got := drain(d); got != "11" {
		t.Errorf("Info digits %q, want \"11\"", got)
	}
	m.expect(t, `switchboard_dtmf_events_total{source="info"}`, 2)
}
