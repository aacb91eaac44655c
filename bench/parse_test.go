package main

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want procStat
		err  bool
	}{
		{"plain", "1234 (switchboard) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 1000 200",
			procStat{PPid: 1, CPU: 3 * time.Second}, false},
		{"name with spaces and parens", "77 (my (odd) name) R 42 77 77 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 1 1",
			procStat{PPid: 42, CPU: 100 * time.Millisecond}, false},
		{"truncated", "77 (x) R 42 77", procStat{}, true},
		{"no name", "77 x R", procStat{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.in))
			if (err != nil) != tt.err {
				t.Fatalf("parseStat(%q) error = %v, want error %v", tt.in, err, tt.err)
			}
			if got != tt.want {
				t.Errorf("parseStat(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseStatusKB(t *testing.T) {
	status := "Name:\tswitchboard\nVmPeak:\t 1300 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n"
	for _, tt := range []struct {
		field string
		want  int64
		err   bool
	}{
		{"VmHWM", 20480 << 10, false},
		{"VmRSS", 10240 << 10, false},
		{"Pss", 0, true},
		{"Name", 0, true},
	} {
		got, err := parseStatusKB([]byte(status), tt.field)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseStatusKB(%s) = %d, %v; want %d, error %v", tt.field, got, err, tt.want, tt.err)
		}
	}
}

func TestParseStatCSV(t *testing.T) {
	b, err := os.ReadFile("testdata/stat.csv") // SIPp 3.6.1, 40 calls at 20/s
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseStatCSV(b)
	if err != nil {
		t.Fatalf("parseStatCSV: %v", err)
	}
	if want := (statCounts{Created: 40, Successful: 40}); got != want {
		t.Errorf("parseStatCSV(testdata/stat.csv) = %+v, want %+v", got, want)
	}
	if _, err := parseStatCSV([]byte("a;b\n1;2\n")); err == nil {
		t.Error("parseStatCSV without SIPp's columns: no error")
	}
	if _, err := parseStatCSV([]byte("TotalCallCreated;\n")); err == nil {
		t.Error("parseStatCSV without a data row: no error")
	}
}

func TestParseRTT(t *testing.T) {
	f, err := os.Open("testdata/rtt.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := parseRTT(f)
	if err != nil {
		t.Fatalf("parseRTT: %v", err)
	}
	if n1, n2 := len(got.Samples[1]), len(got.Samples[2]); n1 != 17 || n2 != 12 {
		t.Errorf("parseRTT samples: rtd1 %d, rtd2 %d; want 17, 12", n1, n2)
	}
	// 17 samples of rtd 1 from 56 ms to 856 ms: 16 intervals in 0.8 s.
	if r := got.rate(1); math.Abs(r-20) > 0.01 {
		t.Errorf("rate(1) = %.2f, want 20", r)
	}
	if _, err := parseRTT(strings.NewReader("Date_ms;response_time_ms;rtd_no\n1;x;1\n")); err == nil {
		t.Error("parseRTT with a malformed line: no error")
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	for _, tt := range []struct{ p, want float64 }{{50, 5}, {90, 9}, {99, 10}, {100, 10}, {1, 1}} {
		if got := percentile(xs, tt.p); got != tt.want {
			t.Errorf("percentile(1..10, %v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("percentile(nil) = %v, want 0", got)
	}
}

func TestParsePprofTop(t *testing.T) {
	out := `File: switchboard
Type: cpu
Duration: 8s, Total samples = 4.20s (52.50%)
Showing nodes accounting for 4.10s, 97.62% of 4.20s total
Dropped 12 nodes (cum <= 0.02s)
      flat  flat%   sum%        cum   cum%
     1.20s 28.57% 28.57%      1.20s 28.57%  syscall.Syscall6
     0.50s 11.90% 40.48%      0.90s 21.43%  github.com/emiago/sipgo/sip.(*Parser).ParseSIP
     0.30s  7.14% 47.62%      0.60s 14.29%  github.com/switchboard/switchboard/sip.(*Server).register
     0.10s  2.38% 50.00%      2.00s 47.62%  runtime.mallocgc
`
	total, es, err := parsePprofTop(strings.NewReader(out))
	if err != nil {
		t.Fatalf("parsePprofTop: %v", err)
	}
	if total != "4.20s" {
		t.Errorf("total = %q, want 4.20s", total)
	}
	var got []string
	for _, e := range es {
		got = append(got, owner(e.Func)+" "+e.Flat+" "+e.CumPct)
	}
	want := []string{"syscalls/net 1.20s 28.57%", "sipgo 0.50s 21.43%", "switchboard 0.30s 14.29%", "runtime 0.10s 47.62%"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("parsePprofTop entries (-want +got):\n%s", d)
	}
	if m := byOwner(es); math.Abs(m["sipgo"]-11.90) > 1e-9 {
		t.Errorf("byOwner sipgo = %v, want 11.90", m["sipgo"])
	}
	if _, _, err := parsePprofTop(strings.NewReader("no table here\n")); err == nil {
		t.Error("parsePprofTop without a table: no error")
	}
}

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/switchboard/switchboard/sip
cpu: Intel(R) Xeon(R) Processor
BenchmarkParseRegister-2   	  200000	      5123 ns/op	  98.50 MB/s	    4242 B/op	      51 allocs/op
BenchmarkRegister-2        	   50000	     21000 ns/op	    9000 B/op	     120 allocs/op
--- FAIL: BenchmarkBroken
PASS
ok  	github.com/switchboard/switchboard/sip	3.1s
pkg: github.com/switchboard/switchboard/routing
BenchmarkDecide/user-2     	 1000000	       812 ns/op	     320 B/op	       6 allocs/op
`
	got, err := parseGoBench(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []goBench{
		{Pkg: "github.com/switchboard/switchboard/sip", Name: "BenchmarkParseRegister-2", N: "200000", NsPerOp: "5123", BytesPerOp: "4242", AllocsPerOp: "51", Extra: []string{"98.50 MB/s"}},
		{Pkg: "github.com/switchboard/switchboard/sip", Name: "BenchmarkRegister-2", N: "50000", NsPerOp: "21000", BytesPerOp: "9000", AllocsPerOp: "120"},
		{Pkg: "github.com/switchboard/switchboard/routing", Name: "BenchmarkDecide/user-2", N: "1000000", NsPerOp: "812", BytesPerOp: "320", AllocsPerOp: "6"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("parseGoBench (-want +got):\n%s", d)
	}
}

func TestParseHeapAlloc(t *testing.T) {
	got, err := parseHeapAlloc(strings.NewReader("heap profile: 1: 2 [3: 4] @ heap/1048576\n\n# runtime.MemStats\n# Alloc = 123\n# HeapAlloc = 4567890\n# Sys = 1\n"))
	if err != nil || got != 4567890 {
		t.Errorf("parseHeapAlloc = %d, %v; want 4567890", got, err)
	}
	if _, err := parseHeapAlloc(strings.NewReader("# Sys = 1\n")); err == nil {
		t.Error("parseHeapAlloc without HeapAlloc: no error")
	}
}
