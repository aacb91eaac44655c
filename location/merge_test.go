package location

import (
	"fmt"
	"testing"
	"time"
)

func TestMerge(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := func(c string, updated int) Binding {
		return Binding{Contact: c, Updated: t0.Add(time.Duration(updated) * time.Second), CSeq: uint32(updated)}
	}
	tests := []struct {
		name         string
		stored, mine []Binding
		removed      map[string]time.Time
		want         string
	}{
		{"mine only", nil, []Binding{b("a", 1)}, nil, "[a/1]"},
		{"later wins, mine", []Binding{b("a", 1)}, []Binding{b("a", 2)}, nil, "[a/2]"},
		{"later wins, stored", []Binding{b("a", 3)}, []Binding{b("a", 2)}, nil, "[a/3]"},
		{"stored only kept", []Binding{b("x", 1)}, []Binding{b("a", 2)}, nil, "[a/2 x/1]"},
		{"removed here after written there", []Binding{b("x", 1)}, nil, map[string]time.Time{"x": t0.Add(2 * time.Second)}, "[]"},
		{"written there after removed here", []Binding{b("x", 5)}, nil, map[string]time.Time{"x": t0.Add(2 * time.Second)}, "[x/5]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, x := range merge(tt.stored, tt.mine, tt.removed) {
				got = append(got, fmt.Sprintf("%s/%d", x.Contact, x.CSeq))
			}
			if fmt.Sprint(got) != tt.want {
				t.Errorf("merge = %v, want %s", got, tt.want)
			}
		})
	}
}
