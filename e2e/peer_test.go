package e2e

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// peer is a sipgo user agent on its own socket, one per device: it registers
// like a phone, answers INVITEs as a UAS (the behaviour set by setAnswer) and
// places calls as a UAC. It records every request it receives, so a test can
// assert what rang and which headers arrived. The fake carrier is a peer on
// 127.0.0.2 that never registers.
type peer struct {
	t         *testing.T
	srv       *server
	name      string // user part of its Contact
	transport string // "UDP" or "TCP"
	addr      string // listening host:port
	ua        *sipgo.UserAgent
	sv        *sipgo.Server
	client    *sipgo.Client
	closed    chan struct{}

	mu      sync.Mutex
	ans     answer
	got     []*sip.Request // every request received, in order
	cancels []*sip.Request // CANCELs matched to a ringing INVITE
	uas     map[string]*inDialog
	regCSeq uint32
	regID   string
	mute    atomic.Bool // answers no OPTIONS
	// outbound, when set, is appended to the REGISTER Contact and the
	// REGISTER says Supported: outbound (RFC 5626, outbound_test.go).
	outbound string
	lastReg  *sip.Response // final response of the last REGISTER
}

// answer is how a peer answers an initial INVITE.
type answer struct {
	Ring  bool          // send 180 Ringing first
	After time.Duration // wait before the final response
	Code  int           // final status; 0 = never answer (ring until cancelled)
}

// inDialog is a call a peer answered 2xx, for a BYE from the callee side.
type inDialog struct {
	invite *sip.Request
	ok     *sip.Response
	cseq   uint32
}

// newPeer starts a user agent listening on ip:0 over transport. srv may be
// nil and set later (the carrier must exist before the server's config).
func newPeer(t *testing.T, srv *server, name, ip, transport string) *peer {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("switchboard-e2e-"+name),
		// Retransmitted responses (a 100 after the 407's retry) are expected.
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerUnhandledResponseHandler(func(*sip.Response) {})))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{t: t, srv: srv, name: name, transport: transport, ua: ua, sv: sv,
		closed: make(chan struct{}), uas: map[string]*inDialog{}, ans: answer{Ring: true, Code: 200},
		regID: fmt.Sprintf("%s-%d@e2e", name, time.Now().UnixNano())}
	// Handlers before serving: sipgo reads its handler map unlocked.
	sv.OnInvite(p.onInvite)
	sv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { p.record(req) })
	sv.OnBye(p.onBye)
	sv.OnCancel(func(req *sip.Request, tx sip.ServerTransaction) {
		p.record(req)
		tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
	})
	sv.OnRefer(p.onInDialog)  // transfer_test.go
	sv.OnNotify(p.onInDialog) // transfer_test.go
	sv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		p.record(req)
		if p.mute.Load() { // a device that went away (keepalive_test.go)
			return
		}
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	l := listenSIP(t, ip, transport)
	p.addr = l.addr
	opts := l.serve(t, ua, sv)
	p.client, err = sipgo.NewClient(ua, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		close(p.closed)
		ua.Close()
	})
	return p
}

func (p *peer) setAnswer(a answer) {
	p.mu.Lock()
	p.ans = a
	p.mu.Unlock()
}

func (p *peer) record(req *sip.Request) {
	p.mu.Lock()
	p.got = append(p.got, req)
	p.mu.Unlock()
}

// contactURI is this peer's Contact for a line (AOR user part).
func (p *peer) contactURI(user string) string {
	return fmt.Sprintf("sip:%s@%s;transport=%s", user, p.addr, strings.ToLower(p.transport))
}

// registerCode sends a REGISTER of aor from p to p.srv, answers the
// challenge and returns the final status; unlike register it does not fail
// the test, so it can poll and run outside the test goroutine.
func registerCode(p *peer, aor string, u user) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	uri := sip.Uri{Scheme: "sip", User: aor, Host: domain}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: domain})
	req.SetDestination(p.srv.Addr)
	req.SetTransport(p.transport)
	from := &sip.FromHeader{Address: uri, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: uri, Params: sip.NewParams()})
	cid := sip.CallIDHeader(aor + "-" + p.regID)
	req.AppendHeader(&cid)
	p.regCSeq++
	req.AppendHeader(&sip.CSeqHeader{SeqNo: p.regCSeq, MethodName: sip.REGISTER})
	req.AppendHeader(sip.NewHeader("Contact", "<"+p.contactURI(aor)+">"+p.outbound))
	if p.outbound != "" {
		req.AppendHeader(sip.NewHeader("Supported", "outbound"))
	}
	req.AppendHeader(sip.NewHeader("Expires", "300"))
	res, err := p.client.Do(ctx, req)
	if err == nil && res.StatusCode == 401 {
		res, err = p.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: u.ext, Password: u.password})
		p.regCSeq = req.CSeq().SeqNo
	}
	if err != nil {
		return 0, err
	}
	p.lastReg = res
	return res.StatusCode, nil
}

// register binds aor to this peer with u's credentials; 200 is required.
func (p *peer) register(aor string, u user) {
	p.t.Helper()
	code, err := registerCode(p, aor, u)
	if err != nil {
		p.t.Fatalf("%s: REGISTER %s: %v", p.name, aor, err)
	}
	if code != 200 {
		p.t.Fatalf("%s: REGISTER %s: %d", p.name, aor, code)
	}
}

const sdpOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
const sdpAnswer = "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

// onInvite is the UAS: ring, then answer per p.ans, or until CANCEL.
func (p *peer) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	p.record(req)
	if req.To().Params.Has("tag") {
		// A re-INVITE: answer its offer, if any (a carrier call the engine
		// transferred is re-INVITEd with the target's SDP).
		var body []byte
		if len(req.Body()) > 0 {
			body = []byte(sdpAnswer)
		}
		res := sip.NewResponseFromRequest(req, 200, "OK", body)
		if body != nil {
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		}
		tx.Respond(res)
		return
	}
	p.mu.Lock()
	ans := p.ans
	p.mu.Unlock()
	cancelled := make(chan struct{})
	tx.OnCancel(func(r *sip.Request) {
		p.mu.Lock()
		p.cancels = append(p.cancels, r)
		p.got = append(p.got, r)
		p.mu.Unlock()
		close(cancelled)
	})
	toTag := sip.GenerateTagN(10)
	mk := func(code int, reason string, body []byte) *sip.Response {
		res := sip.NewResponseFromRequest(req, code, reason, body)
		res.To().Params.Add("tag", toTag)
		if code > 100 && code < 300 {
			res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: p.name, Host: hostOf(p.addr), Port: portOf(p.addr),
				UriParams: sip.HeaderParams{{K: "transport", V: strings.ToLower(p.transport)}}}})
		}
		if body != nil {
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		}
		return res
	}
	if !ringThenAnswer(tx, ans, mk, cancelled, p.closed) {
		return
	}
	// The answer to an offer; to an INVITE without one (late offer), an
	// offer of ours (RFC 3261 §13.2.1).
	body := []byte(sdpAnswer)
	ok := mk(ans.Code, "OK", body)
	p.mu.Lock()
	p.uas[req.CallID().Value()] = &inDialog{invite: req, ok: ok, cseq: 100}
	p.mu.Unlock()
	tx.Respond(ok)
	// Keep the transaction until the ACK or a short while, so a
	// retransmitted INVITE is absorbed.
	select {
	case <-tx.Acks():
	case <-tx.Done():
	case <-time.After(500 * time.Millisecond):
	case <-p.closed:
	}
}

func (p *peer) onBye(req *sip.Request, tx sip.ServerTransaction) {
	p.record(req)
	tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
}

func statusReason(code int) string {
	switch code {
	case 486:
		return "Busy Here"
	case 480:
		return "Temporarily Unavailable"
	case 603:
		return "Decline"
	}
	return "Error"
}

// requests returns the requests of a method received so far.
func (p *peer) requests(method sip.RequestMethod) []*sip.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*sip.Request
	for _, r := range p.got {
		if r.Method == method {
			out = append(out, r)
		}
	}
	return out
}

// waitRequest waits for the n-th (1-based) request of a method.
func (p *peer) waitRequest(method sip.RequestMethod, n int, within time.Duration) *sip.Request {
	p.t.Helper()
	var got []*sip.Request
	ok := poll(within, func() bool { got = p.requests(method); return len(got) >= n })
	if !ok {
		p.t.Fatalf("%s: %d %s received within %v, want %d", p.name, len(got), method, within, n)
	}
	return got[n-1]
}

// byeFromCallee sends a BYE in the dialog this peer answered, along the
// route set of the INVITE, and returns the final response.
func (p *peer) byeFromCallee(callID string) *sip.Response {
	p.t.Helper()
	p.mu.Lock()
	d := p.uas[callID]
	p.mu.Unlock()
	if d == nil {
		p.t.Fatalf("%s: no answered dialog %s", p.name, callID)
	}
	d.cseq++
	target := d.invite.Contact().Address
	bye := sip.NewRequest(sip.BYE, *target.Clone())
	for _, h := range d.invite.GetHeaders("Record-Route") {
		bye.AppendHeader(sip.NewHeader("Route", h.Value()))
	}
	from := &sip.FromHeader{Address: d.ok.To().Address, Params: d.ok.To().Params.Clone()}
	to := &sip.ToHeader{Address: d.invite.From().Address, Params: d.invite.From().Params.Clone()}
	bye.AppendHeader(from)
	bye.AppendHeader(to)
	bye.AppendHeader(sip.HeaderClone(d.invite.CallID()))
	bye.AppendHeader(&sip.CSeqHeader{SeqNo: d.cseq, MethodName: sip.BYE})
	mf := sip.MaxForwardsHeader(70)
	bye.AppendHeader(&mf)
	bye.SetTransport(p.transport)
	return p.do(bye)
}

// do sends a non-INVITE request in a transaction and returns its final response.
func (p *peer) do(req *sip.Request) *sip.Response {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.client.Do(ctx, req)
	if err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, req.Method, err)
	}
	return res
}

// callOpts shape an INVITE a peer sends.
type callOpts struct {
	As       *user  // credentials for the 407; nil = none
	Password string // overrides As.password
	FromUser string // From user part; default As.ext
	Domain   string // Request-URI/From/To host; default the tenant's
	NoSDP    bool
	Headers  []sip.Header
	MaxFwd   int // 0 = 70
}

// outCall is a call a peer placed.
type outCall struct {
	p      *peer
	invite *sip.Request // guarded by mu until done: the 407 retry rewrites it
	id     string       // Call-ID
	mu     sync.Mutex
	resps  []*sip.Response // every response, provisional included
	final  *sip.Response
	done   chan struct{}
	cseq   uint32
}

// call sends an INVITE for user@domain through the server and reads its
// responses in the background, answering one 407 when credentials are set.
func (p *peer) call(to string, o callOpts) *outCall {
	p.t.Helper()
	dom := o.Domain
	if dom == "" {
		dom = domain
	}
	fromUser := o.FromUser
	if fromUser == "" && o.As != nil {
		fromUser = o.As.ext
	}
	if fromUser == "" {
		fromUser = p.name
	}
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: to, Host: dom})
	req.SetDestination(p.srv.Addr)
	req.SetTransport(p.transport)
	from := &sip.FromHeader{DisplayName: fromUser, Address: sip.Uri{Scheme: "sip", User: fromUser, Host: dom}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: to, Host: dom}, Params: sip.NewParams()})
	cid := sip.CallIDHeader(fmt.Sprintf("call-%s-%s@e2e", p.name, token()))
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	mfv := 70
	if o.MaxFwd != 0 {
		mfv = o.MaxFwd
	}
	mf := sip.MaxForwardsHeader(mfv)
	req.AppendHeader(&mf)
	req.AppendHeader(sip.NewHeader("Contact", "<"+p.contactURI(fromUser)+">"))
	for _, h := range o.Headers {
		req.AppendHeader(h)
	}
	if !o.NoSDP {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody([]byte(sdpOffer))
	}
	c := &outCall{p: p, invite: req, id: string(cid), done: make(chan struct{})}
	tx, err := p.client.TransactionRequest(context.Background(), req)
	if err != nil {
		p.t.Fatalf("%s: INVITE %s: %v", p.name, to, err)
	}
	go c.read(tx, o)
	return c
}

func (c *outCall) read(tx sip.ClientTransaction, o callOpts) {
	defer close(c.done)
	authed := false
	for {
		select {
		case res := <-tx.Responses():
			c.mu.Lock()
			c.resps = append(c.resps, res)
			c.mu.Unlock()
			if res.IsProvisional() {
				continue
			}
			if res.StatusCode == 407 && o.As != nil && !authed {
				authed = true
				pw := o.As.password
				if o.Password != "" {
					pw = o.Password
				}
				c.mu.Lock()
				ntx, err := c.p.client.TransactionDigestAuth(context.Background(), c.invite, res,
					sipgo.DigestAuth{Username: o.As.ext, Password: pw})
				c.mu.Unlock()
				tx.Terminate()
				if err != nil {
					return
				}
				tx = ntx
				continue
			}
			c.mu.Lock()
			c.final = res
			c.mu.Unlock()
			if res.IsSuccess() {
				// Keep the transaction so 2xx retransmissions reach us; the
				// test ACKs through ack().
				return
			}
			return
		case <-tx.Done():
			return
		case <-c.p.closed:
			tx.Terminate()
			return
		}
	}
}

// wait returns the final response, failing the test after within.
func (c *outCall) wait(within time.Duration) *sip.Response {
	c.p.t.Helper()
	select {
	case <-c.done:
	case <-time.After(within):
		c.p.t.Fatalf("%s: no final response to INVITE %s within %v", c.p.name, c.id, within)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.final == nil {
		c.p.t.Fatalf("%s: INVITE %s: transaction ended without a final response", c.p.name, c.invite.Recipient.User)
	}
	return c.final
}

// waitStatus waits for the final response and requires its code.
func (c *outCall) waitStatus(code int, within time.Duration) *sip.Response {
	c.p.t.Helper()
	res := c.wait(within)
	if res.StatusCode != code {
		c.p.t.Fatalf("%s: INVITE %s: %d %s, want %d", c.p.name, c.invite.Recipient.User, res.StatusCode, res.Reason, code)
	}
	return res
}

// waitProvisional waits for a provisional response with the code.
func (c *outCall) waitProvisional(code int, within time.Duration) {
	c.p.t.Helper()
	if !poll(within, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, r := range c.resps {
			if r.StatusCode == code {
				return true
			}
		}
		return false
	}) {
		c.p.t.Fatalf("%s: no %d to INVITE %s within %v", c.p.name, code, c.invite.Recipient.User, within)
	}
}

func (c *outCall) callID() string { return c.id }

// inDialogRequest builds an ACK or BYE for the 2xx: to its Contact, along
// the reversed Record-Route set (RFC 3261 §12.1.2).
func (c *outCall) inDialogRequest(method sip.RequestMethod, cseq uint32) *sip.Request {
	c.mu.Lock()
	ok := c.final
	c.mu.Unlock()
	if ok == nil || !ok.IsSuccess() {
		c.p.t.Fatalf("%s: %s without a 2xx", c.p.name, method)
	}
	r := sip.NewRequest(method, *ok.Contact().Address.Clone())
	rrs := ok.GetHeaders("Record-Route")
	for i := len(rrs) - 1; i >= 0; i-- {
		r.AppendHeader(sip.NewHeader("Route", rrs[i].Value()))
	}
	r.AppendHeader(sip.HeaderClone(c.invite.From()))
	r.AppendHeader(sip.HeaderClone(ok.To()))
	r.AppendHeader(sip.HeaderClone(c.invite.CallID()))
	r.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	r.SetTransport(c.p.transport)
	return r
}

// ack sends the ACK for the 2xx.
func (c *outCall) ack() {
	c.p.t.Helper()
	ack := c.inDialogRequest(sip.ACK, c.invite.CSeq().SeqNo)
	if err := c.p.client.WriteRequest(ack); err != nil {
		c.p.t.Fatalf("%s: ACK: %v", c.p.name, err)
	}
}

// bye hangs up from the caller side and returns the final response.
func (c *outCall) bye() *sip.Response {
	c.p.t.Helper()
	return c.p.do(c.inDialogRequest(sip.BYE, c.invite.CSeq().SeqNo+1))
}

// cancel sends CANCEL for the INVITE (after a provisional response) and
// returns the CANCEL's final response.
func (c *outCall) cancel() *sip.Response {
	c.p.t.Helper()
	c.mu.Lock()
	inv := c.invite
	r := sip.NewRequest(sip.CANCEL, *inv.Recipient.Clone())
	r.AppendHeader(inv.Via().Clone())
	r.AppendHeader(sip.HeaderClone(inv.From()))
	r.AppendHeader(sip.HeaderClone(inv.To()))
	r.AppendHeader(sip.HeaderClone(inv.CallID()))
	r.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	r.SetBody(nil)
	r.SetTransport(c.p.transport)
	r.SetDestination(c.p.srv.Addr)
	r.Laddr = inv.Laddr
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.p.client.Do(ctx, r, func(*sipgo.Client, *sip.Request) error { return nil })
	if err != nil {
		c.p.t.Fatalf("%s: CANCEL: %v", c.p.name, err)
	}
	return res
}

// header returns the value of a header of r, "" when absent.
func header(r sip.Message, name string) string {
	var vals []string
	for _, h := range r.GetHeaders(name) {
		vals = append(vals, h.Value())
	}
	return strings.Join(vals, ", ")
}

func hostOf(addr string) string {
	h, _, _ := net.SplitHostPort(addr)
	return h
}

func portOf(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// poll calls cond every 10 ms until it holds or within passes.
func poll(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	if !poll(within, cond) {
		t.Fatalf("%s: not within %v", what, within)
	}
}

// ringThenAnswer plays a callee up to its final answer per ans: 180 when
// asked, then the wait of ans.After. It reports whether the caller should
// now send the 2xx: false when the call ended first (CANCEL, the
// transaction, the phone closing) or when ans is a refusal, which it sends.
func ringThenAnswer(tx sip.ServerTransaction, ans answer, mk func(code int, reason string, body []byte) *sip.Response, cancelled, closed <-chan struct{}) bool {
	if ans.Ring {
		tx.Respond(mk(180, "Ringing", nil))
	}
	var after <-chan time.Time
	if ans.Code != 0 {
		after = time.After(ans.After)
	}
	select {
	case <-after:
	case <-cancelled:
		return false
	case <-tx.Done():
		return false
	case <-closed:
		return false
	}
	if ans.Code >= 300 {
		tx.Respond(mk(ans.Code, statusReason(ans.Code), nil))
		return false
	}
	return true
}
