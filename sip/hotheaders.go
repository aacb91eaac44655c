package sip

import (
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Headers every response carries, built once and shared. sipgo's generic
// header type is unexported, so nothing outside sipgo can change one after
// it is made: a single value may sit in any number of responses at once.
// This saves the allocations of a fresh header (and of formatting the date)
// on every REGISTER and OPTIONS answered.

// sharedHeader caches one header whose value changes rarely.
type sharedHeader struct{ h atomic.Pointer[sip.Header] }

// get returns a header name: value, rebuilt only when value differs from
// the cached one (a test may change the configured value after start).
func (c *sharedHeader) get(name, value string) sip.Header {
	if p := c.h.Load(); p != nil && (*p).Value() == value {
		return *p
	}
	h := sip.NewHeader(name, value)
	c.h.Store(&h)
	return h
}

// dateHeader is the Date header of RFC 3261 §20.17, one per second.
type dateHeader struct{ cur atomic.Pointer[datedHeader] }

type datedHeader struct {
	sec int64
	h   sip.Header
}

func (d *dateHeader) get(now time.Time) sip.Header {
	sec := now.Unix()
	if p := d.cur.Load(); p != nil && p.sec == sec {
		return p.h
	}
	p := &datedHeader{sec: sec, h: sip.NewHeader("Date", now.UTC().Format(time.RFC1123))}
	d.cur.Store(p)
	return p.h
}
