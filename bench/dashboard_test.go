package main

import (
	"math"
	"strings"
	"testing"
)

func TestDashboardArithmetic(t *testing.T) {
	at := func(t float64, text string) scrape { return scrape{T: t, Values: readScrape(strings.NewReader(text))} }
	ss := []scrape{
		at(0, "# TYPE x counter\nswitchboard_sip_requests_total{method=\"INVITE\"} 10\nswitchboard_sip_requests_total{method=\"BYE\"} 0\n"+
			"switchboard_call_setup_seconds_bucket{le=\"0.005\"} 0\nswitchboard_call_setup_seconds_bucket{le=\"0.01\"} 0\nswitchboard_call_setup_seconds_bucket{le=\"+Inf\"} 0\n"),
		at(1, "switchboard_sip_requests_total{method=\"INVITE\"} 40\nswitchboard_sip_requests_total{method=\"BYE\"} 5\n"+
			"switchboard_call_setup_seconds_bucket{le=\"0.005\"} 50\nswitchboard_call_setup_seconds_bucket{le=\"0.01\"} 100\nswitchboard_call_setup_seconds_bucket{le=\"+Inf\"} 100\n"),
	}
	rates := rateSeries(ss, "switchboard_sip_requests_total", "method", "")
	if len(rates) != 2 || rates[0].Name != "BYE" || rates[0].Points[0].Y != 5 || rates[1].Points[0].Y != 30 {
		t.Errorf("rates = %+v, want BYE 5/s and INVITE 30/s", rates)
	}
	// Half the calls under 5 ms, all under 10 ms: p50 = 5 ms, p99 = 9.9 ms
	// by linear interpolation inside the bucket, as histogram_quantile does.
	p50 := quantileSeries(ss, "switchboard_call_setup_seconds", 0.5, 1, "p50")
	p99 := quantileSeries(ss, "switchboard_call_setup_seconds", 0.99, 1, "p99")
	if len(p50.Points) != 1 || math.Abs(p50.Points[0].Y-5) > 1e-9 || math.Abs(p99.Points[0].Y-9.9) > 1e-9 {
		t.Errorf("p50 %+v, p99 %+v; want 5 ms and 9.9 ms", p50.Points, p99.Points)
	}
	if ps := dashboardPanels(ss); len(ps) != 8 {
		t.Errorf("%d panels, want the dashboard's 8", len(ps))
	}
}
