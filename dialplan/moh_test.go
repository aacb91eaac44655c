package dialplan

import (
	"errors"
	"strings"
	"testing"
)

func TestMOHProblems(t *testing.T) {
	const tp = "tenants[acme.example]"
	tests := []struct {
		name      string
		yaml      string
		wantLine  int
		wantField string
		wantIn    string
	}{
		{"prompt name", "    moh:\n      prompt: ../etc/passwd\n", 9, tp + ".moh.prompt", "a prompt name"},
		{"wait", "    attendants:\n      - id: main\n        wait: musak\n", 10, tp + ".attendants[main].wait", "want ringback or music"},
		{"unknown key", "    moh: {promt: x}\n", 8, tp + ".moh.promt", `unknown key "promt"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(base+tt.yaml), "dir.yaml", LoadOptions{})
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Parse() error = %v, want Problems", err)
			}
			for _, p := range ps {
				if p.Field == tt.wantField && p.Line == tt.wantLine && strings.Contains(p.Reason, tt.wantIn) {
					return
				}
			}
			t.Errorf("Parse() = %v\nwant line %d %s: …%s…", ps, tt.wantLine, tt.wantField, tt.wantIn)
		})
	}
}

func TestMOHValid(t *testing.T) {
	d, err := Parse([]byte(base+"    moh: {prompt: acme-hold}\n    attendants:\n      - {id: main, wait: music}\n      - {id: night, wait: ringback}\n"), "dir.yaml", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tn := d.Tenants[0]
	if tn.MOH == nil || tn.MOH.Prompt != "acme-hold" {
		t.Errorf("moh = %+v, want prompt acme-hold", tn.MOH)
	}
	if got := tn.Attendants[0].Wait; got != WaitMusic {
		t.Errorf("attendants[main].wait = %q, want music", got)
	}
	c := d.Clone()
	c.Tenants[0].MOH.Prompt = "other"
	if tn.MOH.Prompt != "acme-hold" {
		t.Error("Clone shares the moh settings with the original")
	}
}
