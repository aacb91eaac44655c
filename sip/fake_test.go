package sip

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/location"
)

// fakeTx is a sip.ServerTransaction that records the response instead of
// sending it: the handlers run without sockets.
type fakeTx struct {
	res  *sip.Response
	done chan struct{}
}

func newFakeTx() *fakeTx { return &fakeTx{done: make(chan struct{})} }

func (f *fakeTx) Respond(res *sip.Response) error    { f.res = res; return nil }
func (f *fakeTx) Acks() <-chan *sip.Request          { return nil }
func (f *fakeTx) OnCancel(sip.FnTxCancel) bool       { return false }
func (f *fakeTx) Terminate()                         {}
func (f *fakeTx) OnTerminate(sip.FnTxTerminate) bool { return false }
func (f *fakeTx) Done() <-chan struct{}              { return f.done }
func (f *fakeTx) Err() error                         { return nil }

var _ sip.ServerTransaction = (*fakeTx)(nil)

// newTestServer builds a Server on the demo directory and a fresh registry,
// without opening sockets.
func newTestServer(tb testing.TB) (*Server, *prometheus.Registry, *location.Memory) {
	tb.Helper()
	demo, err := dialplan.Demo()
	if err != nil {
		tb.Fatal(err)
	}
	store := dialplan.NewMemoryStore()
	if err := store.Replace(context.Background(), demo); err != nil {
		tb.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	loc := location.NewMemory(nil)
	s, err := New(Config{}, store, loc, reg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s, reg, loc
}

// registerBytes is a REGISTER for 7001@acme.example from a phone at
// 192.0.2.10, with an optional Authorization header value.
func registerBytes(cseq int, branch, authz string) []byte {
	msg := "REGISTER sip:acme.example SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK" + branch + ";rport\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:7001@acme.example>;tag=a73kszlfl\r\n" +
		"To: <sip:7001@acme.example>\r\n" +
		"Call-ID: 1j9FpLxk3uxtm8tn@192.0.2.10\r\n" +
		fmt.Sprintf("CSeq: %d REGISTER\r\n", cseq) +
		"Contact: <sip:7001@192.0.2.10:5060;transport=udp>;expires=3600\r\n" +
		"User-Agent: bench\r\n"
	if authz != "" {
		msg += "Authorization: " + authz + "\r\n"
	}
	return []byte(msg + "Content-Length: 0\r\n\r\n")
}

func parseRequest(tb testing.TB, b []byte) *sip.Request {
	tb.Helper()
	msg, err := sip.ParseMessage(b)
	if err != nil {
		tb.Fatalf("parse: %v", err)
	}
	req := msg.(*sip.Request)
	req.SetSource("192.0.2.10:5060")
	req.SetDestination("127.0.0.1:5060")
	req.SetTransport("UDP")
	return req
}

// challenge runs an unauthenticated REGISTER through the handler and
// returns the WWW-Authenticate challenge.
func challenge(tb testing.TB, s *Server) *digest.Challenge {
	tb.Helper()
	tx := newFakeTx()
	s.handle(parseRequest(tb, registerBytes(1, "c0", "")), tx)
	if tx.res == nil || tx.res.StatusCode != 401 {
		tb.Fatalf("unauthenticated REGISTER: %v, want 401", tx.res)
	}
	chal, err := digest.ParseChallenge(tx.res.GetHeader("WWW-Authenticate").Value())
	if err != nil {
		tb.Fatal(err)
	}
	return chal
}

func credentials(tb testing.TB, chal *digest.Challenge, password string, nc int) string {
	tb.Helper()
	cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:acme.example",
		Username: "7001", Password: password, Count: nc})
	if err != nil {
		tb.Fatal(err)
	}
	return cred.String()
}

func TestHandleRegister(t *testing.T) {
	s, _, loc := newTestServer(t)
	chal := challenge(t, s)
	tx := newFakeTx()
	s.handle(parseRequest(t, registerBytes(2, "c1", credentials(t, chal, "alice7001", 1))), tx)
	if tx.res == nil || tx.res.StatusCode != 200 {
		t.Fatalf("authenticated REGISTER: %v, want 200", tx.res)
	}
	got, err := loc.Lookup(context.Background(), "alice@acme.example")
	if err != nil || len(got) != 1 {
		t.Fatalf("bindings of alice = %v, %v; want one", got, err)
	}
	if got[0].Source != "192.0.2.10:5060" || got[0].Transport != "udp" {
		t.Errorf("binding flow = %s %s, want udp 192.0.2.10:5060", got[0].Transport, got[0].Source)
	}
	if d := time.Until(got[0].Expires); d < 59*time.Minute || d > time.Hour {
		t.Errorf("binding expires in %v, want about 1h", d)
	}
}

func parseChallengeHeader(v string) (*digest.Challenge, error) { return digest.ParseChallenge(v) }
