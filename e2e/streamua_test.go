package e2e

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/icholy/digest"
)

// testCA is a certificate authority made for one test, with the pool a
// client trusts it through.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "switchboard e2e CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool,
		pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// leaf is a certificate the CA issued, as PEM.
type leaf struct {
	certPEM, keyPEM []byte
	serial          int64
}

// issue makes a server certificate for 127.0.0.1 and localhost (plus
// names) with the serial; notAfter zero = a day from now.
func (ca *testCA) issue(t *testing.T, serial int64, notAfter time.Time, names ...string) leaf {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if notAfter.IsZero() {
		notAfter = time.Now().Add(24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "switchboard e2e"},
		NotBefore:    time.Now().Add(-2 * time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     append([]string{"localhost"}, names...),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("127.0.0.2")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return leaf{serial: serial,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})}
}

// write puts the leaf's files at cert and key, replacing them atomically
// (the way certbot and cert-manager renew).
func (l leaf) write(t *testing.T, cert, key string) {
	t.Helper()
	for path, data := range map[string][]byte{cert: l.certPEM, key: l.keyPEM} {
		tmp := path + ".new"
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
}

// streamUA is a phone on one TLS or WebSocket connection that writes SIP as
// text and reads it with sipgo's parser only, so the test sees exactly what
// a softphone (TLS) or a browser client (RFC 7118 WebSocket) sends and gets.
type streamUA struct {
	t         *testing.T
	transport string // Via transport: TLS, WS or WSS
	viaHost   string // 127.0.0.1, or a .invalid name for a browser
	conn      net.Conn
	write     func([]byte) error

	resps chan *sip.Response
	reqs  chan *sip.Request
	done  chan struct{}

	mu   sync.Mutex
	cseq uint32
}

// dialTLS connects a TLS phone to addr, verifying the server against pool.
func dialTLS(t *testing.T, addr string, pool *x509.CertPool) (*streamUA, *tls.ConnectionState) {
	t.Helper()
	d := tls.Dialer{Config: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("TLS dial %s: %v", addr, err)
	}
	tc := c.(*tls.Conn)
	st := tc.ConnectionState()
	u := newStreamUA(t, "TLS", "127.0.0.1", c, func(b []byte) error { _, err := c.Write(b); return err })
	go u.readStream(c)
	return u, &st
}

// dialWS connects a WebSocket (wss:// when pool is set) client with the
// "sip" subprotocol, the way a browser SIP library does.
func dialWS(t *testing.T, url string, pool *x509.CertPool) *streamUA {
	t.Helper()
	d := ws.Dialer{Protocols: []string{"sip"}}
	transport := "WS"
	if pool != nil {
		d.TLSConfig = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
		transport = "WSS"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, br, hs, err := d.Dial(ctx, url)
	if err != nil {
		t.Fatalf("websocket dial %s: %v", url, err)
	}
	if hs.Protocol != "sip" {
		t.Errorf("websocket subprotocol %q, want sip", hs.Protocol)
	}
	var r io.Reader = c
	if br != nil {
		r = io.MultiReader(br, c)
		ws.PutReader(br)
	}
	u := newStreamUA(t, transport, token()+".invalid", c, func(b []byte) error { return wsutil.WriteClientText(c, b) })
	go u.readWS(struct {
		io.Reader
		io.Writer
	}{bufio.NewReader(r), c})
	return u
}

func newStreamUA(t *testing.T, transport, viaHost string, c net.Conn, write func([]byte) error) *streamUA {
	u := &streamUA{t: t, transport: transport, viaHost: viaHost, conn: c, write: write,
		resps: make(chan *sip.Response, 64), reqs: make(chan *sip.Request, 64), done: make(chan struct{})}
	t.Cleanup(func() { c.Close(); <-u.done })
	return u
}

func (u *streamUA) deliver(m sip.Message) {
	switch m := m.(type) {
	case *sip.Response:
		select {
		case u.resps <- m:
		default:
		}
	case *sip.Request:
		select {
		case u.reqs <- m:
		default:
		}
	}
}

func (u *streamUA) readStream(c net.Conn) {
	defer close(u.done)
	par := sip.NewParser().NewSIPStream()
	buf := make([]byte, 65536)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if err := par.ParseSIPStream(buf[:n], u.deliver); err != nil && err != sip.ErrParseSipPartial {
			return
		}
	}
}

func (u *streamUA) readWS(rw io.ReadWriter) {
	defer close(u.done)
	p := sip.NewParser()
	for {
		data, op, err := wsutil.ReadServerData(rw)
		if err != nil {
			return
		}
		if op != ws.OpText && op != ws.OpBinary {
			continue
		}
		m, err := p.ParseSIP(data)
		if err != nil {
			u.t.Errorf("unparsable message from the server: %v\n%s", err, data)
			continue
		}
		u.deliver(m)
	}
}

// local is the connection's local address.
func (u *streamUA) local() string { return u.conn.LocalAddr().String() }

// contact is the Contact a phone on this connection registers: its own
// address over TLS; a .invalid host for a browser (RFC 7118 §5).
func (u *streamUA) contact(user string) string {
	if u.transport == "TLS" {
		return fmt.Sprintf("<sip:%s@%s;transport=tls>", user, u.local())
	}
	return fmt.Sprintf("<sip:%s@%s;transport=ws>", user, u.viaHost)
}

// newRequest builds a request the way the phone would send it.
func (u *streamUA) newRequest(method sip.RequestMethod, ruri sip.Uri, from, to sip.Uri, callID string) *sip.Request {
	u.mu.Lock()
	u.cseq++
	seq := u.cseq
	u.mu.Unlock()
	r := sip.NewRequest(method, ruri)
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: u.transport, Host: u.viaHost, Params: sip.NewParams()}
	if u.transport == "TLS" {
		via.Port = portOf(u.local())
	}
	via.Params.Add("branch", sip.GenerateBranch())
	r.AppendHeader(via)
	fh := &sip.FromHeader{Address: from, Params: sip.NewParams()}
	fh.Params.Add("tag", sip.GenerateTagN(10))
	r.AppendHeader(fh)
	r.AppendHeader(&sip.ToHeader{Address: to, Params: sip.NewParams()})
	cid := sip.CallIDHeader(callID)
	r.AppendHeader(&cid)
	r.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	r.AppendHeader(sip.NewHeader("User-Agent", "switchboard-e2e-"+strings.ToLower(u.transport)))
	return r
}

// send writes a message.
func (u *streamUA) send(m sip.Message) {
	u.t.Helper()
	if m.ContentLength() == nil {
		m.SetBody(m.Body()) // framing on a stream needs Content-Length
	}
	if err := u.write([]byte(m.String())); err != nil {
		u.t.Fatalf("%s write: %v", u.transport, err)
	}
}

// final sends req and returns its final response (provisionals dropped
// but collected in provs when non-nil).
func (u *streamUA) final(req *sip.Request, provs *[]*sip.Response) *sip.Response {
	u.t.Helper()
	u.send(req)
	branch, _ := req.Via().Params.Get("branch")
	deadline := time.After(10 * time.Second)
	for {
		select {
		case res := <-u.resps:
			if b, _ := res.Via().Params.Get("branch"); b != branch {
				continue // a retransmission of an earlier answer
			}
			if res.StatusCode < 200 {
				if provs != nil {
					*provs = append(*provs, res)
				}
				continue
			}
			return res
		case <-deadline:
			u.t.Fatalf("%s: no final response to %s within 10s", u.transport, req.Method)
			return nil
		}
	}
}

// authorize adds credentials answering the challenge of res to a copy of
// req with a new branch and CSeq.
func (u *streamUA) authorize(req *sip.Request, res *sip.Response, usr user) *sip.Request {
	u.t.Helper()
	hdr, out := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		hdr, out = "Proxy-Authenticate", "Proxy-Authorization"
	}
	chal, err := digest.ParseChallenge(res.GetHeader(hdr).Value())
	if err != nil {
		u.t.Fatalf("challenge %q: %v", res.GetHeader(hdr).Value(), err)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: string(req.Method), URI: req.Recipient.Addr(),
		Username: usr.ext, Password: usr.password})
	if err != nil {
		u.t.Fatal(err)
	}
	r := req.Clone()
	r.Via().Params.Add("branch", sip.GenerateBranch())
	u.mu.Lock()
	u.cseq++
	r.CSeq().SeqNo = u.cseq
	u.mu.Unlock()
	r.AppendHeader(sip.NewHeader(out, cred.String()))
	return r
}

// register binds aor to this connection with usr's credentials and
// returns the final response.
func (u *streamUA) register(aor string, usr user) *sip.Response {
	u.t.Helper()
	to := sip.Uri{Scheme: "sip", User: aor, Host: domain}
	req := u.newRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: domain}, to, to, "reg-"+token()+"@e2e")
	req.AppendHeader(sip.NewHeader("Contact", u.contact(aor)))
	req.AppendHeader(sip.NewHeader("Expires", "300"))
	res := u.final(req, nil)
	if res.StatusCode == 401 {
		res = u.final(u.authorize(req, res, usr), nil)
	}
	return res
}

// streamCall is a call the stream phone placed and got a 2xx for.
type streamCall struct {
	invite *sip.Request
	ok     *sip.Response
}

// call places an INVITE to `to` as usr, answers the 407, ACKs the 2xx
// along its Record-Route set and returns the call.
func (u *streamUA) call(to string, usr user) (*streamCall, *sip.Response) {
	u.t.Helper()
	from := sip.Uri{Scheme: "sip", User: usr.ext, Host: domain}
	dst := sip.Uri{Scheme: "sip", User: to, Host: domain}
	inv := u.newRequest(sip.INVITE, dst, from, dst, "call-"+token()+"@e2e")
	inv.AppendHeader(sip.NewHeader("Contact", u.contact(usr.ext)))
	inv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	inv.SetBody([]byte(sdpOffer))
	res := u.final(inv, nil)
	if res.StatusCode == 407 {
		u.ackFailure(inv, res)
		inv = u.authorize(inv, res, usr)
		res = u.final(inv, nil)
	}
	if res.StatusCode != 200 {
		return nil, res
	}
	c := &streamCall{invite: inv, ok: res}
	u.send(u.inDialog(c, sip.ACK, inv.CSeq().SeqNo))
	return c, res
}

// ackFailure ACKs a non-2xx final response hop by hop (same branch).
func (u *streamUA) ackFailure(inv *sip.Request, res *sip.Response) {
	ack := sip.NewRequest(sip.ACK, inv.Recipient)
	ack.AppendHeader(inv.Via().Clone())
	ack.AppendHeader(sip.HeaderClone(inv.From()))
	ack.AppendHeader(sip.HeaderClone(res.To()))
	ack.AppendHeader(sip.HeaderClone(inv.CallID()))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.ACK})
	mf := sip.MaxForwardsHeader(70)
	ack.AppendHeader(&mf)
	u.send(ack)
}

// inDialog builds an ACK or BYE for the call: to the callee's Contact,
// along the reversed Record-Route set (RFC 3261 §12.1.2).
func (u *streamUA) inDialog(c *streamCall, method sip.RequestMethod, seq uint32) *sip.Request {
	r := sip.NewRequest(method, *c.ok.Contact().Address.Clone())
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: u.transport, Host: u.viaHost, Params: sip.NewParams()}
	if u.transport == "TLS" {
		via.Port = portOf(u.local())
	}
	via.Params.Add("branch", sip.GenerateBranch())
	r.AppendHeader(via)
	rrs := c.ok.GetHeaders("Record-Route")
	for i := len(rrs) - 1; i >= 0; i-- {
		r.AppendHeader(sip.NewHeader("Route", rrs[i].Value()))
	}
	r.AppendHeader(sip.HeaderClone(c.invite.From()))
	r.AppendHeader(sip.HeaderClone(c.ok.To()))
	r.AppendHeader(sip.HeaderClone(c.invite.CallID()))
	r.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	return r
}

// bye hangs up from the stream phone.
func (u *streamUA) bye(c *streamCall) *sip.Response {
	u.t.Helper()
	return u.final(u.inDialog(c, sip.BYE, c.invite.CSeq().SeqNo+1), nil)
}

// waitRequest returns the next request of a method the server sent to
// the phone, answering it 200 OK.
func (u *streamUA) waitRequest(method sip.RequestMethod, within time.Duration) *sip.Request {
	u.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case r := <-u.reqs:
			res := sip.NewResponseFromRequest(r, 200, "OK", nil)
			u.send(res)
			if r.Method == method {
				return r
			}
		case <-deadline:
			u.t.Fatalf("%s: no %s within %v", u.transport, method, within)
			return nil
		}
	}
}

// answer waits for an INVITE to the phone and answers it 180 then 200
// with SDP; the ACK that follows is left in reqs.
func (u *streamUA) answer(within time.Duration) *sip.Request {
	u.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case r := <-u.reqs:
			if r.Method != sip.INVITE {
				u.send(sip.NewResponseFromRequest(r, 200, "OK", nil))
				continue
			}
			tag := sip.GenerateTagN(10)
			ring := sip.NewResponseFromRequest(r, 180, "Ringing", nil)
			ring.To().Params.Add("tag", tag)
			u.send(ring)
			ok := sip.NewResponseFromRequest(r, 200, "OK", []byte(sdpAnswer))
			ok.To().Params.Add("tag", tag)
			ok.AppendHeader(sip.NewHeader("Contact", u.contact(r.Recipient.User)))
			ok.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			u.send(ok)
			return r
		case <-deadline:
			u.t.Fatalf("%s: no INVITE within %v", u.transport, within)
			return nil
		}
	}
}

// next returns the next request the server sent, unanswered.
func (u *streamUA) next(within time.Duration) *sip.Request {
	u.t.Helper()
	select {
	case r := <-u.reqs:
		return r
	case <-time.After(within):
		u.t.Fatalf("%s: no request within %v", u.transport, within)
		return nil
	}
}

// answerInBackground answers 200 to every request until one of method has
// come (delivered on the channel) or within has passed (channel closed
// empty), so a test can send the request that causes it and wait on both.
func (u *streamUA) answerInBackground(method sip.RequestMethod, within time.Duration) <-chan *sip.Request {
	out := make(chan *sip.Request, 1)
	go func() {
		defer close(out)
		deadline := time.After(within)
		for {
			select {
			case r := <-u.reqs:
				res := sip.NewResponseFromRequest(r, 200, "OK", nil)
				res.SetBody(nil)
				_ = u.write([]byte(res.String()))
				if r.Method == method {
					out <- r
					return
				}
			case <-deadline:
				return
			}
		}
	}()
	return out
}
