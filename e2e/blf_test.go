package e2e

import (
	"context"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// subscription is a SUBSCRIBE dialog a test phone holds.
type subscription struct {
	p      *peer
	req    *sip.Request // the initial SUBSCRIBE
	ok     *sip.Response
	cseq   uint32
	as     user
	target string
}

// subscribe sends SUBSCRIBE for target's event package from p (as u),
// answering the digest challenge, and returns the final response.
func (p *peer) subscribe(target, event string, u user, expires int) (*subscription, *sip.Response) {
	p.t.Helper()
	uri := sip.Uri{Scheme: "sip", User: target, Host: domain}
	req := sip.NewRequest(sip.SUBSCRIBE, uri)
	req.SetDestination(p.srv.Addr)
	req.SetTransport(p.transport)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: u.ext, Host: domain}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: uri, Params: sip.NewParams()})
	cid := sip.CallIDHeader(fmt.Sprintf("sub-%s-%s@e2e", p.name, token()))
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.SUBSCRIBE})
	req.AppendHeader(sip.NewHeader("Event", event))
	req.AppendHeader(sip.NewHeader("Accept", "application/dialog-info+xml"))
	req.AppendHeader(sip.NewHeader("Contact", "<"+p.contactURI(u.ext)+">"))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	s := &subscription{p: p, req: req, as: u, target: target, cseq: 1}
	res := s.send(req)
	s.ok = res
	return s, res
}

func (s *subscription) send(req *sip.Request) *sip.Response {
	s.p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := s.p.client.Do(ctx, req)
	if err == nil && res.StatusCode == 401 {
		res, err = s.p.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: s.as.ext, Password: s.as.password})
	}
	if err != nil {
		s.p.t.Fatalf("%s: SUBSCRIBE %s: %v", s.p.name, s.target, err)
	}
	s.cseq = req.CSeq().SeqNo
	return res
}

// refresh sends SUBSCRIBE in the subscription's dialog with Expires.
func (s *subscription) refresh(expires int) *sip.Response {
	s.p.t.Helper()
	r := sip.NewRequest(sip.SUBSCRIBE, *s.req.Recipient.Clone())
	r.SetDestination(s.p.srv.Addr)
	r.SetTransport(s.p.transport)
	r.AppendHeader(sip.HeaderClone(s.req.From()))
	r.AppendHeader(sip.HeaderClone(s.ok.To()))
	r.AppendHeader(sip.HeaderClone(s.req.CallID()))
	r.AppendHeader(&sip.CSeqHeader{SeqNo: s.cseq + 1, MethodName: sip.SUBSCRIBE})
	r.AppendHeader(sip.NewHeader("Event", header(s.req, "Event")))
	r.AppendHeader(sip.NewHeader("Contact", header(s.req, "Contact")))
	r.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	return s.send(r)
}

// notifies returns the dialog NOTIFYs of a subscription p received so far.
func (s *subscription) notifies() []*sip.Request {
	var out []*sip.Request
	for _, n := range s.p.requests(sip.NOTIFY) {
		if n.CallID().Value() == s.req.CallID().Value() {
			out = append(out, n)
		}
	}
	return out
}

type dialogInfo struct {
	Version int    `xml:"version,attr"`
	State   string `xml:"state,attr"`
	Entity  string `xml:"entity,attr"`
	Dialogs []struct {
		ID        string `xml:"id,attr"`
		Direction string `xml:"direction,attr"`
		State     string `xml:"state"`
		Remote    string `xml:"remote>identity"`
	} `xml:"dialog"`
}

func parseDialogInfo(t *testing.T, n *sip.Request) dialogInfo {
	t.Helper()
	if ct := header(n, "Content-Type"); ct != "application/dialog-info+xml" {
		t.Fatalf("NOTIFY Content-Type %q", ct)
	}
	var di dialogInfo
	if err := xml.Unmarshal(n.Body(), &di); err != nil {
		t.Fatalf("NOTIFY body: %v\n%s", err, n.Body())
	}
	return di
}

// lamp is what a BLF key would show after a NOTIFY: the states of its dialogs.
func lamp(di dialogInfo) string {
	var states []string
	for _, d := range di.Dialogs {
		states = append(states, d.State)
	}
	if len(states) == 0 {
		return "idle"
	}
	return strings.Join(states, "+")
}

// waitLamps waits until the subscription's NOTIFYs have shown every state
// of want in order (other NOTIFYs in between allowed) and returns them.
func (s *subscription) waitLamps(t *testing.T, within time.Duration, want ...string) []dialogInfo {
	t.Helper()
	var got []string
	var infos []dialogInfo
	ok := poll(within, func() bool {
		got, infos = nil, nil
		for _, n := range s.notifies() {
			di := parseDialogInfo(t, n)
			infos = append(infos, di)
			got = append(got, lamp(di))
		}
		i := 0
		for _, g := range got {
			if i < len(want) && g == want[i] {
				i++
			}
		}
		return i == len(want)
	})
	if !ok {
		t.Fatalf("%s: lamps %v within %v, want %v in order", s.p.name, got, within, want)
	}
	return infos
}

// TestBLF: carol's BLF key for bob: alice calls bob, bob's phone rings,
// answers, hangs up; carol sees early, confirmed, terminated. Then carol
// unsubscribes and hears nothing of the next call.
func TestBLF(t *testing.T) {
	t.Parallel()
	env := newCallEnv(t)
	a := env.phone(t, "7001", "UDP", "7001", alice)
	b := env.phone(t, "7002", "UDP", "7002", bob)
	c := env.phone(t, "7003", "UDP", "7003", carol)

	sub, res := c.subscribe("7002", "dialog", carol, 600)
	wantStatus(t, res, 200)
	if e := header(res, "Expires"); e != "600" {
		t.Errorf("200 to SUBSCRIBE: Expires %q, want 600", e)
	}
	first := sub.waitLamps(t, 3*time.Second, "idle")[0]
	if first.State != "full" || first.Entity != "sip:7002@"+domain || first.Version != 0 {
		t.Errorf("first NOTIFY: state=%q entity=%q version=%d, want full sip:7002@%s 0", first.State, first.Entity, first.Version, domain)
	}
	if ss := header(sub.notifies()[0], "Subscription-State"); !strings.HasPrefix(ss, "active") {
		t.Errorf("Subscription-State %q, want active", ss)
	}
	env.srv.waitMetric(t, `switchboard_sip_subscriptions_active{event="dialog"}`, 1, 2*time.Second)

	b.setAnswer(answer{Ring: true, After: 700 * time.Millisecond, Code: 200})
	call := a.call("7002", callOpts{As: &alice})
	sub.waitLamps(t, 3*time.Second, "idle", "early")
	call.waitStatus(200, 5*time.Second)
	call.ack()
	sub.waitLamps(t, 3*time.Second, "idle", "early", "confirmed")
	hangUp(t, call, b)
	infos := sub.waitLamps(t, 3*time.Second, "idle", "early", "confirmed", "terminated")
	last := infos[len(infos)-1]
	if d := last.Dialogs[0]; d.Direction != "recipient" || !strings.Contains(d.Remote, "7001@") {
		t.Errorf("terminated dialog: direction %q remote %q, want recipient from 7001", d.Direction, d.Remote)
	}
	for i := 1; i < len(infos); i++ {
		if infos[i].Version <= infos[i-1].Version {
			t.Errorf("NOTIFY versions %d then %d: not increasing", infos[i-1].Version, infos[i].Version)
		}
	}

	// Alice, the caller, lights her own lamp as initiator.
	subA, res := c.subscribe("alice", "dialog", carol, 600)
	wantStatus(t, res, 200)
	subA.waitLamps(t, 3*time.Second, "idle")
	b.setAnswer(answer{Ring: true, After: 300 * time.Millisecond, Code: 486}) // a 180 right before the final can be lost in the client transaction
	a.call("7002", callOpts{As: &alice}).waitStatus(486, 5*time.Second)
	subA.waitLamps(t, 3*time.Second, "idle", "early", "terminated")

	// Unsubscribe: 200, a last NOTIFY saying terminated, then silence.
	wantStatus(t, sub.refresh(0), 200)
	waitUntil(t, 3*time.Second, "final NOTIFY", func() bool {
		ns := sub.notifies()
		return strings.HasPrefix(header(ns[len(ns)-1], "Subscription-State"), "terminated")
	})
	before := len(sub.notifies())
	env.srv.waitMetric(t, `switchboard_sip_subscriptions_active{event="dialog"}`, 1, 2*time.Second)
	b.setAnswer(answer{Ring: true, After: 300 * time.Millisecond, Code: 486}) // a 180 right before the final can be lost in the client transaction
	a.call("7002", callOpts{As: &alice}).waitStatus(486, 5*time.Second)
	subA.waitLamps(t, 3*time.Second, "idle", "early", "terminated", "early", "terminated")
	if n := len(sub.notifies()); n != before {
		t.Errorf("%d NOTIFYs after unsubscribing, want none", n-before)
	}
	// A refresh of the ended subscription is 481.
	wantStatus(t, sub.refresh(600), 481)
}

func TestSubscribeRefused(t *testing.T) {
	t.Parallel()
	env := newCallEnv(t)
	c := env.phone(t, "7003", "UDP", "7003", carol)
	tests := []struct {
		name, target, event string
		as                  user
		want                int
	}{
		{"unknown package", "7002", "presence", carol, 489},
		{"unknown user", "7999", "dialog", carol, 404},
		{"group", "7100", "dialog", carol, 404},
		{"wrong password", "7002", "dialog", user{"carol", "7003", "nope"}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			_, res := c.subscribe(tt.target, tt.event, tt.as, 600)
			if res.StatusCode != tt.want {
				t.Errorf("SUBSCRIBE %s (%s): %d %s, want %d", tt.target, tt.event, res.StatusCode, res.Reason, tt.want)
			}
			if tt.want == 489 && !strings.Contains(header(res, "Allow-Events"), "dialog") {
				t.Errorf("489 Allow-Events %q lacks dialog", header(res, "Allow-Events"))
			}
		})
	}
	c.t = t
	_, res := c.subscribe("7002", "dialog", carol, 10)
	if res.StatusCode != 423 || header(res, "Min-Expires") != "60" {
		t.Errorf("Expires 10: %d Min-Expires %q, want 423 60", res.StatusCode, header(res, "Min-Expires"))
	}
}

// TestClusterBLF: carol subscribes through instance B to bob, whose phone
// is registered on A; alice calls bob through A. B's NOTIFYs show the call.
func TestClusterBLF(t *testing.T) {
	t.Parallel()
	cl := newCluster(t)
	a := phoneOn(t, cl.a, "7001", "UDP", "7001", alice)
	b := phoneOn(t, cl.a, "7002", "UDP", "7002", bob)
	c := phoneOn(t, cl.b, "7003", "UDP", "7003", carol)
	sub, res := c.subscribe("7002", "dialog", carol, 600)
	wantStatus(t, res, 200)
	sub.waitLamps(t, 3*time.Second, "idle")
	cl.b.waitMetric(t, `switchboard_sip_subscriptions_active{event="dialog"}`, 1, 2*time.Second)
	callAndHangUp(t, a, alice, "7002", b)
	sub.waitLamps(t, 5*time.Second, "idle", "early", "confirmed", "terminated")
}
