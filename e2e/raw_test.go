package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// rawUDP sends hand-written SIP messages from one UDP socket, for what a
// sipgo client cannot produce.
type rawUDP struct {
	t      *testing.T
	ip     string // the source address, 127.0.0.1 unless newRawFrom
	conn   *net.UDPConn
	server *net.UDPAddr
	seq    int
}

func newRaw(t *testing.T, srv *server) *rawUDP {
	t.Helper()
	return newRawFrom(t, srv, "127.0.0.1")
}

// newRawFrom is newRaw sending from another loopback address.
func newRawFrom(t *testing.T, srv *server, ip string) *rawUDP {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	to, err := net.ResolveUDPAddr("udp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	return &rawUDP{t: t, ip: ip, conn: conn, server: to}
}

func (r *rawUDP) port() int { return r.conn.LocalAddr().(*net.UDPAddr).Port }

// message expands a template written with "\n" line ends into a SIP message
// with CRLFs and a final empty line. Placeholders: {via} (a fresh top Via to
// this socket), {callid}, {tag}, {port}, {domain}.
func (r *rawUDP) message(lines ...string) []byte {
	r.seq++
	rep := strings.NewReplacer(
		"{via}", "SIP/2.0/UDP "+r.ip+":"+strconv.Itoa(r.port())+";branch=z9hG4bK-"+token()+";rport",
		"{callid}", token()+"@e2e",
		"{tag}", token(),
		"{port}", strconv.Itoa(r.port()),
		"{domain}", domain,
	)
	return []byte(rep.Replace(strings.Join(lines, "\r\n")) + "\r\n\r\n")
}

func (r *rawUDP) send(b []byte) {
	r.t.Helper()
	if _, err := r.conn.WriteToUDP(b, r.server); err != nil {
		r.t.Fatalf("send: %v", err)
	}
}

// callIDLine finds a request's Call-ID, long or compact form.
var callIDLine = regexp.MustCompile(`(?im)^(?:call-id|i)[ \t]*:[ \t]*(\S+)`)

// recv returns the next final response, or nil when none arrives in time.
func (r *rawUDP) recv(timeout time.Duration) *sip.Response {
	return r.recvFor("", timeout)
}

// recvFor returns the next final response with Call-ID callID (any when
// empty), or nil when none arrives in time. Responses to earlier requests —
// such as retransmitted final answers to INVITEs never ACKed — are skipped.
func (r *rawUDP) recvFor(callID string, timeout time.Duration) *sip.Response {
	r.t.Helper()
	buf := make([]byte, 65535)
	deadline := time.Now().Add(timeout)
	for {
		r.conn.SetReadDeadline(deadline)
		n, _, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
				return nil
			}
			r.t.Fatalf("recv: %v", err)
		}
		msg, err := sip.ParseMessage(append([]byte(nil), buf[:n]...))
		if err != nil {
			r.t.Fatalf("server sent an unparsable message: %v\n%s", err, buf[:n])
		}
		res, ok := msg.(*sip.Response)
		if !ok || res.IsProvisional() {
			continue
		}
		if callID != "" && (res.CallID() == nil || res.CallID().Value() != callID) {
			continue
		}
		return res
	}
}

// do sends a message and waits up to 2 s for its final response, matched
// by Call-ID when the message has one.
func (r *rawUDP) do(b []byte) *sip.Response {
	r.t.Helper()
	r.send(b)
	callID := ""
	if m := callIDLine.FindSubmatch(b); m != nil {
		callID = string(m[1])
	}
	return r.recvFor(callID, 2*time.Second)
}

// mustDo is do failing the test on silence.
func (r *rawUDP) mustDo(b []byte) *sip.Response {
	r.t.Helper()
	res := r.do(b)
	if res == nil {
		r.t.Fatalf("no response to:\n%s", b)
	}
	return res
}

// authorization answers the challenge in res for u with nonce count nc.
func authorization(t *testing.T, res *sip.Response, method, uri, username, password string, nc int) string {
	t.Helper()
	h := res.GetHeader("WWW-Authenticate")
	if h == nil {
		t.Fatalf("%d without WWW-Authenticate", res.StatusCode)
	}
	chal, err := digest.ParseChallenge(h.Value())
	if err != nil {
		t.Fatalf("parse challenge %q: %v", h.Value(), err)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: method, URI: uri, Username: username, Password: password, Count: nc})
	if err != nil {
		t.Fatal(err)
	}
	return cred.String()
}

func token() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
