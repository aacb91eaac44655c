package media

import "math/bits"

// Codec is an audio codec switchboard speaks on RTP: G.711 µ-law or A-law,
// 8 kHz, one byte per sample.
type Codec uint8

// The codecs switchboard negotiates, in its default order of preference.
const (
	PCMU Codec = iota + 1 // G.711 µ-law, static payload type 0
	PCMA                  // G.711 A-law, static payload type 8
)

// PayloadType returns the codec's static RTP payload type (RFC 3551), 0 for
// an unknown codec.
func (c Codec) PayloadType() uint8 {
	if c == PCMA {
		return 8
	}
	return 0
}

// String returns the codec's SDP encoding name.
func (c Codec) String() string {
	switch c {
	case PCMU:
		return "PCMU"
	case PCMA:
		return "PCMA"
	}
	return "unknown"
}

// Silence returns the codec's encoding of a zero sample.
func (c Codec) Silence() byte {
	if c == PCMA {
		return 0xD5
	}
	return 0xFF
}

// Encode appends the codec's encoding of pcm to dst and returns it.
func (c Codec) Encode(dst []byte, pcm []int16) []byte {
	enc := EncodeMulaw
	if c == PCMA {
		enc = EncodeAlaw
	}
	for _, s := range pcm {
		dst = append(dst, enc(s))
	}
	return dst
}

// Decode appends the linear samples of payload, encoded with c, to dst and
// returns it.
func (c Codec) Decode(dst []int16, payload []byte) []int16 {
	table := &mulawToLinear
	if c == PCMA {
		table = &alawToLinear
	}
	for _, b := range payload {
		dst = append(dst, table[b])
	}
	return dst
}

// transcode rewrites payload in place from codec from to codec to.
func transcode(payload []byte, from, to Codec) {
	if from == to {
		return
	}
	table := &mulawToAlaw
	if from == PCMA {
		table = &alawToMulaw
	}
	for i, b := range payload {
		payload[i] = table[b]
	}
}

const (
	mulawBias = 0x84
	mulawClip = 32635
)

// EncodeMulaw encodes one 16-bit linear sample as G.711 µ-law.
func EncodeMulaw(s int16) byte {
	v := int(s)
	var sign byte
	if v < 0 {
		v = -v
		sign = 0x80
	}
	if v > mulawClip {
		v = mulawClip
	}
	v += mulawBias
	exp := bits.Len(uint(v>>7)) - 1 // v>>7 is in [1, 255]
	mant := (v >> (exp + 3)) & 0x0F
	return ^(sign | byte(exp)<<4 | byte(mant))
}

// DecodeMulaw decodes one G.711 µ-law byte to a 16-bit linear sample.
func DecodeMulaw(u byte) int16 { return mulawToLinear[u] }

func decodeMulaw(u byte) int16 {
	u = ^u
	exp := int(u>>4) & 0x07
	mant := int(u & 0x0F)
	v := ((mant<<3)+mulawBias)<<exp - mulawBias
	if u&0x80 != 0 {
		v = -v
	}
	return int16(v)
}

// EncodeAlaw encodes one 16-bit linear sample as G.711 A-law.
func EncodeAlaw(s int16) byte {
	v := int(s) >> 3 // A-law works on 13 bits
	mask := byte(0xD5)
	if v < 0 {
		mask = 0x55
		v = -v - 1
	}
	seg := bits.Len(uint(v >> 5)) // 0 for v < 32, 1 for v < 64, ...
	if seg > 7 {
		return 0x7F ^ mask
	}
	var a byte
	if seg < 2 {
		a = byte(seg<<4) | byte(v>>1)&0x0F
	} else {
		a = byte(seg<<4) | byte(v>>seg)&0x0F
	}
	return a ^ mask
}

// DecodeAlaw decodes one G.711 A-law byte to a 16-bit linear sample.
func DecodeAlaw(a byte) int16 { return alawToLinear[a] }

func decodeAlaw(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0F) << 4
	switch seg := int(a&0x70) >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 == 0 {
		t = -t
	}
	return int16(t)
}

var (
	mulawToLinear, alawToLinear [256]int16
	mulawToAlaw, alawToMulaw    [256]byte
)

func init() {
	for i := range 256 {
		mulawToLinear[i] = decodeMulaw(byte(i))
		alawToLinear[i] = decodeAlaw(byte(i))
	}
	for i := range 256 {
		mulawToAlaw[i] = EncodeAlaw(mulawToLinear[i])
		alawToMulaw[i] = EncodeMulaw(alawToLinear[i])
	}
}
