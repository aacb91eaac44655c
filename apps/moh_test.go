package apps

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/media"
)

// TestHoldMusicChoice: no moh or an empty prompt is the built-in loop; a
// prompt in the folder is looped; a missing one falls back to the loop;
// wait: music waits with the music, anything else with ringback.
func TestHoldMusicChoice(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "acme-hold.wav"), media.WAV(make([]int16, 800)), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Prompts: dir}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	builtin, _ := media.HoldLoop().Frame(media.PCMU, 0)
	custom, _ := a.prompts.Get("acme-hold")
	customFrame, _ := custom.Frame(media.PCMU, 0)
	view := func(m *dialplan.MOH) *dialplan.View {
		return &dialplan.View{Tenant: &dialplan.Tenant{Domain: "acme.example", MOH: m}}
	}
	tests := []struct {
		name string
		moh  *dialplan.MOH
		want []byte
	}{
		{"none", nil, builtin},
		{"empty prompt", &dialplan.MOH{}, builtin},
		{"prompt", &dialplan.MOH{Prompt: "acme-hold"}, customFrame},
		{"missing prompt", &dialplan.MOH{Prompt: "nope"}, builtin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := a.HoldMusic(view(tt.moh))
			got, ok := src.Frame(media.PCMU, 0)
			if !ok || &got[0] != &tt.want[0] {
				t.Errorf("HoldMusic(%+v) frame 0 is not the expected source's", tt.moh)
			}
			if _, ok := src.Frame(media.PCMU, 1_000_000); !ok {
				t.Errorf("HoldMusic(%+v) ends; want an endless loop", tt.moh)
			}
		})
	}
	if a.waitSource(view(nil), &dialplan.Attendant{Wait: "ringback"}) != media.Ringback ||
		a.waitSource(view(nil), &dialplan.Attendant{}) != media.Ringback {
		t.Error("waitSource without wait: music is not ringback")
	}
	if a.waitSource(view(nil), &dialplan.Attendant{Wait: dialplan.WaitMusic}) == media.Ringback {
		t.Error("waitSource with wait: music is ringback")
	}
}
