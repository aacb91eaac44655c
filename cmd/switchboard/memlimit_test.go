package main

import "testing"

func TestMemoryLimit(t *testing.T) {
	for _, tt := range []struct{ max, want int64 }{
		{0, 1 << 30},             // no cgroup limit
		{8 << 30, 1 << 30},       // a large container: the default
		{512 << 20, 384 << 20},   // a small one: 3/4 of it
		{4 << 30 / 3, 1<<30 - 1}, // just below the crossover: 3/4, rounded down
	} {
		if got := memoryLimit(tt.max); got != tt.want {
			t.Errorf("memoryLimit(%d) = %d, want %d", tt.max, got, tt.want)
		}
	}
}
