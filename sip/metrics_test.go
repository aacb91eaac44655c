package sip

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

func TestMetricsLint(t *testing.T) {
	s, reg, _ := newTestServer(t)
	// Give the counter vectors samples: a challenge, a wrong password, an OPTIONS.
	chal := challenge(t, s)
	s.handle(parseRequest(t, registerBytes(2, "m1", credentials(t, chal, "wrong", 1))), newFakeTx())
	s.handle(parseRequest(t, []byte("OPTIONS sip:acme.example SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKm2\r\n"+
		"From: <sip:x@acme.example>;tag=1\r\nTo: <sip:acme.example>\r\nCall-ID: m2\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")), newFakeTx())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, want := range []string{"switchboard_sip_requests_total", "switchboard_sip_responses_total", "switchboard_auth_failures_total"} {
		if !names[want] {
			t.Errorf("registry lacks %s", want)
		}
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
