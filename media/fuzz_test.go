package media

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/pion/sdp/v3"
)

// FuzzNegotiate: no offer makes Negotiate panic, and every answer it gives
// parses and, read back as the answer to our own offer, names our address
// and the codec it negotiated.
func FuzzNegotiate(f *testing.F) {
	offers, _ := filepath.Glob("testdata/sdp/*.offer")
	for _, path := range offers {
		b, _ := os.ReadFile(path)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, offer []byte) {
		answer, n, err := Negotiate(offer, testLocal)
		if err != nil {
			return
		}
		var sd sdp.SessionDescription
		if err := sd.Unmarshal(answer); err != nil {
			t.Fatalf("answer does not parse: %v\n%s", err, answer)
		}
		back, err := ParseAnswer(answer, testLocal)
		if err != nil {
			t.Fatalf("ParseAnswer(our answer): %v\n%s", err, answer)
		}
		want := netip.AddrPortFrom(testLocal.Addr, uint16(testLocal.Port))
		if back.RemoteRTP != want || back.PayloadType != n.PayloadType || back.Codec != n.Codec || back.DTMFPayloadType != n.DTMFPayloadType {
			t.Fatalf("our answer reads back as %+v, negotiated %+v", back, n)
		}
	})
}

// FuzzReceive: any datagram on an RTP port is handled without panic, and a
// flood of them never queues more digits than the buffer holds.
func FuzzReceive(f *testing.F) {
	pool, err := NewPortPool("43000-43999", nil)
	if err != nil {
		f.Fatal(err)
	}
	s, err := NewSession(SessionConfig{Addr: loopback, Pool: pool, Clock: newStepClock(), DTMFBuffer: 4})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	from := netip.MustParseAddrPort("192.0.2.1:4000")
	s.SetRemote(Negotiated{RemoteRTP: from, Codec: PCMU, DTMFPayloadType: 101})
	for _, name := range []string{"dtmf_2833_1.pcap", "dtmf_2833_pound.pcap"} {
		if _, err := os.Stat(filepath.Join(sipTesterDir, name)); err == nil {
			for _, b := range readPcap(f, filepath.Join(sipTesterDir, name)) {
				f.Add(b)
			}
		}
	}
	f.Add([]byte{0x80, 0x00, 0x00, 0x01, 0, 0, 0, 160, 0, 0, 0, 1})
	f.Add([]byte{0x90, 0x65, 0x00, 0x01, 0, 0, 0, 160, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0, 1, 0x80, 0, 160})
	f.Fuzz(func(t *testing.T, b []byte) {
		s.receive(b, from)
		if len(s.DTMF().Digits()) > 4 {
			t.Fatalf("%d digits queued, buffer is 4", len(s.DTMF().Digits()))
		}
		for len(s.DTMF().Digits()) > 2 {
			<-s.DTMF().Digits()
		}
	})
}

// FuzzEvent: what parses re-marshals to the same four bytes (volume's two
// reserved bits aside).
func FuzzEvent(f *testing.F) {
	f.Add([]byte{0x05, 0x8a, 0x03, 0x20})
	f.Add([]byte{0x0b, 0x0a, 0x00, 0xa0, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := ParseEvent(b)
		if err != nil {
			return
		}
		want := append([]byte(nil), b[:4]...)
		want[1] &^= 0x40 // the R bit is not kept
		if got := ev.Marshal(); !bytes.Equal(got, want) {
			t.Fatalf("Marshal(ParseEvent(%x)) = %x", b[:4], got)
		}
		_ = NewDetector(1, nil).Feed(0, b)
	})
}

// FuzzParseInfo: INFO bodies are attacker-controlled; any accepted one
// yields a key.
func FuzzParseInfo(f *testing.F) {
	f.Add("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n")
	f.Add("application/dtmf", "#")
	f.Fuzz(func(t *testing.T, ct, body string) {
		key, err := ParseInfo(ct, []byte(body))
		if err != nil {
			return
		}
		if _, ok := DigitEvent(key); !ok {
			t.Fatalf("ParseInfo(%q, %q) = %q, not a key", ct, body, key)
		}
	})
}

// FuzzReadWAV: prompt files come from operators; a bad one is an error,
// never a panic or a huge allocation.
func FuzzReadWAV(f *testing.F) {
	f.Add(wavFile(1, 1, 8000, 16, pcm16(1, 2, 3)))
	f.Add(wavFile(7, 1, 8000, 8, []byte{0xFF}, "LISTabc"))
	b, _ := builtinFS.ReadFile("prompts/goodbye.wav")
	f.Add(b[:200])
	f.Fuzz(func(t *testing.T, b []byte) {
		pcm, err := ReadWAV(bytes.NewReader(b))
		if err == nil && len(pcm) > len(b) {
			t.Fatalf("%d samples from %d bytes", len(pcm), len(b))
		}
	})
}
