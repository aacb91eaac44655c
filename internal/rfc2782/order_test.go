package rfc2782

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type rec struct {
	name         string
	prio, weight int
}

func names(rs []rec) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.name
	}
	return out
}

func order(rs []rec, rnd func(int) int) []string {
	return names(Order(rs, func(r rec) int { return r.prio }, func(r rec) int { return r.weight }, rnd))
}

func TestOrderPriorityFirst(t *testing.T) {
	rs := []rec{{"c", 20, 0}, {"a", 10, 5}, {"b", 15, 100}}
	got := order(rs, func(n int) int { return n - 1 })
	if diff := cmp.Diff([]string{"a", "b", "c"}, got); diff != "" {
		t.Errorf("Order mismatch (-want +got):\n%s", diff)
	}
}

func TestOrderWeightedDraw(t *testing.T) {
	rs := []rec{{"zero", 10, 0}, {"light", 10, 10}, {"heavy", 10, 90}}
	tests := []struct {
		name string
		r    []int // successive rnd results
		want []string
	}{
		// running sums: zero 0, light 10, heavy 100
		{"r=0 picks the zero-weight entry", []int{0, 0, 0}, []string{"zero", "light", "heavy"}},
		{"r=5 picks light", []int{5, 50, 0}, []string{"light", "heavy", "zero"}},
		{"r=11 picks heavy", []int{11, 3, 0}, []string{"heavy", "light", "zero"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := 0
			rnd := func(n int) int { v := tt.r[i] % n; i++; return v }
			if diff := cmp.Diff(tt.want, order(rs, rnd)); diff != "" {
				t.Errorf("Order mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOrderShareFollowsWeight(t *testing.T) {
	rs := []rec{{"a", 1, 25}, {"b", 1, 75}}
	r := rand.New(rand.NewPCG(1, 2))
	first := map[string]int{}
	for range 4000 {
		first[order(rs, r.IntN)[0]]++
	}
	if a := first["a"]; a < 800 || a > 1200 {
		t.Errorf("a first %d of 4000 times, want about 1000 (weight 25 of 100)", a)
	}
}
