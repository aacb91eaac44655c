package sip

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/sip/auth"
)

func TestParseInstance(t *testing.T) {
	for id, want := range map[string]string{
		"udp:10.0.0.5:5060":       "udp 10.0.0.5:5060",
		"tcp:[2001:db8::5]:5070":  "tcp [2001:db8::5]:5070",
		"tcp:pbx-a.internal:5060": "tcp pbx-a.internal:5060",
		"myhost":                  "", // the host name earlier versions stored
		"tls:10.0.0.5:5061":       "",
		"udp:0.0.0.0:5060":        "",
		"udp:10.0.0.5":            "",
		"udp:10.0.0.5:0":          "",
		"":                        "",
	} {
		in, ok := parseInstance(id)
		got := ""
		if ok {
			got = in.transport + " " + in.hostPort()
		}
		if got != want {
			t.Errorf("parseInstance(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestInstanceID(t *testing.T) {
	for _, tc := range []struct {
		name, advertise, override string
		bound                     []boundAddr
		want                      string
	}{
		{"first listener", "", "", []boundAddr{{"udp", "10.0.0.5", 5060}, {"tcp", "10.0.0.5", 5060}}, "udp:10.0.0.5:5060"},
		{"tcp first", "pbx.example.com", "", []boundAddr{{"tcp", "10.0.0.5", 5070}}, "tcp:10.0.0.5:5070"},
		{"any address, advertised", "203.0.113.9", "", []boundAddr{{"udp", "0.0.0.0", 5060}}, "udp:203.0.113.9:5060"},
		{"any address, advertised with port", "203.0.113.9:5080", "", []boundAddr{{"udp", "::", 5060}}, "udp:203.0.113.9:5080"},
		{"any address, nothing advertised", "", "", []boundAddr{{"udp", "0.0.0.0", 5060}}, ""},
		{"configured", "", "tcp:10.1.1.1:5060", []boundAddr{{"udp", "10.0.0.5", 5060}}, "tcp:10.1.1.1:5060"},
	} {
		s := &Server{cfg: Config{Advertise: tc.advertise, Instance: tc.override}, bound: tc.bound}
		if got := s.instanceID(); got != tc.want {
			t.Errorf("%s: instanceID = %q, want %q", tc.name, got, tc.want)
		}
	}
}

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// newRelayServer is a test server that is instance udp:127.0.0.1:5060 and
// shares testSecret.
func newRelayServer(t *testing.T, secret []byte) (*Server, *location.Memory) {
	t.Helper()
	demo, err := dialplan.Demo()
	if err != nil {
		t.Fatal(err)
	}
	store := dialplan.NewMemoryStore()
	if err := store.Replace(context.Background(), demo); err != nil {
		t.Fatal(err)
	}
	loc := location.NewMemory(nil)
	s, err := New(Config{NonceSecret: secret}, store, loc, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.addOwn("udp", "127.0.0.1:5060")
	s.instance = s.instanceID()
	return s, loc
}

func TestRelayRoute(t *testing.T) {
	s, _ := newRelayServer(t, testSecret)
	b := location.Binding{AOR: "bob@acme.example", Contact: "sip:7002@192.0.2.7:40000;transport=tcp",
		Source: "192.0.2.7:40123", Transport: "tcp", Instance: "udp:127.0.0.2:5060", Expires: time.Now().Add(time.Hour)}
	in, route, ok := s.relayRoute(b, "call-1")
	if !ok || in.hostPort() != "127.0.0.2:5060" || in.transport != "udp" {
		t.Fatalf("relayRoute = %+v, %v; want udp 127.0.0.2:5060", in, ok)
	}
	tok, _ := route.Address.UriParams.Get(flowParam)
	f, err := auth.VerifyFlow(testSecret, tok, time.Now())
	if err != nil || f.AOR != b.AOR || f.Source != b.Source || f.Transport != "tcp" || f.CallID != "call-1" {
		t.Fatalf("token names %+v, %v", f, err)
	}
	if d := time.Until(f.Expires); d > flowTokenTTL || d < flowTokenTTL-5*time.Second {
		t.Errorf("token expires in %v, want about %v", d, flowTokenTTL)
	}
	if !route.Address.UriParams.Has("lr") || !strings.Contains(route.Value(), ";lr") {
		t.Errorf("Route %q is not loose", route.Value())
	}

	direct := map[string]func(*location.Binding){
		"udp phone":       func(b *location.Binding) { b.Transport = "udp" },
		"held here":       func(b *location.Binding) { b.Instance = s.instance },
		"no instance":     func(b *location.Binding) { b.Instance = "" },
		"old instance id": func(b *location.Binding) { b.Instance = "myhost" },
	}
	for name, edit := range direct {
		bb := b
		edit(&bb)
		if _, _, ok := s.relayRoute(bb, "call-1"); ok {
			t.Errorf("%s: relayed, want direct", name)
		}
	}
	lone, _ := newRelayServer(t, nil)
	if _, _, ok := lone.relayRoute(b, "call-1"); ok {
		t.Errorf("relayed without a shared secret")
	}
}

func relayedInvite(t *testing.T, tok string) []byte {
	t.Helper()
	return []byte("INVITE sip:7002@192.0.2.7:40000;transport=tcp SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bKrelay1\r\n" +
		"Route: <sip:127.0.0.1:5060;transport=udp;lr;sb-flow=" + tok + ">\r\n" +
		"Max-Forwards: 69\r\n" +
		"From: <sip:7001@acme.example>;tag=a73kszlfl\r\n" +
		"To: <sip:7002@acme.example>\r\n" +
		"Call-ID: relay-1@127.0.0.2\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"Content-Length: 0\r\n\r\n")
}

func TestRelayInviteRefused(t *testing.T) {
	s, loc := newRelayServer(t, testSecret)
	flow := auth.Flow{AOR: "bob@acme.example", Source: "192.0.2.7:40123", Transport: "tcp",
		CallID: "relay-1@127.0.0.2", Expires: time.Now().Add(time.Minute)}
	// The binding is held here, but no connection is open (no sockets in
	// this test): a valid token still rings nothing.
	_, err := loc.Update(context.Background(), flow.AOR, "acme.example", func(now time.Time, _ []location.Binding) ([]location.Binding, error) {
		return []location.Binding{{AOR: flow.AOR, Tenant: "acme.example", Contact: "sip:7002@192.0.2.7:40000;transport=tcp",
			Source: flow.Source, Transport: "tcp", Instance: s.instance, Expires: now.Add(time.Hour)}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	expired, otherCall, otherSource := flow, flow, flow
	expired.Expires = time.Now().Add(-time.Second)
	otherCall.CallID = "other@127.0.0.2"
	otherSource.Source = "192.0.2.7:40999"
	for _, tc := range []struct {
		name string
		tok  string
		code int
	}{
		{"garbage", "abc.def", 403},
		{"forged", auth.SignFlow([]byte("fedcba9876543210fedcba9876543210"), flow), 403},
		{"expired", auth.SignFlow(testSecret, expired), 403},
		{"other call", auth.SignFlow(testSecret, otherCall), 403},
		{"flow not stored", auth.SignFlow(testSecret, otherSource), 430},
		{"connection gone", auth.SignFlow(testSecret, flow), 430},
	} {
		tx := newFakeTx()
		s.handle(parseRequest(t, relayedInvite(t, tc.tok)), tx)
		if tx.res == nil || tx.res.StatusCode != tc.code {
			t.Errorf("%s: %v, want %d", tc.name, tx.res, tc.code)
		}
	}
	if n := s.dialogs.Len(); n != 0 {
		t.Errorf("%d dialogs after refused relays", n)
	}

	// An instance without the shared secret accepts no token.
	lone, _ := newRelayServer(t, nil)
	tx := newFakeTx()
	lone.handle(parseRequest(t, relayedInvite(t, auth.SignFlow(testSecret, flow))), tx)
	if tx.res == nil || tx.res.StatusCode != 403 {
		t.Errorf("without a secret: %v, want 403", tx.res)
	}
}
