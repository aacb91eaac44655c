package main

import (
	"os"
	"strconv"
	"strings"
)

// defaultMemoryLimit is the Go heap's soft limit (GOMEMLIMIT) unless the
// environment sets one. With GOGC 400 the heap may grow to five times what
// is live; the limit makes the collector work harder instead past 1 GiB, so
// an overload (which load shedding, sip.Config.MaxActive, already bounds)
// cannot take the process to the machine's limit. Measured live heaps:
// ~560 B per registered phone (1 M phones ≈ 560 MB), ~10 KB per call for
// the 5 s its transactions linger (3,000 calls/s ≈ 150 MB). For more than
// about a million phones on one instance, raise it (GOMEMLIMIT=3GiB).
const defaultMemoryLimit = 1 << 30

// memoryLimit is the default soft limit: defaultMemoryLimit, or three
// quarters of the cgroup's memory limit when that is lower, so a container
// collects before it is killed. max <= 0 means no cgroup limit.
func memoryLimit(max int64) int64 {
	if max > 0 && max/4*3 < defaultMemoryLimit {
		return max / 4 * 3
	}
	return defaultMemoryLimit
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
