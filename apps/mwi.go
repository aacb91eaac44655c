package apps

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/mailbox"
	"github.com/switchboard/switchboard/routing"
	"github.com/switchboard/switchboard/sip"
)

// EventMessageSummary is the RFC 3842 event package of message-waiting
// lamps.
const EventMessageSummary = "message-summary"

// Notifier sends NOTIFYs to an event package's subscriptions (sip.Server).
type Notifier interface {
	Notify(ctx context.Context, pkg, key string, change any)
	Subscriptions(pkg string) int
}

// MWI keeps message-waiting lamps current: it serves SUBSCRIBE Event:
// message-summary through sip's event package registry, and turns every
// mailbox change the store announces — from this instance or another, from
// a call or the API — into NOTIFYs for the users who see that mailbox: its
// owner, or a shared mailbox's notify list. A user's lamp counts its own
// mailbox and every shared one it is notified of.
type MWI struct {
	dir     dialplan.Reader
	mail    mailbox.Store
	log     *slog.Logger
	changes chan mailbox.Box
	n       Notifier
	dev     Devices // set by Unsolicited
}

// Devices sends NOTIFYs outside any subscription (sip.Server).
type Devices interface {
	HasSubscription(pkg, key string) bool
	NotifyDevices(ctx context.Context, tenant, user, pkg, contentType string, body []byte) int
}

// Unsolicited makes every mailbox change also send an unsolicited NOTIFY
// to the registered devices of each user who sees that mailbox but has no
// message-summary subscription here (voicemail.unsolicited_mwi): phones
// configured to light their lamp without subscribing. Call before Run.
func (m *MWI) Unsolicited(d Devices) { m.dev = d }

// NewMWI returns the lamps of dir's users over mail; Attach connects it to
// sip, Run delivers the changes.
func NewMWI(dir dialplan.Reader, mail mailbox.Store, log *slog.Logger) *MWI {
	if log == nil {
		log = slog.Default()
	}
	m := &MWI{dir: dir, mail: mail, log: log, changes: make(chan mailbox.Box, 1024)}
	mail.Watch(func(b mailbox.Box) {
		select {
		case m.changes <- b:
		default:
			m.log.Warn("voicemail change dropped: MWI queue full", "tenant", b.Tenant)
		}
	})
	return m
}

// Attach registers the event package on srv and the
// switchboard_mwi_subscriptions_active gauge on reg. Call before Serve.
func (m *MWI) Attach(srv interface {
	Notifier
	HandleEvent(sip.EventPackage)
}, reg prometheus.Registerer) {
	m.n = srv
	srv.HandleEvent(sip.EventPackage{
		Name:        EventMessageSummary,
		ContentType: "application/simple-message-summary",
		Resource:    m.resource,
		Body:        m.body,
	})
	promauto.With(reg).NewGaugeFunc(prometheus.GaugeOpts{
		Name: "switchboard_mwi_subscriptions_active",
		Help: "message-summary (MWI) subscriptions this instance notifies.",
	}, func() float64 { return float64(srv.Subscriptions(EventMessageSummary)) })
}

// Run turns mailbox changes into NOTIFYs until ctx ends.
func (m *MWI) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case b := <-m.changes:
			m.changed(ctx, b)
		}
	}
}

func (m *MWI) changed(ctx context.Context, b mailbox.Box) {
	if m.n == nil {
		return
	}
	for _, id := range m.watchers(ctx, b) {
		key := b.Tenant + "/" + id
		m.n.Notify(ctx, EventMessageSummary, key, nil)
		if m.dev != nil && !m.dev.HasSubscription(EventMessageSummary, key) {
			m.unsolicited(ctx, b.Tenant, id)
		}
	}
}

// unsolicited sends a user's lamp state to its registered devices. The
// Message-Account is the user's first extension (what *97 reaches), else
// its id.
func (m *MWI) unsolicited(ctx context.Context, tenant, id string) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	view, err := m.dir.Tenant(ctx, tenant)
	if err != nil {
		m.log.Warn("unsolicited MWI: tenant lookup failed", "tenant", tenant, "error", err)
		return
	}
	u, ok := view.User(id)
	if !ok {
		return
	}
	c, err := m.Counts(ctx, view, id)
	if err != nil {
		m.log.Warn("unsolicited MWI: counts failed", "tenant", tenant, "error", err)
		return
	}
	account := id
	if len(u.Extensions) > 0 {
		account = u.Extensions[0]
	}
	m.dev.NotifyDevices(ctx, tenant, id, EventMessageSummary, "application/simple-message-summary",
		Summary(c, "sip:"+account+"@"+tenant))
}

// watchers are the users whose lamp shows mailbox b.
func (m *MWI) watchers(ctx context.Context, b mailbox.Box) []string {
	owner, id, _ := strings.Cut(b.Name, ":")
	if owner == routing.MailboxUser {
		return []string{id}
	}
	view, err := m.dir.Tenant(ctx, b.Tenant)
	if err != nil {
		return nil
	}
	if mb, ok := view.Mailbox(id); ok {
		return mb.Notify
	}
	return nil
}

// resource accepts a subscription to the subscriber's own user (by id,
// extension or alias): 403 for anyone else's, 404 for no such user.
func (m *MWI) resource(_ context.Context, view *dialplan.View, subscriber *dialplan.User, target string) (string, int) {
	e, ok := view.Lookup(target)
	switch {
	case !ok || e.User == nil:
		return "", 404
	case e.User.ID != subscriber.ID:
		return "", 403
	}
	return view.Tenant.Domain + "/" + subscriber.ID, 0
}

// Counts returns what a user's lamp shows: its own mailbox plus the shared
// ones it is notified of.
func (m *MWI) Counts(ctx context.Context, view *dialplan.View, userID string) (mailbox.Counts, error) {
	var total mailbox.Counts
	boxes := []string{routing.Mailbox{Owner: routing.MailboxUser, ID: userID}.String()}
	for _, mb := range view.Tenant.Mailboxes {
		for _, n := range mb.Notify {
			if n == userID {
				boxes = append(boxes, routing.Mailbox{Owner: routing.MailboxShared, ID: mb.ID}.String())
			}
		}
	}
	for _, name := range boxes {
		msgs, err := m.mail.List(ctx, mailbox.Box{Tenant: view.Tenant.Domain, Name: name})
		if err != nil {
			return total, err
		}
		c := mailbox.CountsOf(msgs)
		total.New += c.New
		total.Old += c.Old
	}
	return total, nil
}

// body renders the RFC 3842 summary of the subscriber's lamp.
func (m *MWI) body(ctx context.Context, sub sip.Subscription, _ any) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	view, err := m.dir.Tenant(ctx, sub.Tenant)
	if err != nil {
		return nil, fmt.Errorf("mwi tenant %s: %w", sub.Tenant, err)
	}
	c, err := m.Counts(ctx, view, sub.Subscriber)
	if err != nil && !errors.Is(err, context.Canceled) {
		return nil, fmt.Errorf("mwi counts: %w", err)
	}
	return Summary(c, "sip:"+sub.Target+"@"+sub.Tenant), nil
}

// Summary is an application/simple-message-summary body (RFC 3842 §5).
func Summary(c mailbox.Counts, account string) []byte {
	waiting := "no"
	if c.New > 0 {
		waiting = "yes"
	}
	return fmt.Appendf(nil, "Messages-Waiting: %s\r\nMessage-Account: %s\r\nVoice-Message: %d/%d\r\n", waiting, account, c.New, c.Old)
}
