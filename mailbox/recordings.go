package mailbox

import "time"

// Call recordings live in the message store beside voicemail, one box per
// user under a name no mailbox can have ("recordings:user:<id>"), so they
// share its backends, limits and change announcements; the lamps ignore
// them (a lamp watches "user:" and "mailbox:" boxes only).

// RecordingBox is the box holding a user's call recordings.
func RecordingBox(tenant, user string) Box {
	return Box{Tenant: tenant, Name: "recordings:user:" + user}
}

// RecordingLimits cap one user's recordings: a recorded call is far longer
// than a voicemail message.
var RecordingLimits = Limits{MaxMessages: 500, MaxBytes: 1 << 30}

// Recording is one call recording's metadata as the admin API shows it;
// its audio is an 8 kHz mono 16-bit WAV of both directions mixed.
type Recording struct {
	ID       string    `json:"id"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Started  time.Time `json:"started"`
	Duration float64   `json:"duration_s"`
	Size     int       `json:"size_bytes"`
}

// RecordingOf is the recording stored as message m.
func RecordingOf(m Message) Recording {
	return Recording{ID: m.ID, From: m.From, To: m.To, Started: m.Received, Duration: m.Duration, Size: m.Size}
}
