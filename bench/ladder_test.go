package main

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLadder(t *testing.T) {
	tests := []struct {
		name   string
		l      ladder
		failAt float64 // rates >= failAt fail
		want   []float64
	}{
		{"doubles until a failure, then bisects once", ladder{Start: 1000, Factor: 2, Max: 64000, Refine: 1}, 5000,
			[]float64{1000, 2000, 4000, 8000, 6000}},
		{"bisects twice", ladder{Start: 1000, Factor: 2, Max: 64000, Refine: 2}, 5000,
			[]float64{1000, 2000, 4000, 8000, 6000, 5000}},
		{"stops at max", ladder{Start: 1000, Factor: 2, Max: 5000, Refine: 1}, 1e9,
			[]float64{1000, 2000, 4000}},
		{"first step fails", ladder{Start: 1000, Factor: 2, Max: 64000, Refine: 1}, 500,
			[]float64{1000}},
		{"one step", ladder{Start: 20, Factor: 2, Max: 20}, 1e9, []float64{20}},
		{"non-integer factor rounds", ladder{Start: 250, Factor: 1.5, Max: 1000}, 1e9, []float64{250, 380, 570, 860}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []float64
			passed := true
			for i := 0; i < 50; i++ {
				r, ok := tt.l.next(passed)
				if !ok {
					break
				}
				got = append(got, r)
				passed = r < tt.failAt
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("rates (-want +got):\n%s", d)
			}
		})
	}
}

func TestJudge(t *testing.T) {
	lim := limits{MaxFailures: 0.001, MaxP99: 50, MinAchieved: 0.9}
	good := sippResult{Created: 10000, Successful: 10000, Achieved: 1990}
	tests := []struct {
		name string
		r    sippResult
		p99  float64
		want string
	}{
		{"sustained", good, 3, ""},
		{"one in a thousand fails: still sustained", sippResult{Created: 10000, Successful: 9990, Failed: 10, Achieved: 2000}, 3, ""},
		{"too many failures", sippResult{Created: 10000, Successful: 9980, Failed: 20, Achieved: 2000}, 3, "failures 0.20%"},
		{"calls never finished count as failed", sippResult{Created: 10000, Successful: 9900, Achieved: 2000}, 3, "failures 1.00%"},
		{"slow", good, 120, "p99 120 ms"},
		{"generator behind", sippResult{Created: 10000, Successful: 10000, Achieved: 1500}, 3, "only 1500/s achieved"},
		{"nothing", sippResult{}, 0, "no calls created"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := judge(2000, tt.r, tt.p99, lim); got != tt.want {
				t.Errorf("judge(%+v, p99 %v) = %q, want %q", tt.r, tt.p99, got, tt.want)
			}
		})
	}
}

func TestRoundRate(t *testing.T) {
	for in, want := range map[float64]float64{1500.0001: 1500, 3375: 3400, 7.4: 7, 123456: 120000, 250: 250} {
		if got := roundRate(in); got != want {
			t.Errorf("roundRate(%v) = %v, want %v", in, got, want)
		}
	}
}

func Example_population() {
	p := population{Tenants: 2, Users: 2, Seed: "s"}
	fmt.Println(p.domain(1), p.userID(1), p.ext(1), p.number(1), p.total())
	// Output: t002.bench u00002 20002 +14150020001 4
}
