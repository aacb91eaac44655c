package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// The Grafana dashboard and the alert rules in deploy/ must not drift from
// the code: every metric their PromQL names has to be exported by a running
// switchboard. The test drives a real instance (Redis store, carrier trunk,
// attendant, screening) through enough traffic that every labelled series
// the dashboard shows exists, then compares names.

// grafanaVars replaces the dashboard variables so its queries parse as PromQL.
var grafanaVars = strings.NewReplacer(
	"$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h",
	"${instance}", ".*", "$instance", ".*")

// labelValues is Grafana's label_values(metric, label) variable query.
var labelValues = regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)`)

// promqlMetrics returns the metric names an expression selects.
func promqlMetrics(expr string) ([]string, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaVars.Replace(expr))
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			name := vs.Name
			for _, m := range vs.LabelMatchers {
				if m.Name == model.MetricNameLabel {
					name = m.Value
				}
			}
			if name != "" {
				names = append(names, name)
			}
		}
		return nil
	})
	return names, nil
}

// dashboardExprs walks a Grafana dashboard's panels (rows included) and
// templating and returns every query with where it is.
func dashboardExprs(t *testing.T, path string) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		Expr string `json:"expr"`
	}
	type panel struct {
		Title   string   `json:"title"`
		Type    string   `json:"type"`
		Targets []target `json:"targets"`
		Panels  []panel  `json:"panels"`
	}
	var d struct {
		Title      string  `json:"title"`
		UID        string  `json:"uid"`
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: not valid dashboard JSON: %v", path, err)
	}
	if d.Title == "" || d.UID == "" || len(d.Panels) == 0 {
		t.Fatalf("%s: title %q uid %q, %d panels: not an importable dashboard", path, d.Title, d.UID, len(d.Panels))
	}
	out := map[string][]string{}
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				out["panel "+p.Title] = append(out["panel "+p.Title], tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if json.Unmarshal(v.Query, &q) != nil {
			_ = json.Unmarshal(v.Query, &q.Query) // older dashboards: a plain string
		}
		m := labelValues.FindStringSubmatch(q.Query)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(metric, label)", v.Name, q.Query)
			continue
		}
		out["variable "+v.Name] = append(out["variable "+v.Name], m[1])
	}
	return out
}

// exportedNames parses a /metrics body: every family name, plus _bucket,
// _sum and _count of histograms and _sum, _count of summaries (the names
// PromQL selects them by).
func exportedNames(t *testing.T, body string) map[string]bool {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	out := map[string]bool{}
	for name, f := range fams {
		if len(f.GetMetric()) == 0 {
			continue
		}
		out[name] = true
		switch f.GetType().String() {
		case "HISTOGRAM":
			out[name+"_bucket"], out[name+"_sum"], out[name+"_count"] = true, true, true
		case "SUMMARY":
			out[name+"_sum"], out[name+"_count"] = true, true
		}
	}
	return out
}

// missingMetrics returns, per place, the metric names its queries use that
// are not in exported; queries that do not parse are test errors.
func missingMetrics(t *testing.T, queries map[string][]string, exported map[string]bool) []string {
	t.Helper()
	var missing []string
	for where, exprs := range queries {
		for _, e := range exprs {
			names, err := promqlMetrics(e)
			if err != nil {
				t.Errorf("%s: query %q does not parse: %v", where, e, err)
				continue
			}
			if len(names) == 0 {
				t.Errorf("%s: query %q selects no metric", where, e)
			}
			for _, n := range names {
				if !exported[n] {
					missing = append(missing, fmt.Sprintf("%s: %s", where, n))
				}
			}
		}
	}
	sort.Strings(missing)
	return slices.Compact(missing)
}

// busyServer starts a switchboard on Redis with the B2BUA directory and
// drives traffic through every path the dashboard shows: a failed and good
// registrations, a proxied call, an attendant choice, a screened forward
// the carrier refuses, and a Redis outage (store errors, breaker). It
// returns the server with Redis back.
func busyServer(t *testing.T) *server {
	t.Helper()
	r := startRedis(t)
	pstn := newMediaPhone(t, nil, "pstn", "127.0.0.2", fillPSTN)
	carrier := newMediaPhone(t, nil, "carrier", "127.0.0.2", fillCarrier)
	lo := 21000 + 100*int(b2bPortBase.Add(1))
	srv := start(t, options{Directory: b2bDirectory, Trunk: carrier.addr, TrunkFrom: "127.0.0.2/32", Redis: r.URL(),
		Media: fmt.Sprintf("  address: 127.0.0.1\n  ports: \"%d-%d\"\n  inactivity: 5s\n  screening_ring: 3s\n", lo, lo+2*b2bPorts-1)})
	pstn.srv, carrier.srv = srv, srv

	bp := newPeer(t, srv, "7002", "127.0.0.1", "UDP")
	if code, err := registerCode(bp, "7002", user{"bob", "7002", "wrong"}); err != nil || code != 401 {
		t.Fatalf("REGISTER with a wrong password = %d %v, want 401", code, err)
	}
	bp.register("7002", bob)
	guesser := newRawFrom(t, srv, "127.0.0.5") // five wrong passwords: a ban
	for i := range 5 {
		wantStatus(t, authRegister(t, guesser, "7003", "7003", fmt.Sprintf("guess%d", i)), 401)
	}
	srv.waitMetric(t, `switchboard_security_bans_total{reason="auth_failures"}`, 1, 5*time.Second)
	cp := newPeer(t, srv, "7003", "127.0.0.1", "UDP")
	cp.register("7003", carol)

	c := connect(t, bp, bob, "7003", cp) // proxied call
	hangUp(t, c, cp)

	e := &b2bEnv{srv: srv, pstn: pstn, carrier: carrier}
	answerAndHearGreeting(t, e, mainNumber) // attendant: 0 → carol
	pstn.pressRTP('0')
	cp.waitRequest(sip.INVITE, 2, 5*time.Second)
	srv.waitMetric(t, selections("0"), 1, 5*time.Second)
	pstn.bye()

	carrier.setAnswer(answer{Code: 486}) // screened forward refused by the far end
	caller := newMediaPhone(t, srv, "pstn2", "127.0.0.2", fillPSTN)
	caller.call("+14155550110", pstnCaller, nil)
	caller.waitFinal(480, 10*time.Second)
	srv.waitMetric(t, screening("busy"), 1, 5*time.Second)

	r.Kill() // an outage: store errors, the breaker opens
	_, _ = registerCode(bp, "7002", bob)
	waitUntil(t, 10*time.Second, "a store error counted", func() bool {
		for k, v := range srv.metrics(t) {
			if strings.HasPrefix(k, "switchboard_store_errors_total") && v > 0 {
				return true
			}
		}
		return false
	})
	r.Restart()
	// The registrations are written back to the empty Redis by the
	// instance; the per-tenant gauge reads Redis.
	waitUntil(t, 10*time.Second, "registrations written back", func() bool {
		return srv.metrics(t)[`switchboard_registrations_active{tenant="acme.example"}`] >= 2
	})
	return srv
}

// TestDashboardMetricsExported checks the dashboard and the alert rules
// against one busy instance.
func TestDashboardMetricsExported(t *testing.T) {
	t.Parallel()
	dashboard := dashboardExprs(t, filepath.Join(repoRoot(), "deploy", "grafana", "switchboard.json"))
	alerts := alertExprs(t, filepath.Join(repoRoot(), "deploy", "prometheus", "alerts.yaml"))
	srv := busyServer(t)
	exported := exportedNames(t, srv.metricsText(t))
	for name := range prometheusOwn {
		exported[name] = true
	}
	if missing := missingMetrics(t, dashboard, exported); len(missing) > 0 {
		t.Errorf("the dashboard queries metrics switchboard does not export:\n  %s", strings.Join(missing, "\n  "))
	}
	if missing := missingMetrics(t, alerts, exported); len(missing) > 0 {
		t.Errorf("the alert rules query metrics switchboard does not export:\n  %s", strings.Join(missing, "\n  "))
	}
}

// prometheusOwn are series Prometheus makes itself for every scrape target.
var prometheusOwn = map[string]bool{"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true}

// alertExprs reads a Prometheus rule file: every rule's expression by
// alert (or recording) name.
func alertExprs(t *testing.T, path string) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert  string `yaml:"alert"`
				Record string `yaml:"record"`
				Expr   string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string][]string{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			name := "alert " + r.Alert
			if r.Record != "" {
				name = "record " + r.Record
			}
			out[name] = append(out[name], r.Expr)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no rules", path)
	}
	return out
}

// TestAlertRulesPromtool validates the rule file and runs its unit tests
// (deploy/prometheus/alerts_test.yaml) with promtool, from the Debian
// prometheus package.
func TestAlertRulesPromtool(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("promtool"); err != nil {
		if requirePeers() {
			t.Fatal("promtool not installed and SWITCHBOARD_REQUIRE_PEERS=1 (apt-get install -y prometheus)")
		}
		t.Skip("promtool not installed (apt-get install -y prometheus)")
	}
	dir := filepath.Join(repoRoot(), "deploy", "prometheus")
	for _, args := range [][]string{{"check", "rules", "alerts.yaml"}, {"test", "rules", "alerts_test.yaml"}} {
		cmd := exec.Command("promtool", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// metricsText is the raw /metrics body.
func (s *server) metricsText(t *testing.T) string {
	t.Helper()
	res, err := httpGet("http://" + s.HTTP + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	return res
}

func httpGet(url string) (string, error) {
	res, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", res.StatusCode)
	}
	return string(b), err
}

func TestPromqlMetrics(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{`sum by (method) (rate(switchboard_sip_requests_total{instance=~"$instance"}[$__rate_interval]))`, "[switchboard_sip_requests_total]"},
		{`histogram_quantile(0.99, sum by (le) (rate(a_seconds_bucket[5m]))) / on() group_left sum(b_total)`, "[a_seconds_bucket b_total]"},
		{`{__name__="up", job="x"} == 0`, "[up]"},
		{`absent(foo) or vector(0)`, "[foo]"},
	} {
		got, err := promqlMetrics(tc.expr)
		if err != nil || fmt.Sprint(got) != tc.want {
			t.Errorf("promqlMetrics(%q) = %v, %v, want %s", tc.expr, got, err, tc.want)
		}
	}
	if _, err := promqlMetrics(`sum(rate(x[5m]`); err == nil {
		t.Error("promqlMetrics of a broken query: no error")
	}
	exported := exportedNames(t, "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n# TYPE g gauge\ng 1\n")
	missing := missingMetrics(t, map[string][]string{"panel p": {`rate(h_bucket[5m]) + g + nope`}}, exported)
	if fmt.Sprint(missing) != "[panel p: nope]" {
		t.Errorf("missingMetrics = %v, want [panel p: nope]", missing)
	}
}
