// Package smtptest is a small SMTP server on loopback for tests: it accepts
// mail (optionally behind STARTTLS and AUTH PLAIN) and hands each message
// back to the test, so a test can read what switchboard really sent over a
// real socket. It speaks just enough of RFC 5321 for net/smtp's client.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is one message the server accepted.
type Message struct {
	From     string   // MAIL FROM address
	To       []string // RCPT TO addresses
	Data     []byte   // the message as sent, dot-unstuffed
	User     string   // the AUTH PLAIN user; "" without AUTH
	TLS      bool     // sent after STARTTLS
	Received time.Time
}

// Parse parses Data as an RFC 5322 message.
func (m Message) Parse() (*mail.Message, error) {
	return mail.ReadMessage(strings.NewReader(string(m.Data)))
}

// Options configure a Server.
type Options struct {
	// StartTLS offers STARTTLS with a certificate for 127.0.0.1 signed by
	// the server's own CA (Server.RootCAs).
	StartTLS bool
	// Username and Password, when set, are required through AUTH PLAIN
	// before MAIL FROM.
	Username, Password string
}

// Server is a loopback SMTP server that lives until the test ends.
type Server struct {
	opts  Options
	ln    net.Listener
	tls   *tls.Config
	pool  *x509.CertPool
	inbox chan Message
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
}

// Start listens on a free loopback port.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{opts: opts, ln: ln, inbox: make(chan Message, 100), conns: map[net.Conn]bool{}}
	if opts.StartTLS {
		if s.tls, s.pool, err = selfSigned(); err != nil {
			ln.Close()
			t.Fatal(err)
		}
	}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.close)
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// RootCAs trusts the STARTTLS certificate (nil without StartTLS).
func (s *Server) RootCAs() *x509.CertPool { return s.pool }

// Next waits up to d for the next accepted message.
func (s *Server) Next(t testing.TB, d time.Duration) Message {
	t.Helper()
	select {
	case m := <-s.inbox:
		return m
	case <-time.After(d):
		t.Fatalf("smtptest: no message within %s", d)
		return Message{}
	}
}

// Pending returns how many accepted messages no Next has taken yet.
func (s *Server) Pending() int { return len(s.inbox) }

func (s *Server) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			c.SetDeadline(time.Now().Add(time.Minute))
			s.serve(c)
		}()
	}
}

// session is one connection's state.
type session struct {
	tp   *textproto.Conn
	tls  bool
	user string
	from string
	to   []string
}

func (s *Server) serve(c net.Conn) {
	ss := &session{tp: textproto.NewConn(c)}
	ss.reply(220, "smtptest ready")
	for {
		line, err := ss.tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ext := []string{"smtptest", "8BITMIME"}
			if s.tls != nil && !ss.tls {
				ext = append(ext, "STARTTLS")
			}
			if s.opts.Username != "" {
				ext = append(ext, "AUTH PLAIN")
			}
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				ss.tp.PrintfLine("250%s%s", sep, e)
			}
		case "HELO", "NOOP":
			ss.reply(250, "ok")
		case "STARTTLS":
			if s.tls == nil || ss.tls {
				ss.reply(502, "no STARTTLS here")
				continue
			}
			ss.reply(220, "go ahead")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			ss = &session{tp: textproto.NewConn(tc), tls: true}
		case "AUTH":
			ss.auth(s.opts, arg)
		case "MAIL":
			if s.opts.Username != "" && ss.user == "" {
				ss.reply(530, "authentication required")
				continue
			}
			ss.from, ss.to = addrArg(arg, "FROM:"), nil
			ss.reply(250, "ok")
		case "RCPT":
			if ss.from == "" {
				ss.reply(503, "MAIL first")
				continue
			}
			ss.to = append(ss.to, addrArg(arg, "TO:"))
			ss.reply(250, "ok")
		case "DATA":
			if len(ss.to) == 0 {
				ss.reply(503, "RCPT first")
				continue
			}
			ss.reply(354, "end with <CRLF>.<CRLF>")
			data, err := io.ReadAll(ss.tp.DotReader())
			if err != nil {
				return
			}
			s.inbox <- Message{From: ss.from, To: ss.to, Data: data, User: ss.user, TLS: ss.tls, Received: time.Now()}
			ss.from, ss.to = "", nil
			ss.reply(250, "queued")
		case "RSET":
			ss.from, ss.to = "", nil
			ss.reply(250, "ok")
		case "QUIT":
			ss.reply(221, "bye")
			return
		default:
			ss.reply(500, "unknown command")
		}
	}
}

func (ss *session) reply(code int, msg string) { ss.tp.PrintfLine("%d %s", code, msg) }

// auth handles AUTH PLAIN with or without an initial response.
func (ss *session) auth(o Options, arg string) {
	mech, resp, _ := strings.Cut(arg, " ")
	if !strings.EqualFold(mech, "PLAIN") || o.Username == "" {
		ss.reply(504, "unsupported mechanism")
		return
	}
	if resp == "" {
		ss.tp.PrintfLine("334 ")
		line, err := ss.tp.ReadLine()
		if err != nil {
			return
		}
		resp = line
	}
	b, err := base64.StdEncoding.DecodeString(resp)
	parts := strings.Split(string(b), "\x00")
	if err != nil || len(parts) != 3 || parts[1] != o.Username || parts[2] != o.Password {
		ss.reply(535, "authentication failed")
		return
	}
	ss.user = parts[1]
	ss.reply(235, "authenticated")
}

// addrArg takes the address out of "FROM:<a@b> SIZE=…".
func addrArg(arg, prefix string) string {
	arg = strings.TrimSpace(arg)
	if len(arg) >= len(prefix) && strings.EqualFold(arg[:len(prefix)], prefix) {
		arg = arg[len(prefix):]
	}
	arg, _, _ = strings.Cut(strings.TrimSpace(arg), " ")
	return strings.TrimSuffix(strings.TrimPrefix(arg, "<"), ">")
}

// selfSigned makes a CA-less self-signed certificate for 127.0.0.1 and the
// pool that trusts it.
func selfSigned() (*tls.Config, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("smtptest certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}, pool, nil
}
