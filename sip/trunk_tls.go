package sip

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/resolve"
)

// Outbound TLS to carriers. sipgo dials TLS itself with one configuration
// for the whole process and the dialled IP as the server name, which cannot
// check a carrier's certificate against its name (carrier certificates name
// hosts, not addresses) nor against that carrier's own CA. So before a
// request goes to a trunk target over TLS, switchboard opens the connection
// itself — server name = the trunk's host (RFC 5922 §7: the domain the
// trunk is configured with, not the SRV target), roots = the trunk's tls_ca
// or else the system roots, our certificate offered when the carrier asks —
// and hands it to sipgo through adoptListener, which sipgo serves like a
// listener: the connection enters sipgo's pool under the carrier's address,
// so the request and everything after it in the dialog use it, and requests
// the carrier sends back over it are read like any other. Should the
// connection drop mid-call, sipgo redials with the process-wide config
// (system roots plus every tls_ca, the IP as name).

// adoptListener yields connections switchboard dialled to sipgo's TLS
// transport.
type adoptListener struct {
	addr  func() net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newAdoptListener(addr func() net.Addr) *adoptListener {
	return &adoptListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *adoptListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *adoptListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr is the tls:// listener's address when there is one: sipgo takes
// the port of each served listener for the Via of requests it sends.
func (l *adoptListener) Addr() net.Addr { return l.addr() }

// trunkTLS dials and verifies carrier connections, one dial per address
// at a time.
type trunkTLS struct {
	pools map[string]*x509.CertPool // by trunk name; nil = system roots
	adopt *adoptListener

	mu      sync.Mutex
	dialing map[string]*trunkDial
}

type trunkDial struct {
	done chan struct{}
	err  error
}

// newTrunkTLS reads every trunk's tls_ca.
func newTrunkTLS(trunks []Trunk, addr func() net.Addr) (*trunkTLS, error) {
	tt := &trunkTLS{pools: map[string]*x509.CertPool{}, adopt: newAdoptListener(addr), dialing: map[string]*trunkDial{}}
	for _, t := range trunks {
		if t.TLSCA == "" {
			continue
		}
		pem, err := os.ReadFile(t.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("trunk %s: tls_ca: %w", t.Name, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("trunk %s: tls_ca %s: no PEM certificate in it", t.Name, t.TLSCA)
		}
		tt.pools[t.Name] = pool
	}
	return tt, nil
}

// trunkServerName is the name a trunk's certificate must carry: the host
// of its configured address (a name, or an IP literal).
func trunkServerName(address string) string {
	host := address
	if h, _, err := net.SplitHostPort(address); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.String()
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// trunkConn makes sure a verified TLS connection to the target is in
// sipgo's pool before a request is sent there; other transports need
// nothing.
func (s *Server) trunkConn(ctx context.Context, t Trunk, tg resolve.Target) error {
	if !strings.EqualFold(tg.Transport, "tls") || s.trunkTLS == nil {
		return nil
	}
	if s.pooled(tg.Addr) {
		return nil
	}
	tt := s.trunkTLS
	tt.mu.Lock()
	if d := tt.dialing[tg.Addr]; d != nil {
		tt.mu.Unlock()
		select {
		case <-d.done:
			return d.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	d := &trunkDial{done: make(chan struct{})}
	tt.dialing[tg.Addr] = d
	tt.mu.Unlock()
	d.err = s.dialTrunk(ctx, t, tg)
	tt.mu.Lock()
	delete(tt.dialing, tg.Addr)
	tt.mu.Unlock()
	close(d.done)
	return d.err
}

func (s *Server) pooled(addr string) bool {
	c := s.ua.TransportLayer().Pool("tls").Get(addr)
	if c == nil {
		return false
	}
	c.Ref(-1) // Get took a reference
	return true
}

func (s *Server) dialTrunk(ctx context.Context, t Trunk, tg resolve.Target) error {
	// The call set-up waits for this (the hunt's event loop), so the
	// connection and handshake get the trunk's fail_after, as an
	// unanswered INVITE does, at most 5 s.
	limit := 5 * time.Second
	if t.FailAfter > 0 && t.FailAfter < limit {
		limit = t.FailAfter
	}
	dctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(dctx, "tcp", tg.Addr)
	if err != nil {
		return fmt.Errorf("trunk %s: dial %s: %w", t.Name, tg.Addr, err)
	}
	conf := &tls.Config{ServerName: trunkServerName(t.Address), RootCAs: s.trunkTLS.pools[t.Name], MinVersion: tls.VersionTLS12}
	if s.certs != nil {
		conf.GetClientCertificate = s.certs.clientCert
	}
	tc := tls.Client(raw, conf)
	if err := tc.HandshakeContext(dctx); err != nil {
		raw.Close()
		return fmt.Errorf("trunk %s: tls to %s as %q: %w", t.Name, tg.Addr, conf.ServerName, err)
	}
	select {
	case s.trunkTLS.adopt.conns <- tc:
	case <-s.trunkTLS.adopt.done:
		tc.Close()
		return net.ErrClosed
	case <-dctx.Done():
		tc.Close()
		return fmt.Errorf("trunk %s: tls to %s: %w", t.Name, tg.Addr, dctx.Err())
	}
	// sipgo's accept loop puts the connection in its pool right after
	// Accept returns.
	for range 500 {
		if s.pooled(tg.Addr) {
			return nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return fmt.Errorf("trunk %s: tls connection to %s not taken by the transport", t.Name, tg.Addr)
}
