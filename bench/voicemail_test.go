package main

import (
	"context"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestJitterStats(t *testing.T) {
	var s jitterStats
	t0 := time.Unix(100, 0)
	// 20 ms apart in both clocks, then one packet 5 ms late, then a marker
	// packet far later (a new talkspurt: not a jitter sample).
	at := []time.Duration{0, 20, 40, 65, 80, 1000}
	for i, ms := range at {
		s.add(t0.Add(ms*time.Millisecond), &rtp.Header{Timestamp: uint32(1000 + 160*i), SSRC: 7, Marker: i == 5})
	}
	want := []float64{0, 0, 5, 5}
	if len(s.deltas) != len(want) {
		t.Fatalf("deltas = %v, want %v", s.deltas, want)
	}
	for i, d := range want {
		if diff := s.deltas[i] - d; diff > 1e-9 || diff < -1e-9 {
			t.Errorf("delta %d = %v ms, want %v", i, s.deltas[i], d)
		}
	}
	if s.j <= 0 || s.j >= 1 {
		t.Errorf("J = %v ms, want a small positive estimate (two 5 ms samples / 16)", s.j)
	}
	if got := percentile([]float64{3, 1, 2, 10}, 99); got != 10 {
		t.Errorf("percentile p99 = %v, want 10", got)
	}
}

// TestVoicemailScenarioSmoke runs the voicemail scenario's plumbing with
// three callers and one second of recording against a freshly built
// switchboard: every call answered, recorded and saved, RTP measured. It
// measures nothing.
func TestVoicemailScenarioSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds switchboard and records three messages")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin, err := buildSwitchboard(ctx, root, dir)
	if err != nil {
		t.Fatal(err)
	}
	srv, httpAddr, err := startVoicemailServer(ctx, bin, dir+"/vm", 3, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	r := runVoicemail(ctx, srv, httpAddr, 3, time.Second)
	if r.Err != "" {
		t.Fatalf("voicemail run: %s", r.Err)
	}
	if r.Answered != 3 || r.Recorded != 3 || r.Saved != 3 {
		t.Errorf("answered %d, recorded %d, saved %v; want 3 each", r.Answered, r.Recorded, r.Saved)
	}
	if r.Packets < 3*20 || r.RecSeconds < 3 || r.ServerCPU <= 0 {
		t.Errorf("packets %d, recorded %.1f s, server CPU %v: want the greetings measured, 3 s recorded, CPU read", r.Packets, r.RecSeconds, r.ServerCPU)
	}
}
