package main

import (
	"strings"
	"testing"
	"time"
)

func TestSpliceSection(t *testing.T) {
	sec := redisBegin + "\n## REGISTER: Redis location vs memory\n\nnew\n" + redisEnd + "\n"
	head := "# Benchmarks\n\n## Results\n\n| a |\n\n"
	tailDoc := "## Scale curve\n\nscale\n\n## Every step\n\nsteps\n"
	tests := []struct {
		name, doc, want string
	}{
		{"replaces the marked section", head + redisBegin + "\nold\nlines\n" + redisEnd + "\n\n" + tailDoc,
			head + sec + "\n" + tailDoc},
		{"inserts before the scale curve", head + tailDoc, head + sec + "\n" + tailDoc},
		{"inserts before every step without a scale curve", head + "## Every step\n\nsteps\n",
			head + sec + "\n## Every step\n\nsteps\n"},
		{"a heading mentioned mid-line is not a heading", head + "see ## Scale curve\n", head + "see ## Scale curve\n\n" + sec},
		{"appends", "x", "x\n\n" + sec},
		{"empty file", "", sec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := spliceSection(tt.doc, sec)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
			// Splicing again changes nothing: the markers are found.
			again, err := spliceSection(got, sec)
			if err != nil || again != got {
				t.Errorf("second splice changed the file (err %v):\n%q", err, again)
			}
		})
	}
	for _, bad := range []string{head + redisBegin + "\nold\n", head + redisEnd + "\n"} {
		if _, err := spliceSection(bad, sec); err == nil {
			t.Errorf("spliceSection(%q) succeeded, want an error for an unmatched marker", bad)
		}
	}
}

func TestRedisCompareMarkdown(t *testing.T) {
	step := func(rate float64, ok bool, srv, redis time.Duration) stepResult {
		s := stepResult{Offered: rate, Achieved: rate, Created: int(rate) * 5, Successful: int(rate) * 5,
			ServerCPU: srv, RedisCPU: redis, PeakMem: 100 << 20, P99: 4}
		if !ok {
			s.Verdict = "p99 900 ms"
		}
		return s
	}
	r := &report{Options: options{pin: true}, RedisCompare: &redisCompare{
		Memory: runResult{System: sysSwitchboard, Scenario: "register", Steps: []stepResult{
			step(1000, true, 250*time.Millisecond, 0), step(2000, true, 500*time.Millisecond, 0), step(4000, false, 0, 0)}},
		Redis: runResult{System: sysSwitchboard + "+redis", Scenario: "register", Steps: []stepResult{
			step(1000, true, 500*time.Millisecond, 250*time.Millisecond), step(2000, false, 0, 0)}},
	}}
	md := r.redisCompareMarkdown()
	for _, want := range []string{
		redisBegin, redisEnd, "## REGISTER: Redis location vs memory",
		"| memory | 2000 | <1 ms | 4 ms | 0.050 | — | 0.050 | 100.0 MiB | p99 900 ms at 4000/s |",
		"| redis | 1000 | <1 ms | 4 ms | 0.100 | 0.050 | 0.150 |",
		"Redis / memory: throughput 0.50× (highest rates sustained), server peak memory 1.00×.",
		"| 1000 | 4 ms → 4 ms | 1.00× | 2.00× | 3.00× |",
		"CPU 1 with SIPp",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("section lacks %q:\n%s", want, md)
		}
	}
	if !strings.HasPrefix(md, redisBegin+"\n") || !strings.HasSuffix(md, redisEnd+"\n") {
		t.Errorf("section not enclosed in its markers:\n%s", md)
	}
}
