package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"testing"
)

// testWAV builds a RIFF WAVE of a tone at freq Hz, for ConvertAudio's inputs.
func testWAV(format, channels, bits uint16, rate int, secs, freq float64) []byte {
	n := int(secs * float64(rate))
	var data bytes.Buffer
	for i := range n {
		v := 0.5 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))
		for range channels {
			switch {
			case format == wavFloat:
				binary.Write(&data, binary.LittleEndian, float32(v))
			case bits == 8:
				data.WriteByte(byte(int(v*127) + 128))
			case bits == 16:
				binary.Write(&data, binary.LittleEndian, int16(v*32767))
			case bits == 24:
				s := int32(v * 8388607)
				data.Write([]byte{byte(s), byte(s >> 8), byte(s >> 16)})
			case bits == 32:
				binary.Write(&data, binary.LittleEndian, int32(v*2147483647))
			}
		}
	}
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+data.Len()))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, uint32(16))
	binary.Write(&b, binary.LittleEndian, format)
	binary.Write(&b, binary.LittleEndian, channels)
	binary.Write(&b, binary.LittleEndian, uint32(rate))
	binary.Write(&b, binary.LittleEndian, uint32(rate*int(channels)*int(bits)/8))
	binary.Write(&b, binary.LittleEndian, channels*bits/8)
	binary.Write(&b, binary.LittleEndian, bits)
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(data.Len()))
	b.Write(data.Bytes())
	return b.Bytes()
}

// level is the amplitude of freq in 8 kHz samples, 0..1 of full scale.
func level(pcm []int16, freq float64) float64 {
	return 2 * math.Sqrt(goertzel(pcm, freq)) / 32768 / float64(len(pcm))
}

func TestConvertAudioWAV(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		format, channels, bits uint16
		rate                   int
	}{
		{"44.1 kHz stereo 16-bit", wavPCM, 2, 16, 44100},
		{"48 kHz mono 24-bit", wavPCM, 1, 24, 48000},
		{"16 kHz mono 8-bit", wavPCM, 1, 8, 16000},
		{"22.05 kHz stereo 32-bit", wavPCM, 2, 32, 22050},
		{"96 kHz mono float", wavFloat, 1, 32, 96000},
		{"8 kHz mono 16-bit", wavPCM, 1, 16, 8000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pcm, err := ConvertAudio(testWAV(tc.format, tc.channels, tc.bits, tc.rate, 1, 440))
			if err != nil {
				t.Fatal(err)
			}
			if len(pcm) < 7990 || len(pcm) > 8010 {
				t.Errorf("%d samples, want 8000 for one second", len(pcm))
			}
			if l := level(pcm, 440); l < 0.4 || l > 0.6 {
				t.Errorf("440 Hz at %.2f, want about 0.5", l)
			}
			if l := level(pcm, 1000); l > 0.02 {
				t.Errorf("1 kHz at %.3f, want nothing there", l)
			}
		})
	}
}

// A tone above the phone band must not fold into it.
func TestConvertAudioFiltersAliases(t *testing.T) {
	pcm, err := ConvertAudio(testWAV(wavPCM, 1, 16, 44100, 1, 6000))
	if err != nil {
		t.Fatal(err)
	}
	// 6 kHz would alias to 2 kHz at 8 kHz without the low-pass.
	if l := level(pcm, 2000); l > 0.02 {
		t.Errorf("6 kHz folded to 2 kHz at %.3f", l)
	}
}

func TestConvertAudioMP3(t *testing.T) {
	data, err := os.ReadFile("testdata/tone440.mp3") // lame -b 64 of a 1 s 440 Hz tone at 44.1 kHz, made for this test
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := ConvertAudio(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(pcm) < 7000 || len(pcm) > 10000 {
		t.Errorf("%d samples, want about 8000 (one second, plus the codec's padding)", len(pcm))
	}
	if l := level(pcm, 440); l < 0.2 {
		t.Errorf("440 Hz at %.2f: the tone did not survive", l)
	}
}

func TestConvertAudioRefuses(t *testing.T) {
	long := testWAV(wavPCM, 1, 8, 8000, MaxUploadDuration+2, 440)
	silent := testWAV(wavPCM, 1, 16, 8000, 1, 0)
	adpcm := testWAV(wavPCM, 1, 16, 8000, 1, 440)
	binary.LittleEndian.PutUint16(adpcm[20:], 2) // MS ADPCM
	for name, data := range map[string][]byte{
		"text":      []byte("hello, this is not audio"),
		"empty":     nil,
		"too long":  long,
		"silent":    silent,
		"ADPCM WAV": adpcm,
		"bad MP3":   append([]byte("ID3\x04\x00\x00\x00\x00\x00\x00"), bytes.Repeat([]byte{0x55}, 100)...),
	} {
		if _, err := ConvertAudio(data); !errors.Is(err, ErrAudio) {
			t.Errorf("%s: err %v, want an ErrAudio refusal", name, err)
		}
	}
}
