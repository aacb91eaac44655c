package apps

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchboard/switchboard/mailbox"
	"github.com/switchboard/switchboard/media"
	"github.com/switchboard/switchboard/sip"
)

var _ sip.Recordings = (*Apps)(nil)

// minRecording is the shortest call recording kept: a bridge that carried
// no audio at all leaves nothing worth listing.
const minRecording = 8000 / 5 // 200 ms

func newRecordingMetrics(reg prometheus.Registerer) *prometheus.CounterVec {
	return promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_recordings_total",
		Help: "Call recordings of anchored calls, by result (saved, empty: no audio, full: the user's recordings were at their cap, error, no_store).",
	}, []string{"result"})
}

// SaveRecording stores a recorded call in the user's recordings box of the
// message store (mailbox.RecordingBox), listed and downloaded through the
// admin API like voicemail.
func (a *Apps) SaveRecording(ctx context.Context, r sip.CallRecording) {
	result := a.saveRecording(ctx, r)
	a.metrics.recordings.WithLabelValues(result).Inc()
	a.log.Info("call recording", "tenant", r.Tenant, "user", r.User, "result", result,
		"duration", (time.Duration(len(r.PCM)) * time.Second / 8000).Round(time.Millisecond).String())
}

func (a *Apps) saveRecording(ctx context.Context, r sip.CallRecording) string {
	switch {
	case a.mail == nil:
		return "no_store"
	case len(r.PCM) < minRecording:
		return "empty"
	}
	m := mailbox.Message{From: r.From, To: r.To, Received: r.Started.UTC(), Duration: float64(len(r.PCM)) / 8000}
	_, err := a.mail.Save(ctx, mailbox.RecordingBox(r.Tenant, r.User), m, media.WAV(r.PCM), mailbox.RecordingLimits)
	switch {
	case errors.Is(err, mailbox.ErrFull):
		return "full"
	case err != nil:
		a.log.Warn("call recording not saved", "tenant", r.Tenant, "user", r.User, "error", err)
		return "error"
	}
	return "saved"
}
