package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// tlsEnv is a server with a tls:// listener (and wss://, ws:// when asked) whose
// certificate a test CA issued.
type tlsEnv struct {
	srv       *server
	ca        *testCA
	tlsAddr   string
	wsAddr    string // wss:// host:port, "" when not asked
	plainWS   string // ws:// host:port, with wsAddr
	cert, key string
}

func newTLSEnv(t *testing.T, wss bool, opt options) *tlsEnv {
	t.Helper()
	return newTLSEnvWith(t, newTestCA(t), wss, opt)
}

// newTLSEnvCA is a tls:// server whose certificate ca issued.
func newTLSEnvCA(t *testing.T, ca *testCA, opt options) *tlsEnv {
	t.Helper()
	return newTLSEnvWith(t, ca, false, opt)
}

func newTLSEnvWith(t *testing.T, ca *testCA, wss bool, opt options) *tlsEnv {
	t.Helper()
	dir := t.TempDir()
	e := &tlsEnv{ca: ca, cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem")}
	e.ca.issue(t, 1001, time.Time{}).write(t, e.cert, e.key)
	e.tlsAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	opt.Listen = fmt.Sprintf("%q", "tls://"+e.tlsAddr)
	if wss {
		e.wsAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
		e.plainWS = net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
		opt.Listen += fmt.Sprintf(", %q, %q", "wss://"+e.wsAddr, "ws://"+e.plainWS)
	}
	opt.SIP += fmt.Sprintf("  tls: {cert: %q, key: %q}\n", e.cert, e.key)
	e.srv = start(t, opt)
	return e
}

// recordRoutes returns the transport= of each Record-Route, top first.
func recordRoutes(m sip.Message) []string {
	var out []string
	for _, h := range m.GetHeaders("Record-Route") {
		for _, v := range strings.Split(h.Value(), ",") {
			_, p, _ := strings.Cut(v, "transport=")
			p, _, _ = strings.Cut(p, ";")
			out = append(out, strings.TrimRight(p, ">"))
		}
	}
	return out
}

// TestTLSRegisterAndCall: a phone on a stdlib crypto/tls connection
// registers with digest and calls a UDP phone; the call is record-routed
// across the two transports and the UDP phone's BYE reaches the TLS phone
// over its connection. Then the UDP phone calls the TLS phone, and a phone
// using sips: URIs registers and is called.
func TestTLSRegisterAndCall(t *testing.T) {
	t.Parallel()
	e := newTLSEnv(t, false, options{})
	u, st := dialTLS(t, e.tlsAddr, e.ca.pool)
	if got := st.PeerCertificates[0].SerialNumber.Int64(); got != 1001 {
		t.Fatalf("server certificate serial %d, want 1001", got)
	}
	res := u.register("7001", alice)
	wantStatus(t, res, 200)
	if c := header(res, "Contact"); !strings.Contains(c, "transport=tls") {
		t.Errorf("200 to REGISTER lists Contact %q, want the transport=tls binding", c)
	}
	b := newPeer(t, e.srv, "7002", "127.0.0.1", "UDP")
	b.register("7002", bob)

	// TLS -> UDP, BYE from the UDP callee.
	c, res := u.call("7002", alice)
	if c == nil {
		t.Fatalf("INVITE over TLS: %d %s", res.StatusCode, res.Reason)
	}
	if got := recordRoutes(res); strings.Join(got, ",") != "udp,tls" {
		t.Errorf("200 Record-Route transports %v, want [udp tls] (RFC 5658 double record-route)\n%s", got, res)
	}
	inv := b.waitRequest(sip.INVITE, 1, 2*time.Second)
	if got := recordRoutes(inv); strings.Join(got, ",") != "udp,tls" {
		t.Errorf("callee's INVITE Record-Route transports %v, want [udp tls]", got)
	}
	if v := inv.Via(); v.Transport != "UDP" {
		t.Errorf("callee's INVITE top Via %q, want SIP/2.0/UDP", v.Value())
	}
	b.waitRequest(sip.ACK, 1, 2*time.Second)
	e.srv.waitMetric(t, callsActive, 1, 2*time.Second)
	byes := u.answerInBackground(sip.BYE, 5*time.Second)
	if res := b.byeFromCallee(c.ok.CallID().Value()); res.StatusCode != 200 {
		t.Fatalf("BYE from the UDP callee: %d %s", res.StatusCode, res.Reason)
	}
	bye := <-byes
	if bye == nil {
		t.Fatal("the BYE from the UDP callee did not reach the TLS phone")
	}
	if bye.CallID().Value() != c.ok.CallID().Value() {
		t.Errorf("BYE for %s, want %s", bye.CallID().Value(), c.ok.CallID().Value())
	}
	e.srv.waitMetric(t, callsActive, 0, 2*time.Second)

	// UDP -> TLS: the registrar delivers to the TLS connection.
	oc := b.call("7001", callOpts{As: &bob})
	in := u.answer(3 * time.Second)
	if in.Via().Transport != "TLS" {
		t.Errorf("INVITE to the TLS phone has top Via %q, want SIP/2.0/TLS", in.Via().Value())
	}
	oc.waitStatus(200, 3*time.Second)
	oc.ack()
	if r := u.next(2 * time.Second); r.Method != sip.ACK {
		t.Fatalf("TLS phone got %s after its 200, want ACK", r.Method)
	}
	byes = u.answerInBackground(sip.BYE, 5*time.Second)
	if res := oc.bye(); res.StatusCode != 200 {
		t.Fatalf("BYE from the UDP caller: %d %s", res.StatusCode, res.Reason)
	}
	if <-byes == nil {
		t.Fatal("the BYE from the UDP caller did not reach the TLS phone")
	}

	// A phone set up with sips: URIs (RFC 3261 §26.2.2).
	s, _ := dialTLS(t, e.tlsAddr, e.ca.pool)
	to := sip.Uri{Scheme: "sips", User: "7003", Host: domain}
	reg := s.newRequest(sip.REGISTER, sip.Uri{Scheme: "sips", Host: domain}, to, to, "sips-"+token()+"@e2e")
	reg.AppendHeader(sip.NewHeader("Contact", "<sips:7003@"+s.local()+">"))
	reg.AppendHeader(sip.NewHeader("Expires", "300"))
	res = s.final(reg, nil)
	if res.StatusCode == 401 {
		res = s.final(s.authorize(reg, res, carol), nil)
	}
	wantStatus(t, res, 200)
	oc = b.call("7003", callOpts{As: &bob})
	in = s.answer(3 * time.Second)
	if in.Recipient.Scheme != "sips" {
		t.Errorf("INVITE to the sips: phone has Request-URI %s, want its sips: Contact", in.Recipient.String())
	}
	// RFC 3261 §16.6 step 4: the TLS hop of a SIPS request is record-routed
	// with a sips: URI; the UDP hop stays sip:.
	if rr := header(in, "Record-Route"); !strings.Contains(rr, "<sips:") || !strings.Contains(rr, "<sip:") {
		t.Errorf("INVITE to the sips: phone has Record-Route %q, want a sips: entry for the TLS hop and a sip: one for UDP", rr)
	}
	oc.waitStatus(200, 3*time.Second)
	oc.ack()
	byes = s.answerInBackground(sip.BYE, 5*time.Second)
	if res := oc.bye(); res.StatusCode != 200 {
		t.Fatalf("BYE to the sips: phone: %d %s", res.StatusCode, res.Reason)
	}
	if <-byes == nil {
		t.Fatal("the BYE did not reach the sips: phone")
	}
}

// TestTLSEdgeGuard: the security guard covers the TLS listener as it does
// TCP: a scanner's User-Agent closes its connection unanswered, and a
// source opening connections faster than requests_per_second is banned
// and then refused before any TLS handshake, while another source keeps
// registering.
func TestTLSEdgeGuard(t *testing.T) {
	t.Parallel()
	e := newTLSEnv(t, false, options{Security: "  requests_per_second: 5\n"})

	u, _ := dialTLS(t, e.tlsAddr, e.ca.pool)
	to := sip.Uri{Scheme: "sip", User: "7001", Host: domain}
	req := u.newRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: domain}, to, to, "scan-"+token()+"@e2e")
	req.ReplaceHeader(sip.NewHeader("User-Agent", "friendly-scanner"))
	u.send(req)
	select {
	case <-u.done: // closed by the server
	case res := <-u.resps:
		t.Fatalf("scanner got an answer over TLS: %d %s", res.StatusCode, res.Reason)
	case <-time.After(3 * time.Second):
		t.Fatal("scanner's TLS connection still open after 3s")
	}
	e.srv.waitMetric(t, `switchboard_security_dropped_total{reason="scanner"}`, 1, 2*time.Second)

	// 127.0.0.7 opens connections until it is refused.
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.7")}, Timeout: 2 * time.Second}
	refused := 0
	for i := 0; i < 40 && refused == 0; i++ {
		c, err := tls.DialWithDialer(d, "tcp", e.tlsAddr, &tls.Config{RootCAs: e.ca.pool, ServerName: "127.0.0.1"})
		if err != nil {
			refused = i + 1
			break
		}
		c.Close()
	}
	if refused == 0 {
		t.Fatal("40 TLS connections from 127.0.0.7 in a burst were all accepted with requests_per_second 5")
	}
	e.srv.waitMetric(t, `switchboard_security_bans_total{reason="flood"}`, 1, 2*time.Second)
	if c, err := tls.DialWithDialer(d, "tcp", e.tlsAddr, &tls.Config{RootCAs: e.ca.pool, ServerName: "127.0.0.1"}); err == nil {
		c.Close()
		t.Error("a banned source completed a TLS handshake")
	}
	// Another source is unaffected.
	v, _ := dialTLS(t, e.tlsAddr, e.ca.pool)
	wantStatus(t, v.register("7002", bob), 200)
}

// TestTLSCheck: `switchboard check` validates the certificate files of the
// TLS listeners and names the config line of each problem.
func TestTLSCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := newTestCA(t)
	good := ca.issue(t, 1, time.Time{})
	other := ca.issue(t, 2, time.Time{})
	expired := ca.issue(t, 3, time.Now().Add(-time.Hour))
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, string(data))
		return p
	}
	cfg := func(cert, key, advertise string) string {
		c := fmt.Sprintf("sip:\n  listen: [\"tls://127.0.0.1:5061\"]\n  tls:\n    cert: %q\n    key: %q\n", cert, key)
		if advertise != "" {
			c += "  advertise: " + advertise + "\n"
		}
		p := filepath.Join(dir, token()+".yaml")
		writeFile(t, p, c)
		return p
	}
	run := func(config string) (int, string) {
		out, err := exec.Command(binary, "check", "-config", config).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, string(out)
	}
	goodCert, goodKey := write("good.pem", good.certPEM), write("good.key", good.keyPEM)
	for _, tc := range []struct {
		name      string
		cert, key string
		advertise string
		want      []string // lines (parts) that must appear; none = valid
	}{
		{"valid", goodCert, goodKey, "localhost:5061", nil},
		{"key of another certificate", goodCert, write("other.key", other.keyPEM), "",
			[]string{".yaml:5: sip.tls.key: ", "does not match the certificate"}},
		{"expired", write("expired.pem", expired.certPEM), write("expired.key", expired.keyPEM), "",
			[]string{".yaml:4: sip.tls.cert: ", "expired on"}},
		{"not PEM", write("garbage.pem", []byte("hello")), write("garbage.key", []byte("world")), "",
			[]string{".yaml:4: sip.tls.cert: ", "no PEM certificate", ".yaml:5: sip.tls.key: ", "no PEM private key"}},
		{"advertised name not in the certificate", goodCert, goodKey, "pbx.example.com:5061",
			[]string{".yaml:4: sip.tls.cert: ", `does not name sip.advertise host "pbx.example.com"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := run(cfg(tc.cert, tc.key, tc.advertise))
			if len(tc.want) == 0 {
				if code != 0 {
					t.Fatalf("check exit %d, want 0:\n%s", code, out)
				}
				return
			}
			if code != 1 {
				t.Errorf("check exit %d, want 1:\n%s", code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("check output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// serial is the certificate serial a new TLS handshake with srv sees.
func serial(t *testing.T, addr string, pool *x509.CertPool) int64 {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// TestTLSCertReload: replaced certificate files serve the next handshake
// without a restart while connections already up keep working; a key that
// does not match keeps the old certificate and logs an error; SIGHUP
// reloads and does not end the process.
func TestTLSCertReload(t *testing.T) {
	t.Parallel()
	e := newTLSEnv(t, false, options{})
	u, _ := dialTLS(t, e.tlsAddr, e.ca.pool)
	wantStatus(t, u.register("7001", alice), 200)
	if got := serial(t, e.tlsAddr, e.ca.pool); got != 1001 {
		t.Fatalf("serial %d before the renewal, want 1001", got)
	}

	e.ca.issue(t, 1002, time.Time{}).write(t, e.cert, e.key)
	waitUntil(t, 15*time.Second, "a new handshake with the renewed certificate", func() bool {
		return serial(t, e.tlsAddr, e.ca.pool) == 1002
	})
	wantStatus(t, u.register("7001", alice), 200) // the old connection lives on
	e.srv.waitMetric(t, `switchboard_tls_certificate_reloads_total{result="ok"}`, 1, 2*time.Second)

	// A broken renewal: the certificate of one pair with the key of another.
	bad, other := e.ca.issue(t, 1003, time.Time{}), e.ca.issue(t, 1004, time.Time{})
	leaf{certPEM: bad.certPEM, keyPEM: other.keyPEM}.write(t, e.cert, e.key)
	waitUntil(t, 15*time.Second, "the failed reload logged", func() bool {
		return strings.Contains(e.srv.stderr.String(), "tls certificate reload failed")
	})
	if got := serial(t, e.tlsAddr, e.ca.pool); got != 1002 {
		t.Errorf("serial %d after a broken renewal, want the old 1002", got)
	}
	e.srv.waitMetric(t, `switchboard_tls_certificate_reloads_total{result="error"}`, 1, 2*time.Second)

	// SIGHUP reloads (the files are fixed meanwhile) and the server stays up.
	e.ca.issue(t, 1005, time.Time{}).write(t, e.cert, e.key)
	if err := e.srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 15*time.Second, "the renewed certificate after SIGHUP", func() bool {
		return serial(t, e.tlsAddr, e.ca.pool) == 1005
	})
	waitUntil(t, 5*time.Second, "the SIGHUP reload logged", func() bool {
		return strings.Contains(e.srv.stderr.String(), `"why":"reload requested"`)
	})
	if !e.srv.alive() {
		t.Fatal("switchboard exited on SIGHUP")
	}
	wantStatus(t, u.register("7001", alice), 200)
}
