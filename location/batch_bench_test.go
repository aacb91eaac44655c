package location_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/redisconn"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/location"
)

// BenchmarkUpdateConcurrent is REGISTER's load on the Redis store: many
// refreshes in flight at once (64 goroutines per P), as a busy registrar
// has them. Wall time depends on what else the machine runs; the CPU
// figures do not much: cpu-µs/op is this process's user+system time per
// update, redis-cpu-µs/op redis-server's. Run with -cpu 1 to match the
// pinned server of the bench driver.
func BenchmarkUpdateConcurrent(b *testing.B) {
	srv := redistest.Start(b)
	r := openRedis(b, srv.URL(), redisconn.Config{}, location.RedisOptions{})
	m := location.NewMemory(nil)
	var seq atomic.Uint32 // unique Call-IDs across every run of b
	aors := make([]string, 10000)
	for i := range aors {
		aors[i] = fmt.Sprintf("u%d@t", i)
	}
	for _, s := range []struct {
		name string
		s    location.Store
		pid  int
	}{{"memory", m, 0}, {"redis", r, srv.Pid()}} {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(64)
			cpu0, rcpu0 := selfCPU(), procCPU(s.pid)
			b0, j0 := location.BatchStats(r)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := seq.Add(1)
					if _, err := s.s.Update(context.Background(), aors[int(i)%len(aors)], "t",
						register("sip:phone", strconv.Itoa(int(i)), 1, time.Hour)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64((selfCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			if s.pid != 0 {
				b.ReportMetric(float64((procCPU(s.pid)-rcpu0).Microseconds())/float64(b.N), "redis-cpu-µs/op")
				b1, j1 := location.BatchStats(r)
				if b1 > b0 {
					b.ReportMetric(float64(j1-j0)/float64(b1-b0), "jobs/pipeline")
				}
			}
		})
	}
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is another process's utime+stime from /proc/<pid>/stat.
func procCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ = 100
}
