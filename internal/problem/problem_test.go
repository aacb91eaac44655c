package problem

import (
	"errors"
	"fmt"
	"testing"
)

func TestString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "a.yaml", Line: 3, Field: "sip.listen", Reason: "bad"}, "a.yaml:3: sip.listen: bad"},
		{Problem{File: "env SWITCHBOARD_X", Field: "x", Reason: "bad"}, "env SWITCHBOARD_X: x: bad"},
		{Problem{Line: 7, Reason: "bad"}, "line 7: bad"},
		{Problem{Reason: "bad"}, "bad"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestProblemsError(t *testing.T) {
	var ps Problems
	if ps.Err() != nil {
		t.Fatal("empty Problems.Err() is not nil")
	}
	ps = Problems{{Line: 2, Reason: "b"}, {Reason: "c"}, {Line: 1, Reason: "a", Conflict: true}}
	Sort(ps)
	if got := ps.Error(); got != "line 1: a\nline 2: b\nc" {
		t.Errorf("sorted Error() = %q", got)
	}
	var back Problems
	if !errors.As(fmt.Errorf("load: %w", ps.Err()), &back) || len(back) != 3 {
		t.Errorf("errors.As did not recover the problems: %v", back)
	}
	if ps.Conflict() {
		t.Error("Conflict() = true with non-conflict problems")
	}
	if !(Problems{{Conflict: true}}).Conflict() {
		t.Error("Conflict() = false with only conflicts")
	}
}

func TestClosest(t *testing.T) {
	names := []string{"listen", "advertise", "realm"}
	if got, ok := Closest("lisen", names, 3); !ok || got != "listen" {
		t.Errorf("Closest(lisen) = %q, %v; want listen", got, ok)
	}
	if got, ok := Closest("zzzzzz", names, 3); ok {
		t.Errorf("Closest(zzzzzz) = %q, want none", got)
	}
	if d := distance("kitten", "sitting"); d != 3 {
		t.Errorf("distance(kitten, sitting) = %d, want 3", d)
	}
}
