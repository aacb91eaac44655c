package sip

import (
	"context"
	"strings"
	"time"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/media"
	"github.com/switchboard/switchboard/routing"
)

// Call recording (a user's record: true) of the calls switchboard anchors:
// every bridge of two legs (attendant calls, screened forwards, transfers
// of those) runs through b2bua.bridge, where the RTP of both directions
// passes through our sessions. Proxied calls have end-to-end media and are
// not recorded.

// maxRecording bounds one recorded call (about 58 MB of audio per hour).
const maxRecording = time.Hour

// CallRecording is the audio of one anchored call, both directions mixed
// to 8 kHz mono 16-bit PCM, for one user who records calls.
type CallRecording struct {
	Tenant  string
	User    string // the user with record: true whose recording it is
	From    string // the caller's number, extension or user
	To      string // the number or extension dialled
	Started time.Time
	PCM     []int16
}

// Recordings stores call recordings. Applications that implement it get
// the recordings of anchored calls; without it nothing is recorded.
type Recordings interface {
	SaveRecording(ctx context.Context, r CallRecording)
}

// recording is the recording of one bridge, owned by the bridging
// goroutine; nil (nobody records) is a valid, inert recording.
type recording struct {
	b       *b2bua
	store   Recordings
	tenant  string
	users   []string
	from    string
	to      string
	caller  *media.Recorder
	callee  *media.Recorder
	tracks  []media.Track
	started time.Time
}

// startRecording starts recording a bridge of a and l when a party of the
// call records calls.
func (b *b2bua) startRecording(a *uasLeg, l *uacLeg) *recording {
	store, ok := b.s.cfg.Apps.(Recordings)
	if !ok || l.plan.view == nil {
		return nil
	}
	users := b.recordedUsers(l)
	if len(users) == 0 {
		return nil
	}
	c := l.plan.call
	r := &recording{b: b, store: store, tenant: l.plan.view.Tenant.Domain, users: users,
		from: c.Caller.Number, to: c.Dialled, started: time.Now()}
	if u := c.Caller.User; u != nil {
		r.from = u.ID
		if len(u.Extensions) > 0 {
			r.from = u.Extensions[0]
		}
	}
	r.caller = a.sess.Record(maxRecording)
	r.callee = l.sess.Record(maxRecording)
	return r
}

// swap follows a transfer: the callee side is now l's, whose recording
// users get the whole call too. (A call nobody recorded before its
// transfer stays unrecorded: its first part is gone.)
func (r *recording) swap(l *uacLeg) {
	if r == nil {
		return
	}
	if l.plan.view != nil {
		for _, u := range r.b.recordedUsers(l) {
			if !contains(r.users, u) {
				r.users = append(r.users, u)
			}
		}
	}
	r.tracks = append(r.tracks, track(r.callee))
	r.callee = l.sess.Record(maxRecording)
}

// finish stops recording and stores the mixed audio for every recording
// party. It runs after the call ended, so its context outlives shutdown a
// little: the recording of a call cut by a restart is kept.
func (r *recording) finish(ctx context.Context) {
	if r == nil {
		return
	}
	tracks := append(r.tracks, track(r.caller), track(r.callee))
	pcm := media.Mix(tracks, int(maxRecording.Seconds()*8000))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, u := range r.users {
		r.store.SaveRecording(ctx, CallRecording{Tenant: r.tenant, User: u, From: r.from, To: r.to,
			Started: r.started, PCM: pcm})
	}
}

func track(rec *media.Recorder) media.Track {
	pcm := rec.Stop()
	t, _ := rec.Began()
	return media.Track{Start: t, PCM: pcm}
}

// recordedUsers are the parties of l's call with record: true: the caller
// if a user, and the user who answered — the one whose device took the
// call, else the user whose forward it is or every user the plan rang.
func (b *b2bua) recordedUsers(l *uacLeg) []string {
	view := l.plan.view
	var ids []string
	add := func(u *dialplan.User) {
		if u != nil && u.Record && !contains(ids, u.ID) {
			ids = append(ids, u.ID)
		}
	}
	lookup := func(name string) *dialplan.User {
		e, ok := view.Lookup(name)
		if !ok {
			return nil
		}
		return e.User
	}
	if u := l.plan.call.Caller.User; u != nil {
		if cur, ok := view.User(u.ID); ok {
			u = cur
		}
		add(u)
	}
	if id := b.answeredUser(l.callID, view.Tenant.Domain); id != "" {
		u, _ := view.User(id)
		add(u)
		return ids
	}
	for _, st := range l.plan.plan.Steps {
		switch st := st.(type) {
		case routing.Forward:
			add(lookup(st.DivertedBy))
		case routing.Ring:
			for _, ct := range st.Contacts {
				user, _, _ := strings.Cut(ct.AOR, "@")
				add(lookup(user))
			}
		}
	}
	return ids
}

// answeredUser is the user whose device answered the dialog callID, from
// its confirmed dialog state; "" when it was no user's device.
func (b *b2bua) answeredUser(callID, tenant string) string {
	d := &b.s.dialogs
	d.mu.Lock()
	defer d.mu.Unlock()
	dl := d.m[callID]
	if dl == nil {
		return ""
	}
	for _, ev := range dl.blf {
		if ev.Direction == "recipient" {
			if t, id, ok := strings.Cut(ev.Key, "/"); ok && t == tenant {
				return id
			}
		}
	}
	return ""
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
