package main

import (
	"testing"
	"time"
)

func TestMemoryPolicy(t *testing.T) {
	const gib = int64(1 << 30)
	for _, tt := range []struct {
		name                 string
		cgroup, phys, live   int64
		wantCeiling, wantLim int64
	}{
		{"small heap: the floor", 0, 24 * gib, 40 << 20, 18 * gib, gib},
		{"1 M phones: twice the live heap", 0, 24 * gib, 1300 << 20, 18 * gib, 2600 << 20},
		{"near the machine: the ceiling", 0, 24 * gib, 10 * gib, 18 * gib, 18 * gib},
		{"a small container: 3/4 of it, floor included", 512 << 20, 24 * gib, 10 << 20, 384 << 20, 384 << 20},
		{"a container smaller than the machine", 8 * gib, 24 * gib, 3 * gib, 6 * gib, 6 * gib},
		{"nothing known: no ceiling", 0, 0, 3 * gib, 1<<63 - 1, 6 * gib},
	} {
		p := newMemoryPolicy(tt.cgroup, tt.phys)
		if p.ceiling != tt.wantCeiling {
			t.Errorf("%s: ceiling %d, want %d", tt.name, p.ceiling, tt.wantCeiling)
		}
		if got := p.limit(tt.live); got != tt.wantLim {
			t.Errorf("%s: limit(%d) = %d, want %d", tt.name, tt.live, got, tt.wantLim)
		}
	}
}

func TestPhysicalMemory(t *testing.T) {
	if m := physicalMemory(); m < 64<<20 {
		t.Errorf("physicalMemory() = %d, want this machine's MemTotal", m)
	}
}

// TestFollowLiveHeap: the loop sets the policy's limit for the live heap
// at once and on every tick, and stop ends it.
func TestFollowLiveHeap(t *testing.T) {
	got := make(chan int64, 100)
	const floor = 3<<30 + 12345 // above any live heap of this test
	stop := followLiveHeap(memoryPolicy{floor: floor, ceiling: 1 << 50}, 5*time.Millisecond, func(l int64) int64 {
		got <- l
		return 0
	})
	for range 3 {
		select {
		case l := <-got:
			if l != floor {
				t.Fatalf("limit %d, want the floor %d", l, floor)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no limit set")
		}
	}
	stop()
	n := len(got)
	time.Sleep(20 * time.Millisecond)
	if len(got) != n {
		t.Error("the limit was still set after stop")
	}
}
