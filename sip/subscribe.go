package sip

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchboard/switchboard/dialplan"
)

// SUBSCRIBE/NOTIFY (RFC 6665) for the event packages switchboard serves as a
// notifier: each package registers an EventPackage (HandleEvent); this file
// owns what they share — dispatch by the Event header (489 for a package
// nobody serves), digest authentication like REGISTER (401), expiry and
// refresh, Expires: 0 to unsubscribe, and the NOTIFYs themselves, sent in
// order per subscription over the flow the SUBSCRIBE came from.
//
//	SUBSCRIBE → Event known? (489) → tenant of the From domain (403)
//	          → digest (401) → new: Resource → key (404/403), 200 + NOTIFY
//	                           refresh (To tag): same dialog (481), 200 + NOTIFY
//	change   → Notify(package, key, change) → a NOTIFY to every subscription
//	           of that key held by this instance
//
// Subscriptions live in this instance's memory and are not shared: the
// phone refreshes them, and after a restart it gets 481 and subscribes
// again. Packages that must see changes made on other instances (dialog,
// blf.go) carry them over their own pub/sub.

// EventPackage is one event package served to SUBSCRIBE requests.
type EventPackage struct {
	// Name is the Event header token, e.g. "dialog" or "message-summary".
	Name string
	// ContentType is the NOTIFY body type, e.g. "application/dialog-info+xml".
	ContentType string
	// DefaultExpires applies when the SUBSCRIBE has no Expires (0 = 1 h).
	DefaultExpires time.Duration
	// Resource maps the subscribed user part (Request-URI) of an
	// authenticated subscriber's tenant to the key changes are announced
	// under; code != 0 refuses the subscription with that status.
	Resource func(ctx context.Context, view *dialplan.View, subscriber *dialplan.User, target string) (key string, code int)
	// Body renders a NOTIFY body: the resource's state, with change (what
	// Notify was given; nil for the first NOTIFY and refreshes).
	Body func(ctx context.Context, sub Subscription, change any) ([]byte, error)
}

// Subscription is what an EventPackage sees of one subscription.
type Subscription struct {
	Package    string
	Key        string // from Resource
	Tenant     string
	Subscriber string // user id
	Target     string // the subscribed user part as sent
	// Version counts the NOTIFYs rendered for this subscription, from 0
	// (RFC 4235's version attribute).
	Version uint32
}

// HandleEvent registers an event package. Call it before Serve.
func (s *Server) HandleEvent(p EventPackage) {
	if p.DefaultExpires == 0 {
		p.DefaultExpires = time.Hour
	}
	s.subs.mu.Lock()
	defer s.subs.mu.Unlock()
	if s.subs.pkgs == nil {
		s.subs.pkgs = map[string]*EventPackage{}
	}
	s.subs.pkgs[p.Name] = &p
}

// Notify sends a NOTIFY, rendered with change, to every subscription of
// (package, key) this instance holds. It does not block on the network.
func (s *Server) Notify(ctx context.Context, pkg, key string, change any) {
	for _, sub := range s.subs.of(pkg, key) {
		s.queueNotify(ctx, sub, change, false)
	}
}

// subscription is one subscription dialog we are the notifier of.
type subscription struct {
	pkg      *EventPackage
	info     Subscription // Version guarded by mu
	callID   string
	ourTag   string // our tag: To of the 200, From of our NOTIFYs
	peerTag  string
	ourURI   sip.Uri // the subscribed resource (To of the SUBSCRIBE)
	peerURI  sip.Uri // the subscriber (From of the SUBSCRIBE)
	target   sip.Uri // the subscriber's Contact
	dest     string  // its flow
	tp       string
	eventHdr string // the Event header value, id parameter included

	mu      sync.Mutex
	expires time.Time
	cseq    uint32
	queue   []*sip.Request // NOTIFYs waiting to be sent, in order
	sending bool           // a sender goroutine is draining queue
	gone    bool           // removed; nothing more is queued
}

// subscriptions is the table of live subscriptions.
type subscriptions struct {
	mu       sync.Mutex
	pkgs     map[string]*EventPackage
	byKey    map[string]map[*subscription]struct{} // package+"\x00"+key
	byDialog map[string]*subscription              // Call-ID+"\x00"+our tag
	active   *prometheus.GaugeVec
	senders  sync.WaitGroup
	closed   bool
}

func newSubscriptions(reg prometheus.Registerer) *subscriptions {
	return &subscriptions{
		byKey: map[string]map[*subscription]struct{}{}, byDialog: map[string]*subscription{},
		active: promauto.With(reg).NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_sip_subscriptions_active",
			Help: "SUBSCRIBE dialogs this instance is the notifier of, by event package.",
		}, []string{"event"}),
	}
}

func (t *subscriptions) pkg(name string) *EventPackage {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pkgs[name]
}

func (t *subscriptions) names() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for n := range t.pkgs {
		out = append(out, n)
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

func (t *subscriptions) of(pkg, key string) []*subscription {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*subscription
	for sub := range t.byKey[pkg+"\x00"+key] {
		out = append(out, sub)
	}
	return out
}

func (t *subscriptions) add(sub *subscription) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := sub.info.Package + "\x00" + sub.info.Key
	if t.byKey[k] == nil {
		t.byKey[k] = map[*subscription]struct{}{}
	}
	t.byKey[k][sub] = struct{}{}
	t.byDialog[sub.callID+"\x00"+sub.ourTag] = sub
	t.active.WithLabelValues(sub.info.Package).Inc()
}

func (t *subscriptions) remove(sub *subscription) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := sub.info.Package + "\x00" + sub.info.Key
	if _, ok := t.byKey[k][sub]; !ok {
		return
	}
	delete(t.byKey[k], sub)
	if len(t.byKey[k]) == 0 {
		delete(t.byKey, k)
	}
	delete(t.byDialog, sub.callID+"\x00"+sub.ourTag)
	t.active.WithLabelValues(sub.info.Package).Dec()
	sub.mu.Lock()
	sub.gone = true
	sub.mu.Unlock()
}

func (t *subscriptions) dialog(callID, ourTag string) *subscription {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byDialog[callID+"\x00"+ourTag]
}

// expire drops subscriptions past their expiry (the minute sweep in Serve):
// a phone that stopped refreshing gets no more NOTIFYs.
func (t *subscriptions) expire(now time.Time) {
	t.mu.Lock()
	var old []*subscription
	for _, sub := range t.byDialog {
		sub.mu.Lock()
		if !now.Before(sub.expires) {
			old = append(old, sub)
		}
		sub.mu.Unlock()
	}
	t.mu.Unlock()
	for _, sub := range old {
		t.remove(sub)
	}
}

// close stops new NOTIFYs and waits up to d for those being sent.
func (t *subscriptions) close(d time.Duration) {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	done := make(chan struct{})
	go func() { t.senders.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// eventName returns an Event header's package token and the whole value.
func eventName(req *sip.Request) (string, string) {
	h := header(req, "Event")
	if h == nil {
		return "", ""
	}
	v := strings.TrimSpace(h.Value())
	name, _, _ := strings.Cut(v, ";")
	return strings.ToLower(strings.TrimSpace(name)), v
}

// subscribe handles SUBSCRIBE: new subscriptions, refreshes and Expires: 0.
func (s *Server) subscribe(ctx context.Context, req *sip.Request, tx sip.ServerTransaction) {
	name, event := eventName(req)
	p := s.subs.pkg(name)
	if p == nil {
		s.reply(tx, req, 489, "Bad Event", sip.NewHeader("Allow-Events", s.subs.names()))
		return
	}
	view, err := s.tenant(ctx, req.From().Address.Host)
	if errors.Is(err, dialplan.ErrNotFound) {
		s.reply(tx, req, 403, "Forbidden")
		return
	}
	if err != nil {
		s.storeError(tx, req, "tenant", err)
		return
	}
	user, ok := s.authenticate(req, tx, view, authWWW)
	if !ok {
		return
	}
	expires, code, hdr := s.subscribeExpires(req, p)
	if code != 0 {
		s.reply(tx, req, code, statusText(code), hdr...)
		return
	}
	if tag := tagOf(req.To().Params); tag != "" {
		s.refreshSubscription(ctx, req, tx, tag, user, expires)
		return
	}
	contact := req.Contact()
	if contact == nil {
		s.reply(tx, req, 400, "Missing Contact")
		return
	}
	key, code := p.Resource(ctx, view, user, req.Recipient.User)
	if code != 0 {
		s.reply(tx, req, code, statusText(code))
		return
	}
	sub := &subscription{
		pkg: p,
		info: Subscription{Package: p.Name, Key: key, Tenant: view.Tenant.Domain, Subscriber: user.ID,
			Target: req.Recipient.User},
		callID: req.CallID().Value(), ourTag: sip.GenerateTagN(10), peerTag: tagOf(req.From().Params),
		ourURI: *req.To().Address.Clone(), peerURI: *req.From().Address.Clone(),
		target: *contact.Address.Clone(), dest: req.Source(), tp: req.Transport(), eventHdr: event,
		expires: time.Now().Add(expires),
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.To().Params.Add("tag", sub.ourTag)
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	res.AppendHeader(s.b2b.contact(req.Transport()))
	if expires > 0 {
		s.subs.add(sub)
	}
	s.send(tx, req, res)
	// The first NOTIFY follows the 200 at once (RFC 6665 §4.2.1.2); with
	// Expires: 0 (a fetch) it is also the last.
	s.queueNotify(ctx, sub, nil, expires == 0)
}

func (s *Server) refreshSubscription(ctx context.Context, req *sip.Request, tx sip.ServerTransaction, tag string, user *dialplan.User, expires time.Duration) {
	sub := s.subs.dialog(req.CallID().Value(), tag)
	if sub == nil || sub.info.Subscriber != user.ID || sub.peerTag != tagOf(req.From().Params) {
		s.reply(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	sub.mu.Lock()
	sub.expires = time.Now().Add(expires)
	sub.mu.Unlock()
	if expires == 0 {
		s.subs.remove(sub)
	}
	s.reply(tx, req, 200, "OK", sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	s.queueNotify(ctx, sub, nil, expires == 0)
}

// subscribeExpires resolves the requested duration within the registrar's
// bounds: 423 below the minimum (0 excepted), the maximum above it.
func (s *Server) subscribeExpires(req *sip.Request, p *EventPackage) (time.Duration, int, []sip.Header) {
	d := p.DefaultExpires
	if h := header(req, "Expires"); h != nil {
		n, err := strconv.Atoi(strings.TrimSpace(h.Value()))
		if err != nil || n < 0 {
			return 0, 400, nil
		}
		d = time.Duration(n) * time.Second
	}
	if d > 0 && d < s.cfg.MinExpires {
		return 0, 423, []sip.Header{sip.NewHeader("Min-Expires", strconv.Itoa(int(s.cfg.MinExpires/time.Second)))}
	}
	return min(d, s.cfg.MaxExpires), 0, nil
}

// queueNotify renders a NOTIFY now, so it carries the state of this moment,
// and queues it behind the subscription's earlier ones.
func (s *Server) queueNotify(ctx context.Context, sub *subscription, change any, final bool) {
	sub.mu.Lock()
	if sub.gone && !final {
		sub.mu.Unlock()
		return
	}
	info := sub.info
	sub.info.Version++
	left := time.Until(sub.expires)
	sub.mu.Unlock()
	body, err := sub.pkg.Body(ctx, info, change)
	if err != nil {
		s.log.Warn("notify body failed", "event", info.Package, "error", err)
		return
	}
	state := "active;expires=" + strconv.Itoa(max(int(left/time.Second), 1))
	if final {
		state = "terminated;reason=timeout"
	}
	r := sip.NewRequest(sip.NOTIFY, *sub.target.Clone())
	r.AppendHeader(&sip.FromHeader{Address: *sub.ourURI.Clone(), Params: sip.HeaderParams{{K: "tag", V: sub.ourTag}}})
	r.AppendHeader(&sip.ToHeader{Address: *sub.peerURI.Clone(), Params: sip.HeaderParams{{K: "tag", V: sub.peerTag}}})
	cid := sip.CallIDHeader(sub.callID)
	r.AppendHeader(&cid)
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	r.AppendHeader(sip.NewHeader("Event", sub.eventHdr))
	r.AppendHeader(sip.NewHeader("Subscription-State", state))
	r.AppendHeader(s.b2b.contact(sub.tp))
	r.AppendHeader(sip.NewHeader("Content-Type", sub.pkg.ContentType))
	r.SetBody(body)
	r.SetTransport(strings.ToUpper(sub.tp))
	r.SetDestination(sub.dest)

	s.subs.mu.Lock()
	if s.subs.closed {
		s.subs.mu.Unlock()
		return
	}
	sub.mu.Lock()
	sub.queue = append(sub.queue, r)
	start := !sub.sending
	sub.sending = true
	if start {
		s.subs.senders.Add(1) // under subs.mu, so never after close's Wait began
	}
	sub.mu.Unlock()
	s.subs.mu.Unlock()
	if start {
		go s.sendNotifies(sub)
	}
}

// sendNotifies drains a subscription's queue, one NOTIFY transaction at a
// time so CSeq and version arrive in order. One goroutine per subscription
// with NOTIFYs pending, none while idle.
func (s *Server) sendNotifies(sub *subscription) {
	defer s.subs.senders.Done()
	for {
		sub.mu.Lock()
		if len(sub.queue) == 0 {
			sub.sending = false
			sub.mu.Unlock()
			return
		}
		r := sub.queue[0]
		sub.queue = sub.queue[1:]
		sub.cseq++
		r.AppendHeader(&sip.CSeqHeader{SeqNo: sub.cseq, MethodName: sip.NOTIFY})
		sub.mu.Unlock()
		code, err := s.notifyOnce(r)
		if err != nil || code == 481 || code == 404 || code == 408 {
			// The subscriber is gone (RFC 6665 §4.2.2): stop notifying it.
			s.log.Debug("subscription dropped", "event", sub.info.Package, "code", code, "error", err)
			s.subs.remove(sub)
			sub.mu.Lock()
			sub.queue, sub.sending = nil, false
			sub.mu.Unlock()
			return
		}
	}
}

// notifyTimeout bounds one NOTIFY transaction (Timer F is 32 s).
const notifyTimeout = 35 * time.Second

func (s *Server) notifyOnce(r *sip.Request) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
	defer cancel()
	tx, err := s.client.TransactionRequest(ctx, r, sipgo.ClientRequestAddVia)
	if err != nil {
		return 0, fmt.Errorf("notify %s: %w", r.Destination(), err)
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.StatusCode >= 200 {
				return res.StatusCode, nil
			}
		case <-tx.Done():
			return 408, nil
		case <-ctx.Done():
			return 408, nil
		}
	}
}
