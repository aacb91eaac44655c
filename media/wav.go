package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrWAV is wrapped by every error of ReadWAV.
var ErrWAV = errors.New("media: unsupported WAV")

// maxWAVData bounds the audio a WAV may hold: 10 minutes of PCM16.
const maxWAVData = 10 * 60 * 8000 * 2

// WAV format tags.
const (
	wavPCM        = 1
	wavAlaw       = 6
	wavMulaw      = 7
	wavExtensible = 0xFFFE
)

// ReadWAV reads a RIFF WAVE file of 8 kHz mono audio — 16-bit PCM, or G.711
// µ-law or A-law — and returns its samples as 16-bit linear PCM. Other
// formats are refused with an error saying what the file holds and what is
// wanted (convert with sox: -r 8000 -c 1 -b 16).
func ReadWAV(r io.Reader) ([]int16, error) {
	var riff [12]byte
	if _, err := io.ReadFull(r, riff[:]); err != nil {
		return nil, fmt.Errorf("%w: not a RIFF WAVE file: %v", ErrWAV, err)
	}
	if string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: not a RIFF WAVE file", ErrWAV)
	}
	var format uint16
	haveFmt := false
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if !haveFmt {
				return nil, fmt.Errorf("%w: no fmt chunk", ErrWAV)
			}
			return nil, fmt.Errorf("%w: no data chunk", ErrWAV)
		}
		id, size := string(hdr[0:4]), binary.LittleEndian.Uint32(hdr[4:8])
		switch id {
		case "fmt ":
			f, err := readFmt(r, size)
			if err != nil {
				return nil, err
			}
			format, haveFmt = f, true
		case "data":
			if !haveFmt {
				return nil, fmt.Errorf("%w: data chunk before fmt chunk", ErrWAV)
			}
			return readData(r, size, format)
		default:
			if _, err := io.CopyN(io.Discard, r, int64(size)+int64(size&1)); err != nil {
				return nil, fmt.Errorf("%w: truncated %q chunk", ErrWAV, id)
			}
		}
	}
}

// readFmt checks the fmt chunk and returns the format tag.
func readFmt(r io.Reader, size uint32) (uint16, error) {
	if size < 16 || size > 1024 {
		return 0, fmt.Errorf("%w: fmt chunk of %d bytes", ErrWAV, size)
	}
	b := make([]byte, size+size&1)
	if _, err := io.ReadFull(r, b); err != nil {
		return 0, fmt.Errorf("%w: truncated fmt chunk", ErrWAV)
	}
	format := binary.LittleEndian.Uint16(b[0:2])
	channels := binary.LittleEndian.Uint16(b[2:4])
	rate := binary.LittleEndian.Uint32(b[4:8])
	bitsPerSample := binary.LittleEndian.Uint16(b[14:16])
	if format == wavExtensible && size >= 26 {
		format = binary.LittleEndian.Uint16(b[24:26]) // first bytes of the sub-format GUID
	}
	var name string
	var wantBits uint16
	switch format {
	case wavPCM:
		name, wantBits = "PCM", 16
	case wavMulaw:
		name, wantBits = "µ-law", 8
	case wavAlaw:
		name, wantBits = "A-law", 8
	default:
		return 0, fmt.Errorf("%w: format %#x, want PCM (1), A-law (6) or µ-law (7)", ErrWAV, format)
	}
	switch {
	case channels != 1:
		return 0, fmt.Errorf("%w: %d channels, want mono", ErrWAV, channels)
	case rate != 8000:
		return 0, fmt.Errorf("%w: %d Hz, want 8000 Hz", ErrWAV, rate)
	case bitsPerSample != wantBits:
		return 0, fmt.Errorf("%w: %s with %d bits per sample, want %d", ErrWAV, name, bitsPerSample, wantBits)
	}
	return format, nil
}

func readData(r io.Reader, size uint32, format uint16) ([]int16, error) {
	if size > maxWAVData {
		return nil, fmt.Errorf("%w: %d bytes of audio, more than the %d allowed", ErrWAV, size, maxWAVData)
	}
	// Read what is there: many writers leave the size at 0 or too big when
	// streaming, so a short data chunk is accepted.
	b, err := io.ReadAll(io.LimitReader(r, int64(size)))
	if err != nil {
		return nil, fmt.Errorf("%w: reading data: %v", ErrWAV, err)
	}
	switch format {
	case wavMulaw:
		return PCMU.Decode(nil, b), nil
	case wavAlaw:
		return PCMA.Decode(nil, b), nil
	}
	pcm := make([]int16, len(b)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return pcm, nil
}
