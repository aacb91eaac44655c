package main

import (
	"fmt"
	"math"
)

// ladder steps the offered rate: start, start×factor, … until a step fails
// or max is passed, then bisects between the last passing and the first
// failing rate refine times. It is pure so the stepping policy is tested
// without sockets.
type ladder struct {
	Start, Factor, Max float64
	Refine             int

	pass, fail float64 // highest passing, lowest failing rate so far
	refined    int
	last       float64
}

// next returns the next rate to try, given whether the previous one (if
// any) passed; ok is false when the ladder is done.
func (l *ladder) next(prevPassed bool) (rate float64, ok bool) {
	if l.last == 0 {
		l.last = l.Start
		return l.Start, l.Start > 0
	}
	if prevPassed {
		l.pass = max(l.pass, l.last)
	} else if l.fail == 0 || l.last < l.fail {
		l.fail = l.last
	}
	if l.fail == 0 {
		r := roundRate(l.last * l.Factor)
		if r > l.Max || r <= l.last {
			return 0, false
		}
		l.last = r
		return r, true
	}
	if l.refined >= l.Refine {
		return 0, false
	}
	r := roundRate((l.pass + l.fail) / 2)
	if l.pass == 0 || r <= l.pass || r >= l.fail {
		return 0, false
	}
	l.refined++
	l.last = r
	return r, true
}

// roundRate keeps two significant digits, so ladders read 1000, 2000, 3000
// rather than 1500.0001.
func roundRate(r float64) float64 {
	if r < 10 {
		return math.Round(r)
	}
	p := math.Pow(10, math.Floor(math.Log10(r))-1)
	return math.Round(r/p) * p
}

// limits decide whether a step was sustained.
type limits struct {
	MaxFailures float64 // ratio, e.g. 0.001
	MaxP99      float64 // ms
	MinAchieved float64 // achieved / offered, e.g. 0.9
}

// judge returns "" when the step was sustained, else why not.
func judge(offered float64, r sippResult, p99 float64, lim limits) string {
	switch {
	case r.Created == 0:
		return "no calls created"
	case r.failureRatio() > lim.MaxFailures:
		return fmt.Sprintf("failures %.2f%%", 100*r.failureRatio())
	case p99 > lim.MaxP99:
		return fmt.Sprintf("p99 %.0f ms", p99)
	case r.Achieved < lim.MinAchieved*offered:
		return fmt.Sprintf("only %.0f/s achieved", r.Achieved)
	}
	return ""
}
