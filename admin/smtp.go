package admin

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"strings"
	"time"
)

// Mail is one plain-text message to one person.
type Mail struct {
	To      mail.Address
	Subject string
	Body    string // plain text, UTF-8
}

// Mailer sends mail (invitations); SMTPMailer is the real one.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// SMTPConfig is the submission server an SMTPMailer sends through.
type SMTPConfig struct {
	Server   string // host:port
	From     string // "PBX <pbx@example.com>" or a bare address
	Username string // "" = no AUTH
	Password string
	StartTLS bool
	// TLS overrides the STARTTLS client config (tests trust their own CA
	// with it); nil = verify the server's certificate against its host.
	TLS *tls.Config
}

// SMTPMailer sends each Mail in its own SMTP session with net/smtp:
// invitations are rare, so no connection is kept open.
type SMTPMailer struct {
	cfg  SMTPConfig
	from *mail.Address
	host string
}

var _ Mailer = (*SMTPMailer)(nil)

// sendTimeout bounds one send when the caller's context has no deadline.
const sendTimeout = 30 * time.Second

// NewSMTPMailer checks cfg and returns its mailer.
func NewSMTPMailer(cfg SMTPConfig) (*SMTPMailer, error) {
	host, _, err := net.SplitHostPort(cfg.Server)
	if err != nil || host == "" {
		return nil, fmt.Errorf("smtp server %q: want host:port", cfg.Server)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp from %q: %w", cfg.From, err)
	}
	return &SMTPMailer{cfg: cfg, from: from, host: host}, nil
}

// Send delivers m or says which step of the SMTP session failed. The
// context's deadline (or sendTimeout) bounds the whole session, and
// cancelling it aborts a session that hangs.
func (s *SMTPMailer) Send(ctx context.Context, m Mail) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, sendTimeout)
		defer cancel()
	}
	msg, err := s.compose(m, time.Now())
	if err != nil {
		return err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Server)
	if err != nil {
		return fmt.Errorf("smtp dial %s: %w", s.cfg.Server, err)
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) }) // unblock on cancel
	defer stop()
	if err := s.session(conn, m.To.Address, msg); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("smtp %s: %w (%v)", s.cfg.Server, ctx.Err(), err)
		}
		return fmt.Errorf("smtp %s: %w", s.cfg.Server, err)
	}
	return nil
}

func (s *SMTPMailer) session(conn net.Conn, to string, msg []byte) error {
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello(localName()); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if s.cfg.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("the server does not offer STARTTLS (smtp.starttls is on)")
		}
		tc := s.cfg.TLS
		if tc == nil {
			tc = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(tc); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if s.cfg.Username != "" {
		// PlainAuth refuses to send the password in the clear, except to localhost.
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.host)); err != nil {
			return fmt.Errorf("AUTH as %s: %w", s.cfg.Username, err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("RCPT TO %s: %w", to, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("end of DATA: %w", err)
	}
	return c.Quit()
}

// compose writes m as an RFC 5322 message: headers with non-ASCII words
// Q-encoded, the body quoted-printable so any line length and charset
// pass every relay.
func (s *SMTPMailer) compose(m Mail, now time.Time) ([]byte, error) {
	if strings.ContainsAny(m.To.Address, "\r\n") || strings.ContainsAny(m.Subject, "\r\n") {
		return nil, errors.New("mail: a header holds a line break")
	}
	var b bytes.Buffer
	domain := s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:]
	fmt.Fprintf(&b, "From: %s\r\n", s.from.String())
	fmt.Fprintf(&b, "To: %s\r\n", m.To.String())
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", m.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", strings.ToLower(rand.Text()), domain)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(m.Body, "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// localName is the name we greet the server with: the host name, as
// servers that check EHLO expect.
func localName() string {
	if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, " \r\n") {
		return h
	}
	return "localhost"
}
