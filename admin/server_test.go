package admin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/sip"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func TestHealthz(t *testing.T) {
	s := New(prometheus.NewRegistry(), func(context.Context) error { return errors.New("down") }, nil)
	if code, body := get(t, s.srv.Handler, "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 \"ok\\n\" (even when not ready)", code, body)
	}
}

func TestReadyz(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantBody string
	}{
		{"ready", nil, http.StatusOK, "ready\n"},
		{"not ready", errors.New("sip not listening"), http.StatusServiceUnavailable, "not ready: sip not listening\n"},
		{"degraded store", Degraded{Err: errors.New("redis down")}, http.StatusOK, "degraded: redis down\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(prometheus.NewRegistry(), func(context.Context) error { return tt.err }, nil)
			code, body := get(t, s.srv.Handler, "/readyz")
			if code != tt.wantCode || body != tt.wantBody {
				t.Errorf("GET /readyz = %d %q, want %d %q", code, body, tt.wantCode, tt.wantBody)
			}
		})
	}
}

func TestReadyzHasDeadline(t *testing.T) {
	s := New(prometheus.NewRegistry(), func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("no deadline")
		}
		return nil
	}, nil)
	if code, body := get(t, s.srv.Handler, "/readyz"); code != http.StatusOK {
		t.Errorf("GET /readyz = %d %q, want 200: the ReadyFunc must get a bounded context", code, body)
	}
}

// sipRegistry is a registry with what serve registers: the Go and process
// collectors and the sip package's metrics, with one live registration so
// the registrations gauge has a sample.
func sipRegistry(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	loc := location.NewMemory(nil)
	if _, err := sip.New(sip.Config{}, dialplan.NewMemoryStore(), loc, reg, nil); err != nil {
		t.Fatal(err)
	}
	_, err := loc.Update(context.Background(), "alice@acme.example", "acme.example",
		func(now time.Time, _ []location.Binding) ([]location.Binding, error) {
			return []location.Binding{{AOR: "alice@acme.example", Tenant: "acme.example", Contact: "sip:alice@192.0.2.1", Expires: now.Add(time.Hour)}}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestMetrics(t *testing.T) {
	s := New(sipRegistry(t), func(context.Context) error { return nil }, nil)
	code, body := get(t, s.srv.Handler, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d, want 200", code)
	}
	// The sip counter vectors have no sample until a request arrives; their
	// names and help are linted with samples in package sip (metrics_test.go).
	for _, want := range []string{
		`switchboard_registrations_active{tenant="acme.example"} 1`,
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
