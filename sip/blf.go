package sip

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/dialplan"
)

// Busy lamp fields: the dialog event package (RFC 4235). A phone subscribes
// to a colleague's extension (Event: dialog) and gets a NOTIFY with
// application/dialog-info+xml whenever a call of that user — on any of its
// devices, caller or callee — goes early (ringing), confirmed (talking) or
// terminated. The states come from the proxy's own call handling:
//
//	first 18x from a branch of the user    → early (recipient); caller early (initiator)
//	2xx                                    → confirmed for both; the other users rung → terminated
//	no answer / cancel / failure           → terminated for every user reported early
//	BYE (or max call age)                  → terminated for both
//
// Each change is applied here and published on the location store's
// pub/sub (Redis, when configured) so subscriptions held by other
// instances hear of calls this one carries; the in-memory table of live
// dialogs per user is fed by both, so a new subscription's first NOTIFY
// already shows calls up on other instances (those announced since this
// instance started).

// Bus carries call-state changes between instances sharing a store; the
// Redis location store implements it.
type Bus interface {
	Publish(ctx context.Context, channel string, msg []byte) error
	Listen(ctx context.Context, channel string, fn func([]byte)) error
}

const (
	dialogPackage = "dialog"
	dialogInfoXML = "application/dialog-info+xml"
	blfChannel    = "blf"
)

// dialogEvent is one state change of one user's dialog.
type dialogEvent struct {
	Origin    string `json:"o"`
	Key       string `json:"k"` // tenant "/" user id
	ID        string `json:"id"`
	State     string `json:"s"` // early | confirmed | terminated
	Direction string `json:"d"` // initiator | recipient
	Remote    string `json:"r"` // the other party's URI
}

// blf is the dialog package's state and its cross-instance feed.
type blf struct {
	s   *Server
	bus Bus // nil: this instance alone
	out chan []byte

	mu   sync.Mutex
	live map[string]map[string]dialogEvent // key -> dialog id -> latest state
}

func newBLF(s *Server, bus Bus) *blf {
	b := &blf{s: s, bus: bus, live: map[string]map[string]dialogEvent{}, out: make(chan []byte, 1024)}
	s.HandleEvent(EventPackage{
		Name: dialogPackage, ContentType: dialogInfoXML,
		Resource: b.resource, Body: b.body,
	})
	return b
}

// start runs the publisher and the listener until ctx ends; the returned
// func stops them and waits.
func (b *blf) start(ctx context.Context) func() {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if b.bus != nil {
		wg.Add(2)
		go func() {
			defer wg.Done()
			b.bus.Listen(ctx, blfChannel, b.received)
		}()
		go func() {
			defer wg.Done()
			b.publisher(ctx)
		}()
	}
	return func() { cancel(); wg.Wait() }
}

// publisher sends queued changes to the bus, so a slow Redis never holds up
// the call that changed state.
func (b *blf) publisher(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case msg := <-b.out:
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			if err := b.bus.Publish(pctx, blfChannel, msg); err != nil {
				b.s.log.Debug("blf publish failed", "error", err)
			}
			cancel()
		}
	}
}

func (b *blf) received(msg []byte) {
	var ev dialogEvent
	if json.Unmarshal(msg, &ev) != nil || ev.Key == "" || ev.Origin == b.s.instance {
		return
	}
	b.apply(ev)
}

// report announces a change here and to the other instances.
func (b *blf) report(ev dialogEvent) {
	ev.Origin = b.s.instance
	b.apply(ev)
	if b.bus == nil {
		return
	}
	msg, _ := json.Marshal(ev)
	select {
	case b.out <- msg:
	default:
		b.s.log.Warn("blf publish queue full; change not shared", "state", ev.State)
	}
}

func (b *blf) apply(ev dialogEvent) {
	b.mu.Lock()
	m := b.live[ev.Key]
	if ev.State == "terminated" {
		delete(m, ev.ID)
		if len(m) == 0 {
			delete(b.live, ev.Key)
		}
	} else {
		if m == nil {
			m = map[string]dialogEvent{}
			b.live[ev.Key] = m
		}
		m[ev.ID] = ev
	}
	b.mu.Unlock()
	// Most users' lamps are watched by nobody on this instance: their calls
	// then cost no context and timer (4–5 allocations per event, about 39
	// per proxied call with the From URI strings, in BenchmarkProxiedCall).
	subs := b.s.subs.of(dialogPackage, ev.Key)
	if len(subs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	for _, sub := range subs {
		b.s.queueNotify(ctx, sub, ev, false)
	}
}

// blfKey is the key of the user an AOR or user part belongs to ("" for
// groups and unknown names): an alias's calls light its owner's lamp.
func blfKey(view *dialplan.View, name string) string {
	e, ok := view.Lookup(name)
	if !ok || e.User == nil || (e.Kind != dialplan.EntryUser && e.Kind != dialplan.EntryAlias) {
		return ""
	}
	return view.Tenant.Domain + "/" + e.User.ID
}

func (b *blf) resource(_ context.Context, view *dialplan.View, _ *dialplan.User, target string) (string, int) {
	if k := blfKey(view, target); k != "" {
		return k, 0
	}
	return "", 404
}

// dialog-info+xml (RFC 4235 §4), full state every time: small, and a phone
// that missed a NOTIFY is right again with the next one.
type dialogInfo struct {
	XMLName xml.Name     `xml:"urn:ietf:params:xml:ns:dialog-info dialog-info"`
	Version uint32       `xml:"version,attr"`
	State   string       `xml:"state,attr"`
	Entity  string       `xml:"entity,attr"`
	Dialogs []dialogElem `xml:"dialog"`
}

type dialogElem struct {
	ID        string `xml:"id,attr"`
	Direction string `xml:"direction,attr,omitempty"`
	State     string `xml:"state"`
	Remote    *struct {
		Identity string `xml:"identity"`
	} `xml:"remote,omitempty"`
}

func (b *blf) body(_ context.Context, sub Subscription, change any) ([]byte, error) {
	b.mu.Lock()
	evs := make([]dialogEvent, 0, len(b.live[sub.Key])+1)
	for _, ev := range b.live[sub.Key] {
		evs = append(evs, ev)
	}
	b.mu.Unlock()
	slices.SortFunc(evs, func(x, y dialogEvent) int { return strings.Compare(x.ID, y.ID) })
	if ev, ok := change.(dialogEvent); ok && ev.State == "terminated" {
		evs = append(evs, ev) // the call that just ended, once, so the lamp goes out
	}
	return renderDialogInfo(sub.Version, "sip:"+sub.Target+"@"+hostOfKey(sub.Key), evs)
}

func renderDialogInfo(version uint32, entity string, evs []dialogEvent) ([]byte, error) {
	doc := dialogInfo{Version: version, State: "full", Entity: entity}
	for _, ev := range evs {
		el := dialogElem{ID: ev.ID, Direction: ev.Direction, State: ev.State}
		if ev.Remote != "" {
			el.Remote = &struct {
				Identity string `xml:"identity"`
			}{ev.Remote}
		}
		doc.Dialogs = append(doc.Dialogs, el)
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", " ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	buf.WriteString("\n")
	return buf.Bytes(), nil
}

func hostOfKey(key string) string {
	host, _, _ := strings.Cut(key, "/")
	return host
}

// dialogID names one user's side of one call without giving away the
// Call-ID (which with the tags would let a subscriber build a Replaces).
func dialogID(callID, key string) string {
	h := sha256.Sum256([]byte(callID + "\x00" + key))
	return hex.EncodeToString(h[:8])
}

// blfRinging reports early for the user a branch rings, and for the caller.
func (c *call) blfRinging(br *branch) {
	c.blfSet(c.blfCallee(br), "early", "recipient", c.blfFrom())
	c.blfSet(c.blfCaller(), "early", "initiator", c.blfDialled())
}

// blfAnswered reports confirmed for the answering user and the caller, and
// terminated for the users whose phones stopped ringing. It returns the
// confirmed events, which the dialog keeps until its BYE.
func (c *call) blfAnswered(br *branch) []dialogEvent {
	callee := c.blfCallee(br)
	for key, st := range c.blf {
		if key != callee && key != c.blfCaller() && st != "terminated" {
			c.blfSet(key, "terminated", "recipient", c.blfFrom())
		}
	}
	var out []dialogEvent
	if ev, ok := c.blfSet(callee, "confirmed", "recipient", c.blfFrom()); ok {
		out = append(out, ev)
	}
	if ev, ok := c.blfSet(c.blfCaller(), "confirmed", "initiator", c.blfDialled()); ok {
		out = append(out, ev)
	}
	return out
}

// blfEnded reports terminated for every user a call that never connected
// was reported for.
func (c *call) blfEnded() {
	for key, st := range c.blf {
		if st != "terminated" {
			c.blfSet(key, "terminated", "", "")
		}
	}
}

// blfHangup reports the end of a confirmed call.
func (s *Server) blfHangup(evs []dialogEvent) {
	for _, ev := range evs {
		ev.State = "terminated"
		s.blf.report(ev)
	}
}

func (c *call) blfSet(key, state, direction, remote string) (dialogEvent, bool) {
	if key == "" || c.blf[key] == state {
		return dialogEvent{}, false
	}
	if c.blf == nil {
		c.blf = map[string]string{}
	}
	c.blf[key] = state
	ev := dialogEvent{Key: key, ID: dialogID(c.req.CallID().Value(), key), State: state, Direction: direction, Remote: remote}
	c.s.blf.report(ev)
	return ev, true
}

func (c *call) blfCallee(br *branch) string {
	if br == nil || br.aor == "" {
		return ""
	}
	user, _, _ := strings.Cut(br.aor, "@")
	return blfKey(c.view, user)
}

// The caller's key, the dialled URI and the caller's From are the same for
// every event of a call: built once, on the call's goroutine (blfCache).

func (c *call) blfCaller() string {
	if !c.blfStr.caller.ok {
		c.blfStr.caller.ok = true
		if u := c.caller.Caller.User; u != nil {
			c.blfStr.caller.v = c.view.Tenant.Domain + "/" + u.ID
		}
	}
	return c.blfStr.caller.v
}

func (c *call) blfDialled() string {
	if !c.blfStr.dialled.ok {
		c.blfStr.dialled = lazyString{v: "sip:" + c.req.Recipient.User + "@" + c.view.Tenant.Domain, ok: true}
	}
	return c.blfStr.dialled.v
}

func (c *call) blfFrom() string {
	if !c.blfStr.from.ok {
		c.blfStr.from = lazyString{v: c.req.From().Address.String(), ok: true}
	}
	return c.blfStr.from.v
}

// blfCache holds a call's strings for its dialog events.
type blfCache struct{ caller, dialled, from lazyString }

type lazyString struct {
	v  string
	ok bool
}
