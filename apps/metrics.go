package apps

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are the applications' own collectors.
type metrics struct {
	selections *prometheus.CounterVec
	voicemail  *prometheus.CounterVec
	recordings *prometheus.CounterVec // record.go
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		selections: f.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_attendant_selections_total",
			Help: "Auto-attendant choices, by tenant and option (the digit, extension, timeout, invalid).",
		}, []string{"tenant", "option"}),
		voicemail: f.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_voicemail_messages_total",
			Help: "Voicemail messages left, by result (saved, too_short: under the minimum length, full: the mailbox was at its cap).",
		}, []string{"result"}),
		recordings: newRecordingMetrics(reg),
	}
	// Every result exists from the start at 0, so rate() and the dashboard
	// see the series before the first message is left.
	for _, r := range []string{vmSaved, vmTooShort, vmFull} {
		m.voicemail.WithLabelValues(r)
	}
	return m
}
