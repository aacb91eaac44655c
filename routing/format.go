package routing

import (
	"strconv"
	"strings"
	"time"
)

// String writes the outcomes as "no-answer|busy|unavailable|declined", or
// "none".
func (o Outcome) String() string {
	if o == 0 {
		return "none"
	}
	var b strings.Builder
	for _, x := range [...]struct {
		o    Outcome
		name string
	}{{NoAnswer, "no-answer"}, {Busy, "busy"}, {Unavailable, "unavailable"}, {Declined, "declined"}} {
		if o.Has(x.o) {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(x.name)
		}
	}
	return b.String()
}

// String writes the caller ID as `"Name" <number>`, or "-" when zero.
func (c CallerID) String() string {
	if c == (CallerID{}) {
		return "-"
	}
	return strconv.Quote(c.Name) + " <" + c.Number + ">"
}

// String writes the plan on several lines, one per step (a Ring's contacts
// indented below it), for logs and golden files:
//
//	kind user, caller-id "Bob Brown" <7002>
//	1. ring 20s, continue on no-answer|unavailable
//	     alice@acme.example sip:alice@192.0.2.10:5060
//	2. reject 480 Temporarily Unavailable
func (p Plan) String() string {
	var b strings.Builder
	b.WriteString("kind " + p.Kind + ", caller-id " + p.CallerID.String() + "\n")
	for i, s := range p.Steps {
		b.WriteString(strconv.Itoa(i+1) + ". ")
		switch s := s.(type) {
		case Ring:
			b.WriteString("ring " + timeout(s.Timeout) + ", continue on " + s.ContinueOn.String() + "\n")
			for _, c := range s.Contacts {
				b.WriteString("     " + c.AOR + " " + c.Binding.Contact + "\n")
			}
		case Forward:
			b.WriteString("forward " + s.Number + " via " + s.Trunk + ", reason " + s.Reason +
				", diverted by " + s.DivertedBy + ", screening " + strconv.FormatBool(s.Screening) +
				", timeout " + forwardTimeout(s.Timeout) + ", caller-id " + s.CallerID.String() +
				", continue on " + s.ContinueOn.String() + "\n")
		case Attendant:
			b.WriteString("attendant " + s.ID + "\n")
		case Outbound:
			b.WriteString("outbound " + s.Number + " via " + s.Trunk + ", caller-id " + s.CallerID.String() + "\n")
		case Reject:
			b.WriteString("reject " + strconv.Itoa(s.Code) + " " + s.Reason + "\n")
		default:
			b.WriteString("unknown step\n")
		}
	}
	return b.String()
}

func timeout(d time.Duration) string {
	if d == 0 {
		return "until cancelled"
	}
	return d.String()
}

func forwardTimeout(d time.Duration) string {
	if d == 0 {
		return "carrier's"
	}
	return d.String()
}
