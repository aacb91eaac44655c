package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/resolve/dnstest"
)

// newTLSCarrier is a fake carrier (carrier_test.go's behaviour) serving
// SIP over TLS on ip with the certificate l; the connections it opens
// trust the CAs of trust (nil = the system roots).
func newTLSCarrier(t *testing.T, name, ip string, l leaf, trust *x509.CertPool) *carrier {
	t.Helper()
	cert, err := tls.X509KeyPair(l.certPEM, l.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("fake-carrier-"+name),
		sipgo.WithUserAgenTLSConfig(&tls.Config{RootCAs: trust}),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerUnhandledResponseHandler(func(*sip.Response) {})))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	c := &carrier{t: t, name: name, transport: "TLS", ua: ua, closed: make(chan struct{})}
	sv.OnInvite(c.onInvite)
	sv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {
		c.mu.Lock()
		c.acks = append(c.acks, req)
		c.mu.Unlock()
	})
	sv.OnBye(c.onBye)
	sv.OnRegister(c.onRegister)
	sv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		c.mu.Lock()
		c.options++
		c.mu.Unlock()
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	ln, err := tls.Listen("tcp", ip+":0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	c.addr = ln.Addr().String()
	go sv.ServeTLS(ln)
	// Connections it opens leave from its own address, as a carrier's do.
	if c.client, err = sipgo.NewClient(ua, sipgo.WithClientHostname(ip), sipgo.WithClientConnectionAddr(ip+":0")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		close(c.closed)
		ln.Close()
		ua.Close()
	})
	return c
}

// TestTrunkTLS: outbound calls to carriers over TLS, the carrier's
// certificate verified against the trunk's tls_ca and the trunk's name:
// an IP-addressed carrier whose certificate names its IP, a carrier
// addressed by DNS name whose certificate names that host, and a carrier
// whose certificate another CA issued, which is never sent the call.
func TestTrunkTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, rogue := newTestCA(t), newTestCA(t)
	caFile := filepath.Join(dir, "ca.pem")
	writeFile(t, caFile, string(ca.pem))

	good := newTLSCarrier(t, "good", "127.0.0.2", ca.issue(t, 7, time.Time{}), nil)
	named := newTLSCarrier(t, "named", "127.0.0.2", ca.issue(t, 8, time.Time{}, "sbc.carrier.test"), nil)
	wrong := newTLSCarrier(t, "wrong", "127.0.0.2", ca.issue(t, 9, time.Time{}), nil) // names 127.0.0.2, not sbc.carrier.test
	bad := newTLSCarrier(t, "rogue", "127.0.0.2", rogue.issue(t, 10, time.Time{}), nil)

	dns, err := dnstest.Start("sbc.carrier.test. 60 IN A 127.0.0.2", "wrong.carrier.test. 60 IN A 127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dns.Close)
	extra := fmt.Sprintf(`dns: {servers: [%q], timeout: 1s}
trunks:
  - {name: good, address: %q, transport: tls, tls_ca: %q, private: true, probe: 300ms}
  - {name: named, address: "sbc.carrier.test:%s", transport: tls, tls_ca: %q, private: true}
  - {name: wrong, address: "wrong.carrier.test:%s", transport: tls, tls_ca: %q, private: true}
  - {name: rogue, address: %q, transport: tls, tls_ca: %q, private: true}
`, dns.Addr(), good.addr, caFile, named.port(), caFile, wrong.port(), caFile, bad.addr, caFile)
	directory := "tenants:\n" + trunkTenant("good.example", 0, "good") + trunkTenant("named.example", 1, "named") +
		trunkTenant("wrong.example", 2, "wrong") + trunkTenant("rogue.example", 3, "rogue")
	srv := start(t, options{Directory: directory, Extra: extra, Security: "  requests_per_second: 0\n"})
	caller := newPeer(t, srv, "caller", "127.0.0.1", "UDP")

	for _, tc := range []struct {
		tenant string
		c      *carrier
	}{{"good.example", good}, {"named.example", named}} {
		t.Run(tc.c.name, func(t *testing.T) {
			c, res := dialOut(t, caller, tc.tenant, "+14085551234")
			wantStatus(t, res, 200)
			inv := tc.c.last("invite")
			if inv == nil || inv.Transport() != "TLS" {
				t.Fatalf("carrier %s got INVITE %v, want one over TLS", tc.c.name, inv)
			}
			if v := inv.Via(); v.Transport != "TLS" {
				t.Errorf("INVITE to the carrier has top Via %q, want SIP/2.0/TLS", v.Value())
			}
			finish(t, c)
			waitUntil(t, 3*time.Second, "the BYE at the carrier", func() bool { return tc.c.count("bye") == 1 })
		})
	}
	for _, tc := range []struct {
		tenant, trunk string
		c             *carrier
	}{{"wrong.example", "wrong", wrong}, {"rogue.example", "rogue", bad}} {
		t.Run(tc.trunk+" refused", func(t *testing.T) {
			_, res := dialOut(t, caller, tc.tenant, "+14085551234")
			if res.StatusCode == 200 {
				t.Fatalf("call through a carrier with an unverifiable certificate answered 200")
			}
			if n := tc.c.count("invite"); n != 0 {
				t.Errorf("carrier with an unverifiable certificate got %d INVITEs", n)
			}
			srv.waitMetric(t, attempts(tc.trunk, "send_failed"), 1, 2*time.Second)
		})
	}
	// The OPTIONS probes reach the carrier over TLS too.
	waitUntil(t, 5*time.Second, "OPTIONS probes at the TLS carrier", func() bool { return good.count("options") > 0 })
}

// TestTrunkTLSRegistration: switchboard registers at a carrier over TLS
// with a Contact naming its tls:// listener, and the carrier's inbound call
// to that Contact (over a connection the carrier opens, verifying our
// certificate) rings the user of the DID.
func TestTrunkTLSRegistration(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := newTestCA(t)
	caFile := filepath.Join(dir, "ca.pem")
	writeFile(t, caFile, string(ca.pem))
	reg := newTLSCarrier(t, "registrar", "127.0.0.2", ca.issue(t, 11, time.Time{}), ca.pool)
	reg.set(func(b *carrierBehaviour) { b.User, b.Password = "acme-trunk", "s3cret" })
	writeFile(t, filepath.Join(dir, "reg.secret"), "s3cret")
	extra := fmt.Sprintf(`trunks:
  - {name: reg, address: %q, transport: tls, tls_ca: %q, username: acme-trunk, password_file: %q, register: true, did_from: to}
`, reg.addr, caFile, filepath.Join(dir, "reg.secret"))
	// The server's certificate comes from the same CA, so the carrier trusts it.
	e := newTLSEnvCA(t, ca, options{Extra: extra})
	phone := newPeer(t, e.srv, "7001", "127.0.0.1", "UDP")
	phone.register("7001", alice)

	e.srv.waitMetric(t, `switchboard_trunk_registration_up{trunk="reg"}`, 1, 10*time.Second)
	r := reg.last("register")
	if r.Transport() != "TLS" {
		t.Errorf("REGISTER reached the carrier over %s, want TLS", r.Transport())
	}
	if c := reg.registeredContact(); !strings.Contains(c, ":"+portStr(e.tlsAddr)) || !strings.Contains(c, "transport=tls") {
		t.Errorf("registered Contact %q, want the tls:// listener (port %s) with transport=tls", c, portStr(e.tlsAddr))
	}
	res := reg.callIn(t, "+14155550101")
	wantStatus(t, res, 200)
	phone.waitRequest(sip.INVITE, 1, 3*time.Second)
}
