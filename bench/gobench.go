package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// goBench is one line of `go test -bench -benchmem` output.
type goBench struct {
	Pkg, Name   string
	N           string
	NsPerOp     string
	BytesPerOp  string
	AllocsPerOp string
	Extra       []string // other "value unit" pairs, e.g. MB/s
}

// goBenchPackages are the hot paths' packages.
var goBenchPackages = []string{"./sip/...", "./routing/", "./dialplan/", "./location/"}

// runGoBench runs the micro-benchmarks; output of packages that failed to
// build is returned in the error alongside whatever did run.
func runGoBench(ctx context.Context, root, benchtime string) ([]goBench, error) {
	args := append([]string{"test", "-run=^$", "-bench=.", "-benchmem", "-benchtime=" + benchtime}, goBenchPackages...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	bs, perr := parseGoBench(strings.NewReader(string(out)))
	if err != nil {
		return bs, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, tail(string(out), 1500))
	}
	return bs, perr
}

// parseGoBench parses the standard benchmark output format.
func parseGoBench(r io.Reader) ([]goBench, error) {
	var out []goBench
	pkg := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || len(f)%2 != 0 {
			continue // a benchmark's own log line, or one that failed
		}
		b := goBench{Pkg: pkg, Name: f[0], N: f[1]}
		for i := 2; i+1 < len(f); i += 2 {
			v, unit := f[i], f[i+1]
			switch unit {
			case "ns/op":
				b.NsPerOp = v
			case "B/op":
				b.BytesPerOp = v
			case "allocs/op":
				b.AllocsPerOp = v
			default:
				b.Extra = append(b.Extra, v+" "+unit)
			}
		}
		if b.NsPerOp == "" {
			continue
		}
		out = append(out, b)
	}
	return out, sc.Err()
}
