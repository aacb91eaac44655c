package apps

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard/switchboard/mailbox"
	"github.com/switchboard/switchboard/media"
	"github.com/switchboard/switchboard/sip"
)

// TestSaveRecording: a recorded call lands in the user's recordings box
// (not the voicemail box) as a WAV of its audio; a bridge that carried no
// audio is not kept; every outcome is counted.
func TestSaveRecording(t *testing.T) {
	ctx := context.Background()
	store := mailbox.NewMemory()
	reg := prometheus.NewRegistry()
	a, err := New(Config{Mailboxes: store}, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, 12000)
	for i := range pcm {
		pcm[i] = int16(i % 3000)
	}
	started := time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC)
	a.SaveRecording(ctx, sip.CallRecording{Tenant: "acme.example", User: "bob", From: "+14085550100", To: "+14155550101", Started: started, PCM: pcm})
	a.SaveRecording(ctx, sip.CallRecording{Tenant: "acme.example", User: "bob", PCM: make([]int16, 10)})

	box := mailbox.RecordingBox("acme.example", "bob")
	msgs, err := store.List(ctx, box)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("recordings: %v %v", msgs, err)
	}
	r := mailbox.RecordingOf(msgs[0])
	if r.From != "+14085550100" || r.To != "+14155550101" || !r.Started.Equal(started) || r.Duration != 1.5 {
		t.Errorf("recording: %+v", r)
	}
	wav, err := store.Audio(ctx, box, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := media.ReadWAV(bytes.NewReader(wav)); err != nil || len(got) != len(pcm) || got[2999] != 2999 {
		t.Errorf("audio: %d samples, %v", len(got), err)
	}
	if vm, _ := store.List(ctx, mailbox.Box{Tenant: "acme.example", Name: "user:bob"}); len(vm) != 0 {
		t.Errorf("recording left as voicemail: %v", vm)
	}
	c := a.metrics.recordings
	if saved, empty := testutil.ToFloat64(c.WithLabelValues("saved")), testutil.ToFloat64(c.WithLabelValues("empty")); saved != 1 || empty != 1 {
		t.Errorf("metrics: saved %v empty %v", saved, empty)
	}

	none, err := New(Config{}, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	none.SaveRecording(ctx, sip.CallRecording{Tenant: "acme.example", User: "bob", PCM: pcm})
	if n := testutil.ToFloat64(none.metrics.recordings.WithLabelValues("no_store")); n != 1 {
		t.Errorf("no store: %v", n)
	}
}
