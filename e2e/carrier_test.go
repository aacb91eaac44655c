package e2e

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// carrier is a fake SIP trunk provider: a sipgo UAS (the PSTN behind it
// cannot run here) that can challenge INVITEs and BYEs with 407 and
// REGISTERs with 401 and check the digest answers, answer calls with a
// configured status, answer or ignore OPTIONS probes, and act as a
// registrar that remembers our Contact so it can send calls back to it.
type carrier struct {
	t         *testing.T
	name      string
	addr      string // listening ip:port
	transport string // UDP or TCP
	ua        *sipgo.UserAgent
	client    *sipgo.Client
	closed    chan struct{}

	mu sync.Mutex
	carrierBehaviour
	invites   []*sip.Request // every INVITE, challenged or not
	authed    []*sip.Request // INVITEs whose credentials were right
	acks      []*sip.Request
	byes      []*sip.Request
	registers []*sip.Request
	options   int
	contact   string // Contact of the last accepted REGISTER
	badAuth   int    // requests with wrong credentials
}

// carrierBehaviour is how a carrier answers.
type carrierBehaviour struct {
	User, Password string // set: challenge INVITE/BYE (407) and REGISTER (401)
	ChallengeBye   bool   // challenge BYE from us as well
	Code           int    // final status of an (authenticated) INVITE; 0 = 200
	RetryAfter     string // Retry-After on a 503
	Hold           time.Duration
	NoOptions      bool // ignore OPTIONS (probes fail)
	RegDown        bool // ignore REGISTER (registrar down)
	RegExpires     int  // expiry granted; 0 = as asked
}

const carrierRealm = "carrier.test"

func newCarrier(t *testing.T, name, ip, transport string, b carrierBehaviour) *carrier {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("fake-carrier-"+name),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerUnhandledResponseHandler(func(*sip.Response) {})))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	c := &carrier{t: t, name: name, transport: transport, ua: ua, closed: make(chan struct{}), carrierBehaviour: b}
	sv.OnInvite(c.onInvite)
	sv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {
		c.mu.Lock()
		c.acks = append(c.acks, req)
		c.mu.Unlock()
	})
	sv.OnBye(c.onBye)
	sv.OnCancel(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	sv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		c.mu.Lock()
		c.options++
		ignore := c.NoOptions
		c.mu.Unlock()
		if !ignore {
			tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		}
	})
	sv.OnRegister(c.onRegister)
	l := listenSIP(t, ip, transport)
	c.addr = l.addr
	opts := l.serve(t, ua, sv)
	if c.client, err = sipgo.NewClient(ua, opts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		close(c.closed)
		ua.Close()
	})
	return c
}

func (c *carrier) set(f func(b *carrierBehaviour)) {
	c.mu.Lock()
	f(&c.carrierBehaviour)
	c.mu.Unlock()
}

func (c *carrier) behaviour() carrierBehaviour {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.carrierBehaviour
}

// port is the carrier's port as a string.
func (c *carrier) port() string { _, p, _ := net.SplitHostPort(c.addr); return p }

// nonce is fixed per carrier: the fake checks the digest, not replays.
const carrierNonce = "5c0ffee5c0ffee"

// challenge answers req with 401 (WWW-Authenticate) or 407.
func (c *carrier) challenge(req *sip.Request, tx sip.ServerTransaction, code int) {
	name, reason := "Proxy-Authenticate", "Proxy Authentication Required"
	if code == 401 {
		name, reason = "WWW-Authenticate", "Unauthorized"
	}
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	res.AppendHeader(sip.NewHeader(name, `Digest realm="`+carrierRealm+`", nonce="`+carrierNonce+`", algorithm=MD5, qop="auth"`))
	tx.Respond(res)
}

// authOK reports whether req carries right credentials in header name; a
// request with none is not counted as bad.
func (c *carrier) authOK(req *sip.Request, name string) (ok, present bool) {
	h := req.GetHeader(name)
	if h == nil {
		return false, false
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		return false, true
	}
	b := c.behaviour()
	chal := &digest.Challenge{Realm: carrierRealm, Nonce: carrierNonce, Algorithm: "MD5", QOP: []string{"auth"}}
	want, err := digest.Digest(chal, digest.Options{Method: string(req.Method), URI: cred.URI, Username: b.User,
		Password: b.Password, Cnonce: cred.Cnonce, Count: cred.Nc})
	if err != nil || cred.Username != b.User || cred.Response != want.Response || cred.URI != req.Recipient.String() {
		c.mu.Lock()
		c.badAuth++
		c.mu.Unlock()
		return false, true
	}
	return true, true
}

func (c *carrier) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	c.mu.Lock()
	c.invites = append(c.invites, req)
	b := c.carrierBehaviour
	c.mu.Unlock()
	if req.To().Params.Has("tag") {
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		return
	}
	if b.User != "" {
		if ok, _ := c.authOK(req, "Proxy-Authorization"); !ok {
			c.challenge(req, tx, 407)
			return
		}
	}
	c.mu.Lock()
	c.authed = append(c.authed, req)
	c.mu.Unlock()
	toTag := sip.GenerateTagN(10)
	mk := func(code int, reason string) *sip.Response {
		res := sip.NewResponseFromRequest(req, code, reason, nil)
		res.To().Params.Add("tag", toTag)
		return res
	}
	tx.Respond(mk(180, "Ringing"))
	if b.Hold > 0 {
		select {
		case <-time.After(b.Hold):
		case <-tx.Done():
			return
		case <-c.closed:
			return
		}
	}
	code := b.Code
	if code == 0 {
		code = 200
	}
	if code >= 300 {
		res := mk(code, statusReason(code))
		if b.RetryAfter != "" {
			res.AppendHeader(sip.NewHeader("Retry-After", b.RetryAfter))
		}
		tx.Respond(res)
		return
	}
	ok := sip.NewResponseFromRequest(req, 200, "OK", []byte(sdpAnswer))
	ok.To().Params.Add("tag", toTag)
	ok.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	ok.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "pstn", Host: hostOf(c.addr), Port: portOf(c.addr),
		UriParams: sip.HeaderParams{{K: "transport", V: strings.ToLower(c.transport)}}}})
	tx.Respond(ok)
	select {
	case <-tx.Acks():
	case <-tx.Done():
	case <-time.After(2 * time.Second):
	case <-c.closed:
	}
}

func (c *carrier) onBye(req *sip.Request, tx sip.ServerTransaction) {
	c.mu.Lock()
	c.byes = append(c.byes, req)
	b := c.carrierBehaviour
	c.mu.Unlock()
	if b.ChallengeBye && b.User != "" {
		if ok, _ := c.authOK(req, "Proxy-Authorization"); !ok {
			c.challenge(req, tx, 407)
			return
		}
	}
	tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
}

func (c *carrier) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	c.mu.Lock()
	c.registers = append(c.registers, req)
	b := c.carrierBehaviour
	c.mu.Unlock()
	if b.RegDown {
		return
	}
	if b.User != "" {
		if ok, _ := c.authOK(req, "Authorization"); !ok {
			c.challenge(req, tx, 401)
			return
		}
	}
	expires := header(req, "Expires")
	if b.RegExpires > 0 {
		expires = strconv.Itoa(b.RegExpires)
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	if ct := req.Contact(); ct != nil {
		res.AppendHeader(sip.NewHeader("Contact", "<"+ct.Address.String()+">;expires="+expires))
		c.mu.Lock()
		if expires == "0" {
			c.contact = ""
		} else {
			c.contact = ct.Address.String()
		}
		c.mu.Unlock()
	}
	tx.Respond(res)
}

// count returns how many requests of a kind the carrier received.
func (c *carrier) count(what string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch what {
	case "invite":
		return len(c.invites)
	case "authed":
		return len(c.authed)
	case "ack":
		return len(c.acks)
	case "bye":
		return len(c.byes)
	case "register":
		return len(c.registers)
	case "options":
		return c.options
	case "bad_auth":
		return c.badAuth
	}
	return -1
}

// last returns the last request of a kind.
func (c *carrier) last(what string) *sip.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	var l []*sip.Request
	switch what {
	case "invite":
		l = c.invites
	case "authed":
		l = c.authed
	case "ack":
		l = c.acks
	case "bye":
		l = c.byes
	case "register":
		l = c.registers
	}
	if len(l) == 0 {
		return nil
	}
	return l[len(l)-1]
}

// registeredContact is the Contact switchboard registered, "" if none.
func (c *carrier) registeredContact() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.contact
}

// callIn sends an INVITE from the carrier to switchboard's registered
// Contact, with the DID in To (as carriers that route by registration do),
// and returns the final response.
func (c *carrier) callIn(t *testing.T, did string) *sip.Response {
	t.Helper()
	var ruri sip.Uri
	if err := sip.ParseUri(c.registeredContact(), &ruri); err != nil {
		t.Fatalf("registered contact %q: %v", c.registeredContact(), err)
	}
	req := sip.NewRequest(sip.INVITE, ruri)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "+14085550199", Host: carrierRealm}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: did, Host: carrierRealm}, Params: sip.NewParams()})
	cid := sip.CallIDHeader("in-" + token() + "@carrier")
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(sip.NewHeader("Contact", "<sip:pstn@"+c.addr+">"))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody([]byte(sdpOffer))
	req.SetTransport(c.transport)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.client.Do(ctx, req)
	if err != nil {
		t.Fatalf("carrier INVITE to %s: %v", ruri.String(), err)
	}
	return res
}

// silentCarrier is a UDP socket that reads SIP and never answers: a carrier
// that is down (no 100 Trying, nothing).
type silentCarrier struct {
	addr string
	mu   sync.Mutex
	got  map[string]int // method -> datagrams
}

func newSilentCarrier(t *testing.T, ip string) *silentCarrier {
	t.Helper()
	pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	s := &silentCarrier{addr: pc.LocalAddr().String(), got: map[string]int{}}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			method, _, _ := strings.Cut(string(buf[:n]), " ")
			s.mu.Lock()
			s.got[method]++
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { pc.Close() })
	return s
}

func (s *silentCarrier) count(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got[method]
}
