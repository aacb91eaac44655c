package admin

import (
	"net/http"

	"github.com/switchboard/switchboard/mailbox"
)

// Call recordings of users with record: true live in the voicemail message
// store (mailbox.RecordingBox) and are served like voicemail, with the
// same tenant-scoped access.
func (a *API) recordingRoutes() {
	base := "/tenants/{domain}/users/{id}/recordings"
	a.handle("GET", base, a.listRecordings)
	a.handle("GET", base+"/{msg}", a.getRecording)
	a.handle("DELETE", base+"/{msg}", a.deleteRecording)
}

// recordingBox resolves the user a request names. A user who no longer
// records still has the recordings made before.
func (a *API) recordingBox(r *http.Request) (mailbox.Box, error) {
	if a.voicemail == nil {
		return mailbox.Box{}, notFound("call recording is not configured on this server")
	}
	view, err := a.dir.Tenant(r.Context(), r.PathValue("domain"))
	if err != nil {
		return mailbox.Box{}, err
	}
	u, ok := view.User(r.PathValue("id"))
	if !ok {
		return mailbox.Box{}, notFound("no user %q in tenant %s", r.PathValue("id"), view.Tenant.Domain)
	}
	return mailbox.RecordingBox(view.Tenant.Domain, u.ID), nil
}

func (a *API) listRecordings(w http.ResponseWriter, r *http.Request) error {
	b, err := a.recordingBox(r)
	if err != nil {
		return err
	}
	msgs, err := a.voicemail.List(r.Context(), b)
	if err != nil {
		return err
	}
	recs := make([]mailbox.Recording, 0, len(msgs))
	for _, m := range msgs {
		recs = append(recs, mailbox.RecordingOf(m))
	}
	writeJSON(w, http.StatusOK, recs)
	return nil
}

// getRecording serves a recording's metadata, or its WAV when the client
// accepts audio/wav.
func (a *API) getRecording(w http.ResponseWriter, r *http.Request) error {
	b, err := a.recordingBox(r)
	if err != nil {
		return err
	}
	return a.serveMessage(w, r, b, func(m mailbox.Message) any { return mailbox.RecordingOf(m) })
}

func (a *API) deleteRecording(w http.ResponseWriter, r *http.Request) error {
	b, err := a.recordingBox(r)
	if err != nil {
		return err
	}
	return a.deleteMessage(w, r, b)
}
