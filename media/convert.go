package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/hajimehoshi/go-mp3"
)

// ErrAudio is wrapped by every refusal of ConvertAudio; its message says
// what was wrong with the file, for the admin who uploaded it.
var ErrAudio = errors.New("audio")

// MaxUploadDuration bounds an uploaded prompt: a greeting, not an album.
const MaxUploadDuration = 5 * 60 // seconds

// ConvertAudio turns whatever WAV or MP3 an admin has — any sample rate,
// mono or stereo, 8/16/24/32-bit integer or 32-bit float PCM, G.711 — into
// the 8 kHz mono 16-bit samples prompts are made of. A file that is neither,
// is silent, or runs longer than MaxUploadDuration is refused with ErrAudio
// and the reason.
func ConvertAudio(data []byte) ([]int16, error) {
	var (
		pcm  []float32
		rate int
		err  error
	)
	switch {
	case len(data) >= 12 && string(data[0:4]) == "RIFF" && string(data[8:12]) == "WAVE":
		pcm, rate, err = decodeAnyWAV(data)
	case looksLikeMP3(data):
		pcm, rate, err = decodeMP3(data)
	default:
		return nil, fmt.Errorf("%w: not a WAV or MP3 file", ErrAudio)
	}
	if err != nil {
		return nil, err
	}
	if len(pcm) == 0 {
		return nil, fmt.Errorf("%w: the file holds no audio", ErrAudio)
	}
	if secs := len(pcm) / rate; secs > MaxUploadDuration {
		return nil, fmt.Errorf("%w: %d s long, more than the %d s a prompt may last", ErrAudio, secs, MaxUploadDuration)
	}
	out := resample(pcm, rate, 8000)
	peak := 0
	res := make([]int16, len(out))
	for i, v := range out {
		s := int(math.Round(float64(v) * 32767))
		s = max(-32768, min(32767, s))
		res[i] = int16(s)
		peak = max(peak, s, -s)
	}
	if peak < 33 { // under -60 dBFS all through
		return nil, fmt.Errorf("%w: the audio is silent", ErrAudio)
	}
	return res, nil
}

// looksLikeMP3 is true for an ID3v2 tag or an MPEG audio frame header.
func looksLikeMP3(b []byte) bool {
	if len(b) >= 3 && string(b[0:3]) == "ID3" {
		return true
	}
	return len(b) >= 2 && b[0] == 0xFF && b[1]&0xE0 == 0xE0
}

func decodeMP3(data []byte) ([]float32, int, error) {
	d, err := mp3.NewDecoder(bytes.NewReader(data))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: MP3: %v", ErrAudio, err)
	}
	rate := d.SampleRate()
	// The decoder gives 16-bit little-endian stereo; cap what is read so a
	// crafted file cannot make us hold hours of audio.
	limit := int64(rate) * (MaxUploadDuration + 1) * 4
	raw, err := io.ReadAll(io.LimitReader(d, limit))
	if err != nil && len(raw) == 0 {
		return nil, 0, fmt.Errorf("%w: MP3: %v", ErrAudio, err)
	}
	pcm := make([]float32, len(raw)/4)
	for i := range pcm {
		l := int16(binary.LittleEndian.Uint16(raw[4*i:]))
		r := int16(binary.LittleEndian.Uint16(raw[4*i+2:]))
		pcm[i] = (float32(l) + float32(r)) / 65536
	}
	return pcm, rate, nil
}

// decodeAnyWAV reads a RIFF WAVE of any common layout, mixed down to mono.
func decodeAnyWAV(data []byte) ([]float32, int, error) {
	var (
		format, channels, bits uint16
		rate                   uint32
		haveFmt                bool
	)
	b := data[12:]
	for len(b) >= 8 {
		id, size := string(b[0:4]), int(binary.LittleEndian.Uint32(b[4:8]))
		b = b[8:]
		if size > len(b) {
			size = len(b) // a streamed WAV often leaves the size wrong
		}
		chunk := b[:size]
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, 0, fmt.Errorf("%w: WAV fmt chunk of %d bytes", ErrAudio, size)
			}
			format = binary.LittleEndian.Uint16(chunk[0:2])
			channels = binary.LittleEndian.Uint16(chunk[2:4])
			rate = binary.LittleEndian.Uint32(chunk[4:8])
			bits = binary.LittleEndian.Uint16(chunk[14:16])
			if format == wavExtensible && size >= 26 {
				format = binary.LittleEndian.Uint16(chunk[24:26])
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, 0, fmt.Errorf("%w: WAV data before its fmt chunk", ErrAudio)
			}
			return wavSamples(chunk, format, channels, bits, rate)
		}
		b = b[min(len(b), size+size&1):]
	}
	return nil, 0, fmt.Errorf("%w: WAV without a data chunk", ErrAudio)
}

const wavFloat = 3

func wavSamples(d []byte, format, channels, bits uint16, rate uint32) ([]float32, int, error) {
	switch {
	case channels == 0 || channels > 8:
		return nil, 0, fmt.Errorf("%w: WAV with %d channels", ErrAudio, channels)
	case rate < 4000 || rate > 192000:
		return nil, 0, fmt.Errorf("%w: WAV at %d Hz (4 kHz to 192 kHz are taken)", ErrAudio, rate)
	}
	var sample func([]byte) float32
	switch {
	case format == wavPCM && bits == 8:
		sample = func(b []byte) float32 { return (float32(b[0]) - 128) / 128 }
	case format == wavPCM && bits == 16:
		sample = func(b []byte) float32 { return float32(int16(binary.LittleEndian.Uint16(b))) / 32768 }
	case format == wavPCM && bits == 24:
		sample = func(b []byte) float32 {
			return float32(int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24)>>8) / 8388608
		}
	case format == wavPCM && bits == 32:
		sample = func(b []byte) float32 { return float32(int32(binary.LittleEndian.Uint32(b))) / 2147483648 }
	case format == wavFloat && bits == 32:
		sample = func(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }
	case format == wavMulaw && bits == 8:
		sample = func(b []byte) float32 { return float32(PCMU.Decode(nil, b[:1])[0]) / 32768 }
	case format == wavAlaw && bits == 8:
		sample = func(b []byte) float32 { return float32(PCMA.Decode(nil, b[:1])[0]) / 32768 }
	default:
		return nil, 0, fmt.Errorf("%w: WAV format %#x with %d bits per sample (PCM 8/16/24/32-bit, 32-bit float, µ-law and A-law are taken)", ErrAudio, format, bits)
	}
	width := int(bits / 8)
	frame := width * int(channels)
	if len(d)/frame > int(rate)*(MaxUploadDuration+1) {
		return nil, 0, fmt.Errorf("%w: longer than the %d s a prompt may last", ErrAudio, MaxUploadDuration)
	}
	out := make([]float32, len(d)/frame)
	for i := range out {
		var sum float32
		for c := range int(channels) {
			sum += sample(d[i*frame+c*width:])
		}
		out[i] = sum / float32(channels)
	}
	return out, int(rate), nil
}

// resample converts in from one rate to another with windowed-sinc
// interpolation whose cutoff sits below the lower Nyquist frequency, so
// music recorded at 44.1 kHz does not fold its highs into the phone band.
func resample(in []float32, from, to int) []float32 {
	if from == to {
		return in
	}
	const half = 16 // taps each side, at the lower rate
	ratio := float64(to) / float64(from)
	cutoff := 0.92 * math.Min(1, ratio) // of the input's Nyquist
	n := int(float64(len(in)) * ratio)
	out := make([]float32, n)
	width := float64(half) / math.Min(1, ratio) // taps each side, in input samples
	// The kernel, tabulated at 1/64 of an input sample: sin and cos per tap
	// made a five-minute greeting take seconds.
	const steps = 64
	kernel := make([]float64, int(2*width*steps)+2)
	for i := range kernel {
		x := float64(i)/steps - width
		if math.Abs(x) > width {
			continue
		}
		w := 0.5 + 0.5*math.Cos(math.Pi*x/width) // Hann window
		s := cutoff
		if x != 0 {
			s = math.Sin(math.Pi*cutoff*x) / (math.Pi * x)
		}
		kernel[i] = s * w
	}
	for j := range out {
		t := float64(j) / ratio
		lo, hi := int(math.Ceil(t-width)), int(math.Floor(t+width))
		var acc, norm float64
		for k := lo; k <= hi; k++ {
			kw := kernel[int((float64(k)-t+width)*steps+0.5)]
			norm += kw // over the whole kernel: a clipped sum near the ends could be ~0
			if k >= 0 && k < len(in) {
				acc += float64(in[k]) * kw
			}
		}
		if norm != 0 {
			out[j] = float32(acc / norm)
		}
	}
	return out
}
