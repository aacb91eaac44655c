package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/switchboard/switchboard/mailbox"
)

// Voicemail is the message store the voicemail endpoints read and change
// (mailbox.Store); every change reaches the phones' lamps through the
// store's change announcements.
type Voicemail interface {
	List(ctx context.Context, b mailbox.Box) ([]mailbox.Message, error)
	Audio(ctx context.Context, b mailbox.Box, id string) ([]byte, error)
	SetNew(ctx context.Context, b mailbox.Box, id string, isNew bool) error
	Delete(ctx context.Context, b mailbox.Box, id string) error
}

func (a *API) voicemailRoutes() {
	for _, base := range []string{"/tenants/{domain}/users/{id}/voicemail", "/tenants/{domain}/mailboxes/{id}/voicemail"} {
		a.handle("GET", base, a.listVoicemail)
		a.handle("GET", base+"/{msg}", a.getVoicemail)
		a.handle("PATCH", base+"/{msg}", a.patchVoicemail)
		a.handle("DELETE", base+"/{msg}", a.deleteVoicemail)
	}
}

// voicemailBox resolves the mailbox a request names: a user with
// voicemail, or a tenant mailbox (by the path it came in on).
func (a *API) voicemailBox(r *http.Request) (mailbox.Box, error) {
	if a.voicemail == nil {
		return mailbox.Box{}, notFound("voicemail is not configured on this server")
	}
	domain, id := r.PathValue("domain"), r.PathValue("id")
	view, err := a.dir.Tenant(r.Context(), domain)
	if err != nil {
		return mailbox.Box{}, err
	}
	domain = view.Tenant.Domain
	if strings.Contains(r.URL.Path, "/mailboxes/") {
		m, ok := view.Mailbox(id)
		if !ok {
			return mailbox.Box{}, notFound("no mailbox %q in tenant %s", id, domain)
		}
		return mailbox.Box{Tenant: domain, Name: "mailbox:" + m.ID}, nil
	}
	u, ok := view.User(id)
	if !ok {
		return mailbox.Box{}, notFound("no user %q in tenant %s", id, domain)
	}
	if u.Voicemail == nil || !u.Voicemail.Enabled {
		return mailbox.Box{}, notFound("user %q has no voicemail", id)
	}
	return mailbox.Box{Tenant: domain, Name: "user:" + u.ID}, nil
}

func (a *API) listVoicemail(w http.ResponseWriter, r *http.Request) error {
	b, err := a.voicemailBox(r)
	if err != nil {
		return err
	}
	msgs, err := a.voicemail.List(r.Context(), b)
	if err != nil {
		return err
	}
	if msgs == nil {
		msgs = []mailbox.Message{}
	}
	writeJSON(w, http.StatusOK, msgs)
	return nil
}

// getVoicemail serves a message's metadata, or its WAV when the client
// accepts audio/wav.
func (a *API) getVoicemail(w http.ResponseWriter, r *http.Request) error {
	b, err := a.voicemailBox(r)
	if err != nil {
		return err
	}
	return a.serveMessage(w, r, b, func(m mailbox.Message) any { return m })
}

// serveMessage serves the message of box b the path names ({msg}): its
// metadata as show makes it, or its WAV when the client accepts audio/wav.
// Voicemail and call recordings share it.
func (a *API) serveMessage(w http.ResponseWriter, r *http.Request, b mailbox.Box, show func(mailbox.Message) any) error {
	id := r.PathValue("msg")
	msgs, err := a.voicemail.List(r.Context(), b)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if m.ID != id {
			continue
		}
		if !strings.Contains(r.Header.Get("Accept"), "audio/") {
			writeJSON(w, http.StatusOK, show(m))
			return nil
		}
		wav, err := a.voicemail.Audio(r.Context(), b, id)
		if err != nil {
			return messageErr(err, id)
		}
		w.Header().Set("Content-Type", "audio/wav")
		w.Header().Set("Content-Disposition", `attachment; filename="`+id+`.wav"`)
		_, _ = w.Write(wav)
		return nil
	}
	return notFound("no message %q", id)
}

func (a *API) patchVoicemail(w http.ResponseWriter, r *http.Request) error {
	b, err := a.voicemailBox(r)
	if err != nil {
		return err
	}
	var body struct {
		New *bool `json:"new"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.New == nil {
		return badRequest("new", "new: required (true or false)")
	}
	id := r.PathValue("msg")
	if err := a.voicemail.SetNew(r.Context(), b, id, *body.New); err != nil {
		return messageErr(err, id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deleteVoicemail(w http.ResponseWriter, r *http.Request) error {
	b, err := a.voicemailBox(r)
	if err != nil {
		return err
	}
	return a.deleteMessage(w, r, b)
}

// deleteMessage deletes the message of box b the path names ({msg}).
func (a *API) deleteMessage(w http.ResponseWriter, r *http.Request, b mailbox.Box) error {
	id := r.PathValue("msg")
	if err := a.voicemail.Delete(r.Context(), b, id); err != nil {
		return messageErr(err, id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func messageErr(err error, id string) error {
	if errors.Is(err, mailbox.ErrNotFound) {
		return notFound("no message %q", id)
	}
	return err
}
