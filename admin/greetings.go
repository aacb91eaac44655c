package admin

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/switchboard/switchboard/mailbox"
	"github.com/switchboard/switchboard/media"
)

// Greetings an admin uploads: an auto attendant's menu greeting, or the
// greeting of a user's or a tenant's voicemail box. Any WAV or MP3 is
// converted to 8 kHz mono (media.ConvertAudio) and kept in the message
// store beside the box's messages, so every instance plays the same file.

// Greetings is the part of the message store that keeps greetings
// (mailbox.Store).
type Greetings interface {
	Greeting(ctx context.Context, b mailbox.Box) ([]byte, error)
	SetGreeting(ctx context.Context, b mailbox.Box, wav []byte) error
}

// maxAudioBody bounds an uploaded greeting file.
const maxAudioBody = 20 << 20

func (a *API) greetingRoutes() {
	for _, base := range []string{
		"/tenants/{domain}/attendants/{id}/greeting",
		"/tenants/{domain}/users/{id}/voicemail/greeting",
		"/tenants/{domain}/mailboxes/{id}/voicemail/greeting",
	} {
		a.handle("PUT", base, a.putGreeting)
		a.handle("GET", base, a.getGreeting)
	}
}

// greetingBox resolves the box a greeting path names.
func (a *API) greetingBox(r *http.Request) (Greetings, mailbox.Box, error) {
	g, ok := a.voicemail.(Greetings)
	if !ok {
		return nil, mailbox.Box{}, notFound("greetings are not kept on this server")
	}
	if !strings.Contains(r.URL.Path, "/attendants/") {
		b, err := a.voicemailBox(r) // a user's or a tenant's mailbox
		return g, b, err
	}
	view, err := a.dir.Tenant(r.Context(), r.PathValue("domain"))
	if err != nil {
		return nil, mailbox.Box{}, err
	}
	id := r.PathValue("id")
	att, ok := view.Attendant(id)
	if !ok {
		return nil, mailbox.Box{}, notFound("no attendant %q in tenant %s", id, view.Tenant.Domain)
	}
	return g, mailbox.AttendantBox(view.Tenant.Domain, att.ID), nil
}

// putGreeting takes a WAV or MP3, converts it and keeps it; a file that
// cannot be used is refused with the reason (415 for what is not audio,
// 422 for audio that cannot serve: silent, too long, an odd encoding).
func (a *API) putGreeting(w http.ResponseWriter, r *http.Request) error {
	g, b, err := a.greetingBox(r)
	if err != nil {
		return err
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		if !strings.HasPrefix(mt, "audio/") && mt != "application/octet-stream" {
			return &requestError{status: http.StatusUnsupportedMediaType, field: "Content-Type",
				msg: "Content-Type " + mt + ": send the greeting as audio/wav or audio/mpeg"}
		}
	}
	if r.ContentLength > maxAudioBody {
		return &http.MaxBytesError{Limit: maxAudioBody}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAudioBody))
	if err != nil {
		return err
	}
	pcm, err := media.ConvertAudio(data)
	if err != nil {
		status := http.StatusUnprocessableEntity
		if strings.Contains(err.Error(), "not a WAV or MP3") {
			status = http.StatusUnsupportedMediaType
		}
		return &requestError{status: status, field: "body", msg: err.Error()}
	}
	if err := g.SetGreeting(r.Context(), b, media.WAV(pcm)); err != nil {
		return err
	}
	a.audit(r, "greeting.set", r.PathValue("domain"), b.Name, "seconds", len(pcm)/8000)
	writeJSON(w, http.StatusOK, map[string]any{"duration_s": float64(len(pcm)) / 8000, "sample_rate": 8000})
	return nil
}

// getGreeting serves the kept greeting as an 8 kHz WAV, for playback in the
// console.
func (a *API) getGreeting(w http.ResponseWriter, r *http.Request) error {
	g, b, err := a.greetingBox(r)
	if err != nil {
		return err
	}
	wav, err := g.Greeting(r.Context(), b)
	if errors.Is(err, mailbox.ErrNotFound) || (err == nil && wav == nil) {
		return notFound("no greeting uploaded for %s", b.Name)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(wav)
	return nil
}
