package apps

import (
	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/media"
	"github.com/switchboard/switchboard/sip"
)

var _ sip.HoldMusic = (*Apps)(nil)

// HoldMusic is the tenant's music on hold, looped: its moh prompt from the
// prompts folder, else the built-in loop (media.HoldLoop). A prompt the
// folder does not have falls back to the built-in loop with a warning, so a
// typo never leaves a held caller in silence.
func (a *Apps) HoldMusic(view *dialplan.View) media.Source {
	if view == nil || view.Tenant.MOH == nil || view.Tenant.MOH.Prompt == "" {
		return media.Loop(media.HoldLoop())
	}
	name := view.Tenant.MOH.Prompt
	if p, ok := a.prompts.Get(name); ok {
		return media.Loop(p)
	}
	a.log.Warn("music-on-hold prompt not found; using the built-in loop", "tenant", view.Tenant.Domain, "prompt", name)
	return media.Loop(media.HoldLoop())
}

// waitSource is what an attendant's caller hears while the chosen target
// rings: ringback, or with wait: music the tenant's music on hold.
func (a *Apps) waitSource(view *dialplan.View, menu *dialplan.Attendant) media.Source {
	if menu != nil && menu.Wait == dialplan.WaitMusic {
		return a.HoldMusic(view)
	}
	return media.Ringback
}
