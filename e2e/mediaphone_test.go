package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/switchboard/switchboard/media"
)

// mediaPhone is a sipgo user agent with a real RTP socket, for the calls
// switchboard answers itself (attendant, screening): it places or answers
// one call at a time with an SDP offering PCMU and telephone-event/8000,
// streams 20 ms PCMU frames filled with its own byte (so a test can tell
// whose audio arrives), sends RFC 4733 or SIP INFO key presses, and counts
// the RTP it receives by payload type and by fill byte.
type mediaPhone struct {
	t      *testing.T
	srv    *server
	name   string
	addr   string // SIP host:port (UDP)
	fill   byte   // the byte its audio frames are filled with
	client *sipgo.Client
	rtp    *net.UDPConn
	closed chan struct{}

	mu      sync.Mutex
	answer  answer // how it answers INVITEs
	remote  netip.AddrPort
	invite  *sip.Request  // the call's INVITE (sent or received)
	ok      *sip.Response // the call's 2xx (sent or received)
	local   bool          // we sent the INVITE
	resps   []*sip.Response
	got     []*sip.Request
	cseq    uint32
	seq     uint16
	ts      uint32
	ssrc    uint32
	rxPT    map[uint8]int
	rxFill  map[byte]int
	rxFirst time.Time
	rxLast  time.Time
	hungUp  bool // received BYE

	streaming atomic.Bool
	// lateOffer: the next call's INVITE carries no SDP; the answer goes in
	// the ACK (RFC 3264 late offer).
	lateOffer atomic.Bool
	mute      atomic.Bool // never stream audio (an RTP-silent peer)
	// tap, when set, sees every RTP packet received (moh_test.go).
	tap atomic.Pointer[func(*rtp.Packet)]
}

func newMediaPhone(t *testing.T, srv *server, name, ip string, fill byte) *mediaPhone {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("switchboard-e2e-"+name),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerUnhandledResponseHandler(func(*sip.Response) {})))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	p := &mediaPhone{t: t, srv: srv, name: name, fill: fill, closed: make(chan struct{}),
		answer: answer{Ring: true, Code: 200}, rxPT: map[uint8]int{}, rxFill: map[byte]int{},
		ssrc: uint32(time.Now().UnixNano()), seq: 1000, ts: 5000}
	sv.OnInvite(p.onInvite)
	sv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { p.record(req) })
	sv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		p.record(req)
		p.mu.Lock()
		p.hungUp = true
		p.mu.Unlock()
		p.streaming.Store(false)
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	sv.OnCancel(func(req *sip.Request, tx sip.ServerTransaction) {
		p.record(req)
		tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
	})
	sv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) { // transfer progress (b2btransfer_test.go)
		p.record(req)
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	sv.OnInfo(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	l := listenSIP(t, ip, "UDP")
	p.addr = l.addr
	if p.client, err = sipgo.NewClient(ua, l.serve(t, ua, sv)...); err != nil {
		t.Fatal(err)
	}
	if p.rtp, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)}); err != nil {
		t.Fatal(err)
	}
	go p.readRTP()
	go p.stream()
	t.Cleanup(func() {
		close(p.closed)
		p.rtp.Close()
		ua.Close()
	})
	return p
}

func (p *mediaPhone) record(req *sip.Request) {
	p.mu.Lock()
	p.got = append(p.got, req)
	p.mu.Unlock()
}

// requests returns the requests of a method received so far.
func (p *mediaPhone) requests(method sip.RequestMethod) []*sip.Request {
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

func (p *mediaPhone) waitRequest(method sip.RequestMethod, within time.Duration) *sip.Request {
	p.t.Helper()
	var got []*sip.Request
	waitUntil(p.t, within, p.name+" receives "+string(method), func() bool { got = p.requests(method); return len(got) > 0 })
	return got[0]
}

func (p *mediaPhone) sdp() []byte {
	a := p.rtp.LocalAddr().(*net.UDPAddr)
	return fmt.Appendf(nil, "v=0\r\no=- 1 1 IN IP4 %[1]s\r\ns=-\r\nc=IN IP4 %[1]s\r\nt=0 0\r\n"+
		"m=audio %[2]d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n",
		a.IP, a.Port)
}

// setRemote reads the peer's RTP address from an SDP body.
func (p *mediaPhone) setRemote(body []byte) {
	var ip string
	var port int
	for line := range strings.Lines(string(body)) {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "c=IN IP4 "); ok {
			ip = v
		}
		if v, ok := strings.CutPrefix(line, "m=audio "); ok {
			port, _ = strconv.Atoi(strings.Fields(v)[0])
		}
	}
	ap, err := netip.ParseAddrPort(net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		p.t.Errorf("%s: SDP without an address: %q", p.name, body)
		return
	}
	p.mu.Lock()
	p.remote = ap
	p.mu.Unlock()
}

func (p *mediaPhone) readRTP() {
	buf := make([]byte, 1500)
	for {
		n, err := p.rtp.Read(buf)
		if err != nil {
			return
		}
		var pkt rtp.Packet
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		if f := p.tap.Load(); f != nil {
			(*f)(&pkt)
		}
		p.mu.Lock()
		p.rxPT[pkt.PayloadType]++
		if pkt.PayloadType == 0 && len(pkt.Payload) > 0 && bytes.Count(pkt.Payload, pkt.Payload[:1]) == len(pkt.Payload) {
			p.rxFill[pkt.Payload[0]]++
		}
		now := time.Now()
		if p.rxFirst.IsZero() {
			p.rxFirst = now
		}
		p.rxLast = now
		p.mu.Unlock()
	}
}

// received returns how many packets of a payload type arrived.
func (p *mediaPhone) received(pt uint8) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rxPT[pt]
}

// receivedFill returns how many PCMU frames filled with b arrived: audio
// from the phone that fills its frames with b.
func (p *mediaPhone) receivedFill(b byte) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rxFill[b]
}

// stream sends a frame every 20 ms while streaming is on.
func (p *mediaPhone) stream() {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	frame := bytes.Repeat([]byte{p.fill}, 160)
	for {
		select {
		case <-p.closed:
			return
		case <-tick.C:
			if p.streaming.Load() && !p.mute.Load() {
				p.send(0, false, frame, nil)
			}
		}
	}
}

// send sends one RTP packet; ts nil means the next audio timestamp.
func (p *mediaPhone) send(pt uint8, marker bool, payload []byte, ts *uint32) {
	p.mu.Lock()
	to := p.remote
	p.seq++
	h := rtp.Header{Version: 2, PayloadType: pt, Marker: marker, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: p.ssrc}
	if ts != nil {
		h.Timestamp = *ts
	} else {
		p.ts += 160
	}
	p.mu.Unlock()
	if !to.IsValid() {
		return
	}
	b, _ := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
	p.rtp.WriteToUDPAddrPort(b, to)
}

// pressRTP sends a key as RFC 4733 events (PT 101), 100 ms long.
func (p *mediaPhone) pressRTP(key byte) {
	p.t.Helper()
	events, err := media.DTMFEvents(key, 800)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	start := p.ts
	p.ts += 800 // a new event: a new timestamp even when no audio flows
	p.mu.Unlock()
	for i, ev := range events {
		p.send(101, i == 0, ev, &start)
		time.Sleep(20 * time.Millisecond)
	}
}

// pressRTPKeys presses several keys in a row.
func (p *mediaPhone) pressRTPKeys(keys string) {
	for i := range len(keys) {
		p.pressRTP(keys[i])
		time.Sleep(60 * time.Millisecond)
	}
}

// call places a call to number through the server from a caller number,
// with our SDP (or the body given), and reads its responses.
func (p *mediaPhone) call(number, from string, body []byte) {
	p.t.Helper()
	if body == nil {
		body = p.sdp()
	}
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: number, Host: hostOf(p.srv.Addr), Port: portOf(p.srv.Addr)})
	req.SetDestination(p.srv.Addr)
	req.SetTransport("UDP")
	f := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: from, Host: hostOf(p.addr)}, Params: sip.NewParams()}
	f.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(f)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: number, Host: hostOf(p.srv.Addr)}, Params: sip.NewParams()})
	cid := sip.CallIDHeader(fmt.Sprintf("media-%s-%d@e2e", p.name, time.Now().UnixNano()))
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<sip:%s@%s>", p.name, p.addr)))
	if p.lateOffer.Load() {
		body = nil
	} else {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	req.SetBody(body)
	p.mu.Lock()
	p.invite, p.ok, p.local, p.cseq, p.resps, p.hungUp = req, nil, true, 1, nil, false
	p.mu.Unlock()
	tx, err := p.client.TransactionRequest(context.Background(), req)
	if err != nil {
		p.t.Fatalf("%s: INVITE: %v", p.name, err)
	}
	go p.follow(tx)
}

// follow collects the responses to the phone's INVITE; on a 2xx it ACKs
// and starts streaming to the answer's media address.
func (p *mediaPhone) follow(tx sip.ClientTransaction) {
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			p.mu.Lock()
			p.resps = append(p.resps, res)
			p.mu.Unlock()
			if res.IsSuccess() {
				p.mu.Lock()
				p.ok = res
				p.mu.Unlock()
				p.setRemote(res.Body())
				p.ack()
				p.streaming.Store(true)
			}
			if res.StatusCode >= 200 {
				return
			}
		case <-tx.Done():
			return
		case <-p.closed:
			return
		}
	}
}

// final waits for the final response to the call's INVITE.
func (p *mediaPhone) final(within time.Duration) *sip.Response {
	p.t.Helper()
	var res *sip.Response
	waitUntil(p.t, within, p.name+" final response", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, r := range p.resps {
			if r.StatusCode >= 200 {
				res = r
				return true
			}
		}
		return false
	})
	return res
}

func (p *mediaPhone) waitFinal(code int, within time.Duration) *sip.Response {
	p.t.Helper()
	res := p.final(within)
	if res.StatusCode != code {
		p.t.Fatalf("%s: INVITE answered %d %s, want %d", p.name, res.StatusCode, res.Reason, code)
	}
	return res
}

// inDialog builds a request in the current call's dialog.
func (p *mediaPhone) inDialog(method sip.RequestMethod) *sip.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	inv, ok := p.invite, p.ok
	var r *sip.Request
	if p.local {
		r = sip.NewRequest(method, *ok.Contact().Address.Clone())
		rrs := ok.GetHeaders("Record-Route")
		for i := len(rrs) - 1; i >= 0; i-- {
			r.AppendHeader(sip.NewHeader("Route", rrs[i].Value()))
		}
		r.AppendHeader(sip.HeaderClone(inv.From()))
		r.AppendHeader(sip.HeaderClone(ok.To()))
	} else {
		r = sip.NewRequest(method, *inv.Contact().Address.Clone())
		for _, h := range inv.GetHeaders("Record-Route") {
			r.AppendHeader(sip.NewHeader("Route", h.Value()))
		}
		r.AppendHeader(&sip.FromHeader{Address: ok.To().Address, Params: ok.To().Params.Clone()})
		r.AppendHeader(&sip.ToHeader{Address: inv.From().Address, Params: inv.From().Params.Clone()})
	}
	r.AppendHeader(sip.HeaderClone(inv.CallID()))
	seq := inv.CSeq().SeqNo
	if method != sip.ACK {
		p.cseq++
		seq = p.cseq
	}
	r.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	r.SetTransport("UDP")
	return r
}

func (p *mediaPhone) ack() {
	ack := p.inDialog(sip.ACK)
	if p.lateOffer.Load() {
		ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		ack.SetBody(p.sdp())
	}
	if err := p.client.WriteRequest(ack); err != nil {
		p.t.Errorf("%s: ACK: %v", p.name, err)
	}
}

func (p *mediaPhone) do(req *sip.Request) *sip.Response {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.client.Do(ctx, req)
	if err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, req.Method, err)
	}
	return res
}

// bye hangs up the current call; 200 is required.
func (p *mediaPhone) bye() {
	p.t.Helper()
	p.streaming.Store(false)
	if res := p.do(p.inDialog(sip.BYE)); res.StatusCode != 200 {
		p.t.Errorf("%s: BYE answered %d", p.name, res.StatusCode)
	}
}

// pressInfo sends a key as SIP INFO application/dtmf-relay.
func (p *mediaPhone) pressInfo(key byte) {
	p.t.Helper()
	r := p.inDialog(sip.INFO)
	r.AppendHeader(sip.NewHeader("Content-Type", "application/dtmf-relay"))
	r.SetBody(fmt.Appendf(nil, "Signal=%c\r\nDuration=160\r\n", key))
	if res := p.do(r); res.StatusCode != 200 {
		p.t.Errorf("%s: INFO answered %d", p.name, res.StatusCode)
	}
}

// cancel sends CANCEL for the call's INVITE.
func (p *mediaPhone) cancel() {
	p.t.Helper()
	p.mu.Lock()
	inv := p.invite
	p.mu.Unlock()
	r := sip.NewRequest(sip.CANCEL, *inv.Recipient.Clone())
	r.AppendHeader(inv.Via().Clone())
	r.AppendHeader(sip.HeaderClone(inv.From()))
	r.AppendHeader(sip.HeaderClone(inv.To()))
	r.AppendHeader(sip.HeaderClone(inv.CallID()))
	r.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	r.SetTransport("UDP")
	r.SetDestination(p.srv.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.client.Do(ctx, r, func(*sipgo.Client, *sip.Request) error { return nil }); err != nil {
		p.t.Fatalf("%s: CANCEL: %v", p.name, err)
	}
}

// register binds aor to this phone with u's credentials.
func (p *mediaPhone) register(aor string, u user) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	uri := sip.Uri{Scheme: "sip", User: aor, Host: domain}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: domain})
	req.SetDestination(p.srv.Addr)
	req.SetTransport("UDP")
	from := &sip.FromHeader{Address: uri, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: uri, Params: sip.NewParams()})
	cid := sip.CallIDHeader(fmt.Sprintf("reg-%s-%d@e2e", p.name, time.Now().UnixNano()))
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.REGISTER})
	req.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<sip:%s@%s;transport=udp>", aor, p.addr)))
	req.AppendHeader(sip.NewHeader("Expires", "300"))
	res, err := p.client.Do(ctx, req)
	if err == nil && res.StatusCode == 401 {
		res, err = p.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: u.ext, Password: u.password})
	}
	if err != nil || res.StatusCode != 200 {
		p.t.Fatalf("%s: REGISTER %s: %v %v", p.name, aor, err, res)
	}
}

func (p *mediaPhone) setAnswer(a answer) {
	p.mu.Lock()
	p.answer = a
	p.mu.Unlock()
}

// onInvite answers per p.answer with our SDP; the call becomes current.
func (p *mediaPhone) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	p.record(req)
	if req.To().Params.Has("tag") {
		res := sip.NewResponseFromRequest(req, 200, "OK", p.sdp())
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		tx.Respond(res)
		return
	}
	p.mu.Lock()
	ans := p.answer
	p.mu.Unlock()
	cancelled := make(chan struct{})
	tx.OnCancel(func(r *sip.Request) { p.record(r); close(cancelled) })
	tag := sip.GenerateTagN(10)
	mk := func(code int, reason string, body []byte) *sip.Response {
		res := sip.NewResponseFromRequest(req, code, reason, body)
		res.To().Params.Add("tag", tag)
		res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: p.name, Host: hostOf(p.addr), Port: portOf(p.addr)}})
		if body != nil {
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		}
		return res
	}
	if !ringThenAnswer(tx, ans, mk, cancelled, p.closed) {
		return
	}
	ok := mk(200, "OK", p.sdp())
	p.setRemote(req.Body())
	p.mu.Lock()
	p.invite, p.ok, p.local, p.cseq, p.hungUp = req, ok, false, 100, false
	p.mu.Unlock()
	p.streaming.Store(true)
	tx.Respond(ok)
	select {
	case <-tx.Acks():
	case <-tx.Done():
	case <-time.After(time.Second):
	case <-p.closed:
	}
}

// gotBye reports whether the current call was hung up by the other side.
func (p *mediaPhone) gotBye() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hungUp
}
