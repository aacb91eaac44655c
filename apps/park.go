package apps

import (
	"strconv"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/media"
	"github.com/switchboard/switchboard/sip"
)

var _ sip.ParkAnnouncer = (*Apps)(nil)

// ParkAnnouncement tells a parked caller its slot, digit by digit with the
// digit prompts the screening announcement uses ("7", "0", "1"), so the
// parker who transferred it there hears it too when still listening.
func (a *Apps) ParkAnnouncement(_ *dialplan.View, slot int) media.Source {
	var parts []*media.Prompt
	for _, d := range strconv.Itoa(slot) {
		if p, ok := a.prompts.Get("digit-" + string(d)); ok {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return media.NewSequence(parts...)
}
