package media

import "testing"

func TestG711KnownValues(t *testing.T) {
	tests := []struct {
		name string
		enc  func(int16) byte
		dec  func(byte) int16
		pcm  int16
		code byte
		back int16 // decode(code)
	}{
		{"mulaw zero", EncodeMulaw, DecodeMulaw, 0, 0xFF, 0},
		{"mulaw max", EncodeMulaw, DecodeMulaw, 32767, 0x80, 32124},
		{"mulaw min", EncodeMulaw, DecodeMulaw, -32768, 0x00, -32124},
		{"mulaw -1", EncodeMulaw, DecodeMulaw, -1, 0x7F, 0},
		{"mulaw 1000", EncodeMulaw, DecodeMulaw, 1000, 0xCE, 988},
		{"alaw zero", EncodeAlaw, DecodeAlaw, 0, 0xD5, 8},
		{"alaw max", EncodeAlaw, DecodeAlaw, 32767, 0xAA, 32256},
		{"alaw min", EncodeAlaw, DecodeAlaw, -32768, 0x2A, -32256},
		{"alaw -1", EncodeAlaw, DecodeAlaw, -1, 0x55, -8},
		{"alaw 1000", EncodeAlaw, DecodeAlaw, 1000, 0xFA, 1008},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.enc(tt.pcm); got != tt.code {
				t.Errorf("encode(%d) = %#x, want %#x", tt.pcm, got, tt.code)
			}
			if got := tt.dec(tt.code); got != tt.back {
				t.Errorf("decode(%#x) = %d, want %d", tt.code, got, tt.back)
			}
		})
	}
}

// Every code decodes to a value that encodes back to the same code; µ-law's
// negative zero (0x7F) is the one exception, it comes back as 0xFF.
func TestG711RoundTrip(t *testing.T) {
	for i := range 256 {
		u := byte(i)
		want := u
		if u == 0x7F {
			want = 0xFF
		}
		if got := EncodeMulaw(DecodeMulaw(u)); got != want {
			t.Errorf("EncodeMulaw(DecodeMulaw(%#x)) = %#x, want %#x", u, got, want)
		}
		if got := EncodeAlaw(DecodeAlaw(u)); got != u {
			t.Errorf("EncodeAlaw(DecodeAlaw(%#x)) = %#x, want %#x", u, got, u)
		}
	}
}

// Quantising is monotonic and its error bounded by half a step of the
// segment (at most 1/32 of the value, plus the smallest step).
func TestG711Monotonic(t *testing.T) {
	for _, c := range []Codec{PCMU, PCMA} {
		prev := int16(-32768)
		for v := -32768; v <= 32767; v++ {
			q := c.Decode(nil, c.Encode(nil, []int16{int16(v)}))[0]
			if q < prev {
				t.Fatalf("%v: decode(encode(%d)) = %d < decode(encode(%d)) = %d", c, v, q, v-1, prev)
			}
			prev = q
			if err := abs(int(q) - v); v > -32124 && v < 32124 && err > abs(v)/32+16 {
				t.Fatalf("%v: decode(encode(%d)) = %d, error %d too large", c, v, q, err)
			}
		}
	}
}

func TestTranscode(t *testing.T) {
	for i := range 256 {
		b := []byte{byte(i)}
		transcode(b, PCMU, PCMA)
		if got, want := b[0], EncodeAlaw(DecodeMulaw(byte(i))); got != want {
			t.Errorf("transcode(%#x, PCMU, PCMA) = %#x, want %#x", i, got, want)
		}
		b[0] = byte(i)
		transcode(b, PCMA, PCMU)
		if got, want := b[0], EncodeMulaw(DecodeAlaw(byte(i))); got != want {
			t.Errorf("transcode(%#x, PCMA, PCMU) = %#x, want %#x", i, got, want)
		}
	}
	if PCMU.Silence() != EncodeMulaw(0) || PCMA.Silence() != EncodeAlaw(0) {
		t.Errorf("Silence() = %#x, %#x; want the encodings of 0", PCMU.Silence(), PCMA.Silence())
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
