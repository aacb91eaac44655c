package main

import (
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// svgSeries parses svg as XML and returns the data-series of its polylines.
func svgSeries(t *testing.T, svg string) map[string]int {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	got := map[string]int{}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatalf("SVG does not parse: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			for _, a := range se.Attr {
				if a.Name.Local == "data-series" {
					got[a.Value]++
				}
			}
		}
	}
}

func TestLadderChartHasBothSystems(t *testing.T) {
	runs := []runResult{
		{System: sysSwitchboard, Scenario: "register", Steps: []stepResult{
			{Offered: 1000, Achieved: 998, Successful: 5000, P99: 2, ServerCPU: time.Second, PeakMem: 40 << 20},
			{Offered: 2000, Achieved: 1500, Successful: 7500, P99: 80, ServerCPU: 2 * time.Second, PeakMem: 60 << 20, Verdict: "p99 80 ms"},
		}},
		{System: sysKamailio, Scenario: "register", Steps: []stepResult{
			{Offered: 1000, Achieved: 1000, Successful: 5000, P99: 1, ServerCPU: time.Second / 2, PeakMem: 70 << 20},
		}},
		{System: sysSIPp, Scenario: "register", Skipped: "not run"},
	}
	svg := renderSVG("register <&>", ladderPanels(runs))
	got := svgSeries(t, svg)
	// Four panels, each with both systems; the skipped one has no line.
	if got[sysSwitchboard] != 4 || got[sysKamailio] != 4 || got[sysSIPp] != 0 {
		t.Fatalf("polylines per series = %v, want 4 switchboard and 4 kamailio", got)
	}
}

func TestEmptyChartStillParses(t *testing.T) {
	svg := renderSVG("empty", ladderPanels(nil))
	if n := len(svgSeries(t, svg)); n != 0 {
		t.Fatalf("%d series in an empty chart", n)
	}
	if !strings.Contains(svg, emptyPanelHint) {
		t.Fatal("an empty panel does not say so")
	}
}

func TestWriteChartsLinksFiles(t *testing.T) {
	dir := t.TempDir()
	r := &report{Options: options{scenarios: []string{"register", "call"}}, Runs: []runResult{
		{System: sysSwitchboard, Scenario: "register", Steps: []stepResult{{Offered: 1000, Achieved: 1000}}},
	}, Overload: []overloadResult{{Rate: 1000, Phase: time.Second, Samples: []overloadSample{
		{T: 1, Offered: 1000, Achieved: 990, RSS: 30 << 20, HWM: 30 << 20},
		{T: 2, Offered: 2000, Achieved: 1200, Dropped: 700, RSS: 40 << 20, HWM: 40 << 20},
	}}}}
	links, err := writeCharts(dir, "benchmarks", r)
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 2 || links[0].File != "benchmarks-register.svg" || links[1].File != "benchmarks-overload.svg" {
		t.Fatalf("links = %+v", links)
	}
	b, err := os.ReadFile(filepath.Join(dir, "benchmarks-overload.svg"))
	if err != nil {
		t.Fatal(err)
	}
	got := svgSeries(t, string(b))
	for _, want := range []string{"offered", "achieved", "dropped unparsed", "RSS"} {
		if got[want] != 1 {
			t.Errorf("overload chart lacks %q: %v", want, got)
		}
	}
	if md := chartsMarkdown(links); !strings.Contains(md, "(benchmarks-register.svg)") {
		t.Errorf("markdown does not link the chart:\n%s", md)
	}
}

func TestParseCounters(t *testing.T) {
	in := `# HELP x
switchboard_sip_responses_total{code="200",method="REGISTER"} 1500
switchboard_sip_responses_total{code="401",method="REGISTER"} 1600
switchboard_sip_responses_total{code="503",method="REGISTER"} 7
switchboard_sip_responses_total{code="200",method="INVITE"} 99
switchboard_sip_overload_dropped_total 42
switchboard_sip_udp_receive_drops_total{listener="127.0.0.1:5060"} 30
switchboard_sip_udp_receive_drops_total{listener="[::1]:5060"} 3
`
	if c := parseCounters(strings.NewReader(in)); c.ok200 != 1500 || c.fail5xx != 7 || c.dropped != 42 || c.kernel != 33 {
		t.Fatalf("got %+v", c)
	}
}

func TestOverloadVerdict(t *testing.T) {
	o := overloadResult{Rate: 100, Phase: 2 * time.Second, Samples: []overloadSample{
		{T: 1, RSS: 10}, {T: 2, RSS: 10}, {T: 3, RSS: 20}, {T: 4, RSS: 20}, {T: 5, RSS: 21}, {T: 6, RSS: 21},
		{T: 7, Achieved: 50}, {T: 8, Achieved: 95},
	}}
	maxR, max2R, bounded, rec := o.verdict()
	if maxR != 10 || max2R != 21 || !bounded || rec != 2 {
		t.Fatalf("verdict = %v %v %v %v", maxR, max2R, bounded, rec)
	}
	o.Samples[5].RSS = 40
	if _, _, bounded, _ := o.verdict(); bounded {
		t.Fatal("still growing memory judged bounded")
	}
	o.Phases = []sippResult{{Created: 200, Successful: 200}, {Created: 800, Successful: 600, Failed: 150, Retransmissions: 900, CPU: time.Second, Wall: 4 * time.Second}, {Created: 200, Successful: 190, ExitCode: 255}}
	md := o.markdown()
	for _, want := range []string{"| 2 | 200/s for 4s | 800 | 600 | 150 | 900 | 75.0% | 0.25 | done |", "| 3 | 100/s for 2s | 200 | 190 | 0 | 0 | 95.0% | — | 255: cut by its -timeout |"} {
		if !strings.Contains(md, want) {
			t.Errorf("overload report lacks SIPp's phase row %q:\n%s", want, md)
		}
	}
}

func TestScaleRatios(t *testing.T) {
	pts := []scaleResult{
		{System: sysSwitchboard, Phones: 1000, ProbeRate: 100},
		{System: sysSwitchboard, Phones: 10000, ProbeRate: 100, ProbeAchieved: 100, ProbeCreated: 1000, ProbeCPU: time.Second},
		{System: sysSwitchboard, Phones: 100000, ProbeRate: 100, ProbeAchieved: 95, ProbeCreated: 1000, ProbeCPU: 2 * time.Second},
		{System: sysKamailio, Phones: 10000, Err: "x"},
	}
	got := scaleRatios(pts)
	want := "- switchboard, 100000 vs 10000 phones: probe achieved 0.95×, capacity (inverse CPU per registration) 0.50×"
	if !strings.HasPrefix(got, want) || strings.Contains(got, sysKamailio) {
		t.Fatalf("scaleRatios =\n%s\nwant prefix\n%s", got, want)
	}
}
