package apps

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/mailbox"
	"github.com/switchboard/switchboard/media"
	"github.com/switchboard/switchboard/routing"
	"github.com/switchboard/switchboard/sip"
)

// Config configures the applications.
type Config struct {
	// Prompts is a folder of WAV prompts overriding the built-ins; "" =
	// built-ins only.
	Prompts string
	// ScreeningTimeout is how long the forwarded leg has to press a key
	// after the screening announcement, played twice, ends (default 10s).
	ScreeningTimeout time.Duration
	// Mailboxes stores voicemail; nil: calls to voicemail hear goodbye.
	Mailboxes mailbox.Store
	Voicemail VoicemailConfig
}

func (c *Config) setDefaults() {
	if c.ScreeningTimeout == 0 {
		c.ScreeningTimeout = 10 * time.Second
	}
	c.Voicemail.setDefaults()
}

// Apps are switchboard's B2BUA applications; they implement
// sip.Applications.
type Apps struct {
	cfg     Config
	prompts *media.Prompts
	log     *slog.Logger
	metrics *metrics
	mail    mailbox.Store
	vm      VoicemailConfig
}

var _ sip.Applications = (*Apps)(nil)

// New loads the prompts and registers the applications' metrics on reg.
func New(cfg Config, reg prometheus.Registerer, log *slog.Logger) (*Apps, error) {
	cfg.setDefaults()
	if log == nil {
		log = slog.Default()
	}
	prompts, err := media.LoadPrompts(cfg.Prompts)
	if err != nil {
		return nil, fmt.Errorf("apps prompts: %w", err)
	}
	return &Apps{cfg: cfg, prompts: prompts, log: log, metrics: newMetrics(reg), mail: cfg.Mailboxes, vm: cfg.Voicemail}, nil
}

// Run runs an application step of an answered call.
func (a *Apps) Run(ctx context.Context, c *sip.Call, st routing.Step) string {
	switch st := st.(type) {
	case routing.Attendant:
		return a.attendant(ctx, c, st)
	case routing.Voicemail:
		return a.deposit(ctx, c, st)
	case routing.VoicemailAccess:
		return a.retrieve(ctx, c, st)
	}
	a.log.Warn("no application for a plan step", "step", fmt.Sprintf("%T", st))
	return "no_application"
}

// prompt returns the prompt called name, else the one called def.
func (a *Apps) prompt(name, def string) *media.Prompt {
	if p, ok := a.prompts.Get(name); ok {
		return p
	}
	if name != "" {
		a.log.Warn("prompt not found; using the default", "prompt", name, "default", def)
	}
	p, _ := a.prompts.Get(def)
	return p
}

// playFully plays a prompt to its end; false when the caller left first.
func (a *Apps) playFully(ctx context.Context, l *sip.Leg, name string) bool {
	pl := l.Play(ctx, a.prompt(name, name))
	defer pl.Stop()
	select {
	case <-pl.Finished():
		return true
	case <-l.HungUp():
	case <-l.MediaDone():
	case <-ctx.Done():
	}
	return false
}

// keyResult is how waiting for a key ended.
type keyResult uint8

const (
	gotKey keyResult = iota
	timedOut
	callerGone
)

// waitKey waits for a key press while pl plays and then up to timeout after
// it finished (from now when pl is nil).
func waitKey(ctx context.Context, l *sip.Leg, pl *sip.Playback, timeout time.Duration) (byte, keyResult) {
	var expired <-chan time.Time
	finished := pl.Finished()
	if pl == nil {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	for {
		select {
		case k := <-l.Digits():
			return k, gotKey
		case <-finished:
			finished = nil
			t := time.NewTimer(timeout)
			defer t.Stop()
			expired = t.C
		case <-expired:
			return 0, timedOut
		case <-l.HungUp():
			return 0, callerGone
		case <-l.MediaDone():
			return 0, callerGone
		case <-ctx.Done():
			return 0, callerGone
		}
	}
}

// endReason says why a call's leg is gone, for the CDR.
func endReason(ctx context.Context, l *sip.Leg) string {
	switch {
	case l.Gone():
		return "caller_hangup"
	case ctx.Err() != nil:
		return "shutdown"
	}
	return "rtp_timeout"
}

func drain(ch <-chan byte) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}
