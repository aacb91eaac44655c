package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// phone is a sipgo-based test phone: it registers AORs to one server over
// one transport, keeping a Call-ID and CSeq per AOR the way a real phone
// refreshes its registration.
type phone struct {
	t         *testing.T
	srv       *server
	transport string // "UDP" or "TCP"
	client    *sipgo.Client
	callIDs   map[string]string
	cseqs     map[string]uint32
}

func newPhone(t *testing.T, srv *server, transport string) *phone {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("switchboard-e2e-phone"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	return &phone{t: t, srv: srv, transport: transport, client: client,
		callIDs: map[string]string{}, cseqs: map[string]uint32{}}
}

// reg is one REGISTER a phone sends.
type reg struct {
	AOR      string   // user part of the To URI: "7001", "alice-support"
	Contacts []string // Contact header values; none = a query
	Expires  int      // the Expires header; -1 = no Expires header
	As       user     // credentials
	Username string   // digest username; default As.ext
	Password string   // default As.password
}

// register sends r, answers a 401 challenge with digest credentials and
// returns the final response.
func (p *phone) register(r reg) *sip.Response {
	p.t.Helper()
	res, err := p.tryRegister(r)
	if err != nil {
		p.t.Fatalf("REGISTER %s over %s: %v", r.AOR, p.transport, err)
	}
	return res
}

func (p *phone) tryRegister(r reg) (*sip.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := p.newRegister(r)
	res, err := p.client.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode == sip.StatusUnauthorized {
		username, password := r.Username, r.Password
		if username == "" {
			username = r.As.ext
		}
		if password == "" {
			password = r.As.password
		}
		res, err = p.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: username, Password: password})
		if err != nil {
			return nil, err
		}
	}
	p.cseqs[r.AOR] = req.CSeq().SeqNo
	return res, nil
}

func (p *phone) newRegister(r reg) *sip.Request {
	aor := sip.Uri{Scheme: "sip", User: r.AOR, Host: domain}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: domain})
	req.SetDestination(p.srv.Addr)
	req.SetTransport(p.transport)
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
	callID, ok := p.callIDs[r.AOR]
	if !ok {
		callID = fmt.Sprintf("%s-%d@e2e", r.AOR, time.Now().UnixNano())
		p.callIDs[r.AOR] = callID
	}
	cid := sip.CallIDHeader(callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: p.cseqs[r.AOR] + 1, MethodName: sip.REGISTER})
	for _, c := range r.Contacts {
		req.AppendHeader(sip.NewHeader("Contact", c))
	}
	if r.Expires >= 0 {
		req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(r.Expires)))
	}
	return req
}

// bindings returns the Contact URIs of a 200 to REGISTER with their expires.
func bindings(t *testing.T, res *sip.Response) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			t.Fatalf("Contact %q not parsed as a Contact header", h.Value())
		}
		v, ok := c.Params.Get("expires")
		if !ok {
			t.Errorf("Contact %q has no expires parameter", h.Value())
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Errorf("Contact %q: expires %q: %v", h.Value(), v, err)
		}
		out[c.Address.String()] = n
	}
	return out
}

// wantStatus fails the test unless res has the status code.
func wantStatus(t *testing.T, res *sip.Response, code int) {
	t.Helper()
	if res.StatusCode != code {
		t.Fatalf("response %d %s, want %d\n%s", res.StatusCode, res.Reason, code, res.String())
	}
}

// contact builds a phone's Contact URI on a made-up local port.
func contact(user string, port int, transport string) string {
	return fmt.Sprintf("sip:%s@127.0.0.1:%d;transport=%s", user, port, strings.ToLower(transport))
}
