package sip

import (
	"context"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Unsolicited NOTIFYs, for phones that show an event's state without
// subscribing to it: many desk phones light their message-waiting lamp from
// a message-summary NOTIFY that arrives outside any subscription (RFC 3842
// §3 allows a phone to be configured that way). They are sent to the flows
// this instance holds; every instance hears the same change and covers its
// own.

// HasSubscription reports whether this instance has a live subscription to
// event package pkg for key (EventPackage.Resource's key).
func (s *Server) HasSubscription(pkg, key string) bool {
	for _, sub := range s.subs.of(pkg, key) {
		sub.mu.Lock()
		gone := sub.gone
		sub.mu.Unlock()
		if !gone {
			return true
		}
	}
	return false
}

// NotifyDevices sends an out-of-dialog NOTIFY (Event: pkg, the body given)
// to every device registered for the user id of tenant whose flow this
// instance holds, and returns how many it sent. It does not wait for their
// answers: each transaction runs on its own goroutine, bounded like the
// subscriptions' NOTIFYs and waited for at shutdown.
func (s *Server) NotifyDevices(ctx context.Context, tenant, user, pkg, contentType string, body []byte) int {
	aor := user + "@" + strings.ToLower(tenant)
	sent := 0
	for _, b := range s.contacts(ctx, aor) {
		if b.Instance != "" && b.Instance != s.instance {
			continue // that instance notifies it
		}
		var target sip.Uri
		if err := sip.ParseUri(b.Contact, &target); err != nil {
			continue
		}
		transport := strings.ToLower(b.Transport)
		if transport == "" {
			transport = "udp"
		}
		id := sip.Uri{Scheme: "sip", User: user, Host: strings.ToLower(tenant)}
		r := sip.NewRequest(sip.NOTIFY, target)
		r.AppendHeader(&sip.FromHeader{Address: id, Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(16)}}})
		r.AppendHeader(&sip.ToHeader{Address: id, Params: sip.NewParams()})
		cid := sip.CallIDHeader("mwi-" + sip.GenerateTagN(20))
		r.AppendHeader(&cid)
		r.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.NOTIFY})
		mf := sip.MaxForwardsHeader(70)
		r.AppendHeader(&mf)
		r.AppendHeader(sip.NewHeader("Event", pkg))
		// No subscription exists; "active" is what phones configured for
		// unsolicited MWI accept (a terminated state makes some drop it).
		r.AppendHeader(sip.NewHeader("Subscription-State", "active"))
		r.AppendHeader(s.b2b.contact(transport))
		r.AppendHeader(sip.NewHeader("Content-Type", contentType))
		r.SetBody(body)
		r.SetTransport(strings.ToUpper(transport))
		r.SetDestination(b.Source)

		s.subs.mu.Lock()
		if s.subs.closed {
			s.subs.mu.Unlock()
			return sent
		}
		s.subs.senders.Add(1) // under subs.mu, so never after close's Wait began
		s.subs.mu.Unlock()
		go func() {
			defer s.subs.senders.Done()
			if code, err := s.notifyOnce(r); err != nil || code >= 300 {
				s.log.Debug("unsolicited NOTIFY not taken", "event", pkg, "code", code, "error", err)
			}
		}()
		sent++
	}
	return sent
}
