// Package rfc2782 orders records by priority and weight as RFC 2782 says for
// SRV targets: lower priority first; within one priority, a weighted random
// draw without replacement, where weight-0 entries are picked rarely (only
// once the others are drawn, or by the same draw when all are 0). Both DNS
// SRV targets and configured trunks are ordered this way.
package rfc2782

import "sort"

// Order returns items sorted for trying: ascending by prio, and within a
// priority in weighted random order. rnd(n) must return a value in [0, n);
// pass math/rand/v2.IntN in production and a fixed sequence in tests. items
// is not modified.
func Order[T any](items []T, prio, weight func(T) int, rnd func(int) int) []T {
	in := append([]T(nil), items...)
	sort.SliceStable(in, func(i, j int) bool { return prio(in[i]) < prio(in[j]) })
	out := make([]T, 0, len(in))
	for start := 0; start < len(in); {
		end := start
		for end < len(in) && prio(in[end]) == prio(in[start]) {
			end++
		}
		out = append(out, weighted(in[start:end], weight, rnd)...)
		start = end
	}
	return out
}

// weighted draws from one priority class: weight-0 entries first in the list
// (RFC 2782 puts them at the start so they get a small chance), then a
// running sum is compared with a random number in [0, sum].
func weighted[T any](class []T, weight func(T) int, rnd func(int) int) []T {
	rest := make([]T, 0, len(class))
	for _, t := range class {
		if weight(t) <= 0 {
			rest = append(rest, t)
		}
	}
	for _, t := range class {
		if weight(t) > 0 {
			rest = append(rest, t)
		}
	}
	out := make([]T, 0, len(class))
	for len(rest) > 0 {
		sum := 0
		for _, t := range rest {
			sum += max(weight(t), 0)
		}
		pick := 0
		if sum > 0 {
			r := rnd(sum + 1) // in [0, sum]
			run := 0
			for i, t := range rest {
				run += max(weight(t), 0)
				if run >= r {
					pick = i
					break
				}
			}
		}
		out = append(out, rest[pick])
		rest = append(rest[:pick:pick], rest[pick+1:]...)
	}
	return out
}
