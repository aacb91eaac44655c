package routing

import (
	"time"

	"github.com/switchboard/switchboard/location"
)

// Plan is the ordered answer to "where does this call ring?". The proxy
// executes the steps in order; a step that ends without an answer moves on to
// the next one only for the outcomes its ContinueOn names, otherwise the call
// ends with that step's final response.
type Plan struct {
	// Kind labels the decision for metrics: user, alias, group, attendant,
	// outbound, emergency, forward, reject (the Kind constants). Never a
	// number or an id.
	Kind  string
	Steps []Step
	// CallerID is what the called parties see in From (display name and user
	// part). Zero means "leave the caller's From as it is".
	CallerID CallerID
}

// CallerID is a presented identity.
type CallerID struct {
	Name   string // display name; "" = none
	Number string // user part: an extension internally, E.164 towards a trunk
}

// Step is one thing the proxy does: Ring, Forward, Attendant, Outbound or Reject.
type Step interface{ step() }

// Outcome is how a step ended without an answer; steps continue on a set of them.
type Outcome uint8

// Outcomes of a step that did not connect the call.
const (
	NoAnswer    Outcome = 1 << iota // rang until the step's timeout
	Busy                            // 486/600 from every device that answered finally
	Unavailable                     // nobody registered, or every fork failed (408/480/5xx…)
	Declined                        // 603 and other rejections
)

// Has reports whether o contains x.
func (o Outcome) Has(x Outcome) bool { return o&x != 0 }

// Contact is one device to ring: a binding of an AOR.
type Contact struct {
	AOR     string // the AOR it was registered under (for logs and CDRs)
	Binding location.Binding
}

// Ring forks the call to every contact at once; the first 2xx wins.
type Ring struct {
	Contacts   []Contact
	Timeout    time.Duration // 0 = until the caller gives up
	ContinueOn Outcome
}

// Forward sends the call to an external number through a trunk.
type Forward struct {
	Trunk     string
	Number    string // E.164
	Screening bool   // press-1 screening of the forwarded leg
	// DivertedBy is the AOR number/extension of the user whose forward this is,
	// for Diversion (RFC 5806) and History-Info (RFC 7044).
	DivertedBy string
	Reason     string        // RFC 5806 diversion reason: unconditional, no-answer, user-busy, unavailable
	Timeout    time.Duration // 0 = the carrier's own
	ContinueOn Outcome
	// CallerID is what the forwarded leg presents towards the trunk. Zero
	// means the caller's From as received (calls from trunks); for calls from
	// users it is the user's outbound caller ID, since an extension means
	// nothing on the PSTN.
	CallerID CallerID
}

// RFC 5806 diversion reasons used in Forward.Reason.
const (
	ReasonUnconditional = "unconditional"
	ReasonNoAnswer      = "no-answer"
	ReasonUserBusy      = "user-busy"
	ReasonUnavailable   = "unavailable"
)

// Attendant answers the call with an auto-attendant menu.
type Attendant struct {
	ID string
}

// Outbound sends the call to the PSTN through a trunk.
type Outbound struct {
	Trunk    string
	Number   string // E.164, or an emergency short code as dialled
	CallerID CallerID
}

// Reject ends the call with a final response.
type Reject struct {
	Code   int
	Reason string
}

func (Ring) step()      {}
func (Forward) step()   {}
func (Attendant) step() {}
func (Outbound) step()  {}
func (Reject) step()    {}
