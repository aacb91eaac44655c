package apps

import (
	"encoding/binary"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/media"
)

// writeMulaw writes a µ-law WAV of the given number of 20 ms frames of
// silence: a prompt in the media.prompts folder.
func writeMulaw(t *testing.T, dir, name string, frames int) {
	t.Helper()
	data := make([]byte, frames*160)
	for i := range data {
		data[i] = 0xFF
	}
	var b []byte
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(36+len(data)))
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, 7) // µ-law
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint32(b, 8000)
	b = binary.LittleEndian.AppendUint32(b, 8000)
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, 8)
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	if err := os.WriteFile(filepath.Join(dir, name+".wav"), append(b, data...), 0o600); err != nil {
		t.Fatal(err)
	}
}

func loadPrompts(t *testing.T, dir string) *media.Prompts {
	t.Helper()
	p, err := media.LoadPrompts(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestScreeningParts(t *testing.T) {
	dir := t.TempDir()
	writeMulaw(t, dir, "tenant-acme.example", 40)
	withTenant, builtins := loadPrompts(t, dir), loadPrompts(t, "")
	custom := t.TempDir()
	writeMulaw(t, custom, "screening", 100)
	writeMulaw(t, custom, "tenant-acme.example", 40)

	tests := []struct {
		name    string
		prompts *media.Prompts
		domain  string
		number  string
		want    string
	}{
		{"tenant and number", withTenant, "acme.example", "14085559999",
			"call-for tenant-acme.example from digit-1 digit-4 digit-0 digit-8 digit-5 digit-5 digit-5 digit-9 digit-9 digit-9 digit-9 press-1"},
		{"domain case", withTenant, "ACME.example", "7001", "call-for tenant-acme.example from digit-7 digit-0 digit-0 digit-1 press-1"},
		{"tenant, no number", withTenant, "acme.example", "", "call-for tenant-acme.example press-1"},
		{"other tenant", withTenant, "globex.example", "7001", "you-have-a-call from digit-7 digit-0 digit-0 digit-1 press-1"},
		{"no tenant prompt", builtins, "acme.example", "14085559999",
			"you-have-a-call from digit-1 digit-4 digit-0 digit-8 digit-5 digit-5 digit-5 digit-9 digit-9 digit-9 digit-9 press-1"},
		{"nothing known", builtins, "acme.example", "", "you-have-a-call press-1"},
		{"custom screening.wav", loadPrompts(t, custom), "acme.example", "14085559999", "screening"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := screeningParts(tt.prompts, tt.domain, tt.number)
			if strings.Join(got, " ") != tt.want {
				t.Errorf("screeningParts() = %s\nwant %s", strings.Join(got, " "), tt.want)
			}
			for _, name := range got {
				if _, ok := tt.prompts.Get(name); !ok {
					t.Errorf("part %s is no prompt", name)
				}
			}
		})
	}
}

func TestScreeningAnnouncement(t *testing.T) {
	dir := t.TempDir()
	writeMulaw(t, dir, "tenant-acme.example", 40)
	prompts := loadPrompts(t, dir)
	b := &Apps{prompts: prompts, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	seq := b.screeningAnnouncement("acme.example", "42")
	names := []string{"call-for", "tenant-acme.example", "from", "digit-4", "digit-2", "press-1"}
	once := 0
	for _, n := range names {
		p, _ := prompts.Get(n)
		once += p.Frames()
	}
	want := append(append(append([]string{}, names...), "pause"), names...)
	if got := strings.Join(seq.Names(), " "); got != strings.Join(want, " ") {
		t.Errorf("announcement = %s\nwant %s (twice, a pause between)", got, strings.Join(want, " "))
	}
	if seq.Frames() != 2*once+screeningPause.Frames() || screeningPause.Frames() != 40 {
		t.Errorf("announcement has %d frames, want 2×%d + a pause of 40", seq.Frames(), once)
	}
}
