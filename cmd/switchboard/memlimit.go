package main

import (
	"bufio"
	"context"
	"math"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The Go heap's soft limit (GOMEMLIMIT), unless the environment sets one.
//
// With GOGC 400 the heap may grow to five times what is live. A fixed
// limit of 1 GiB kept that headroom bounded for the usual instance, but at
// 1,000,000 registered phones the live heap itself is ~1.3 GB (~570 B per
// binding plus ~760 B per user): above the limit, the collector ran without
// pause and took CPU per REGISTER from 0.049 s/1k (10,000 phones) to
// 0.211 s/1k, with 4% of the fill failing on 4 s waits (go run ./bench
// -scale 1000000, 2026-12-07). With GOMEMLIMIT=4GiB the same point cost
// 0.047 s/1k.
//
// So the limit follows the live heap: twice it (GOGC 100's target), never
// below memoryFloor, where GOGC 400's headroom is cheap, and never above
// three quarters of the machine's or the cgroup's memory, so that the
// collector works harder before the kernel kills the process. An overload
// is bounded before that by load shedding (sip.Config.MaxActive).
const memoryFloor = 1 << 30

// memoryPolicy turns a live heap into a soft limit.
type memoryPolicy struct {
	floor, ceiling int64
}

// newMemoryPolicy derives the ceiling from the cgroup's limit and the
// machine's memory (each 0 when unknown).
func newMemoryPolicy(cgroupMax, physical int64) memoryPolicy {
	ceiling := int64(math.MaxInt64)
	for _, m := range []int64{cgroupMax, physical} {
		if m > 0 {
			ceiling = min(ceiling, m/4*3)
		}
	}
	return memoryPolicy{floor: min(memoryFloor, ceiling), ceiling: ceiling}
}

// limit is the soft limit for a live heap of live bytes.
func (p memoryPolicy) limit(live int64) int64 {
	if live > p.ceiling/2 {
		return p.ceiling
	}
	return max(p.floor, 2*live)
}

// liveHeap reads the heap the last GC found live.
func liveHeap() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// followLiveHeap calls set (debug.SetMemoryLimit) with the policy's limit
// for the live heap at once and every interval until the returned stop is
// called; stop waits for it.
func followLiveHeap(p memoryPolicy, every time.Duration, set func(int64) int64) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			set(p.limit(liveHeap()))
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// cgroupMemoryMax reads the cgroup v2 memory limit; 0 when there is none.
func cgroupMemoryMax() int64 {
	raw, err := os.ReadFile("/sys/fs/cgroup/memory.max")
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	if err != nil { // "max"
		return 0
	}
	return n
}

// physicalMemory reads MemTotal from /proc/meminfo; 0 when unknown.
func physicalMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
