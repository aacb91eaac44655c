package apps

import (
	"context"
	"strings"
	"time"

	"github.com/switchboard/switchboard/media"
	"github.com/switchboard/switchboard/sip"
)

// Screen is press-1 screening: the forwarded leg, which has answered, hears
// the announcement (screeningAnnouncement) and decides with a key; a key
// stops the announcement at once. Key 1 accepts, any other key, the far end
// hanging up or its RTP ending declines, and no key within the screening
// timeout after the announcement is a timeout. sip connects or goes on with
// the plan.
func (a *Apps) Screen(ctx context.Context, fwd *sip.Leg, sc sip.Screened) string {
	pl := fwd.Play(ctx, a.screeningAnnouncement(sc.Tenant, sc.Number))
	defer pl.Stop()
	var expired <-chan time.Time
	finished := pl.Finished()
	for {
		select {
		case k := <-fwd.Digits():
			if k == '1' {
				return sip.ScreenAccepted
			}
			return sip.ScreenDeclined
		case <-finished:
			finished = nil
			t := time.NewTimer(a.cfg.ScreeningTimeout)
			defer t.Stop()
			expired = t.C
		case <-expired:
			return sip.ScreenTimeout
		case <-fwd.HungUp():
			return sip.ScreenDeclined
		case <-fwd.MediaDone():
			return sip.ScreenDeclined
		case <-ctx.Done():
			return sip.ScreenCallerCancelled
		}
	}
}

// screeningPause separates the announcement from its repetition.
var screeningPause = media.NewPrompt("pause", make([]int16, 8000*800/1000))

// screeningAnnouncement is what the forwarded leg hears: the parts named by
// screeningParts, a pause, and the parts again (the screening timeout starts
// when it ends).
func (a *Apps) screeningAnnouncement(domain, number string) *media.Sequence {
	names := screeningParts(a.prompts, domain, number)
	parts := make([]*media.Prompt, 0, 2*len(names)+1)
	for _, name := range names {
		p, ok := a.prompts.Get(name)
		if !ok { // a built-in: cannot happen
			a.log.Warn("screening prompt missing", "prompt", name)
		}
		parts = append(parts, p) // NewSequence leaves nil out
	}
	parts = append(parts, screeningPause)
	return media.NewSequence(append(parts, parts[:len(names)]...)...)
}

// screeningParts names the prompts of the screening announcement, in order:
//
//   - "call-for" and "tenant-<domain>" when the prompts folder has a
//     recording of the tenant's name (tenant-acme.example.wav), else
//     "you-have-a-call";
//   - "from" and "digit-0".."digit-9" for each digit of the caller's number,
//     when known (number is digits only, as sip.Screened carries it);
//   - "press-1" ("Press 1 to accept, or hang up to decline.").
//
// A screening.wav in the prompts folder is played instead of all of it, as
// it was before the announcement had parts.
func screeningParts(prompts *media.Prompts, domain, number string) []string {
	if p, ok := prompts.Get("screening"); ok && p.Custom() {
		return []string{"screening"}
	}
	var names []string
	tenant := "tenant-" + strings.ToLower(domain)
	if _, ok := prompts.Get(tenant); ok && domain != "" {
		names = append(names, "call-for", tenant)
	} else {
		names = append(names, "you-have-a-call")
	}
	if number != "" {
		names = append(names, "from")
		for _, d := range number {
			names = append(names, "digit-"+string(d))
		}
	}
	return append(names, "press-1")
}
