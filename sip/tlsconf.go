package sip

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/netip"
	"os"

	"github.com/switchboard/switchboard/security"
)

// serverTLSConfig is the TLS configuration of the tls:// and wss://
// listeners: the certificate comes from the store on every handshake, so a
// reload takes effect for the next connection (tlscert.go).
func (s *Server) serverTLSConfig() *tls.Config {
	return &tls.Config{
		GetCertificate: s.certs.get,
		MinVersion:     tls.VersionTLS12,
	}
}

// clientTLSConfig is the TLS configuration of the connections switchboard
// opens: to trunks with transport tls, and to phones registered over TLS
// whose connection has gone. The peer's certificate is verified against
// the system roots plus every trunks[].tls_ca; sipgo sets the server name
// to the address dialled. With sip.tls configured the same certificate is
// offered to a carrier that asks for a client certificate.
func (s *Server) clientTLSConfig() (*tls.Config, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, t := range s.cfg.Trunks {
		if t.TLSCA == "" {
			continue
		}
		pem, err := os.ReadFile(t.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("trunk %s: tls_ca: %w", t.Name, err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("trunk %s: tls_ca %s: no PEM certificate in it", t.Name, t.TLSCA)
		}
	}
	c := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if s.certs != nil {
		c.GetClientCertificate = s.certs.clientCert
	}
	return c, nil
}

// admitConn is the guard's verdict on a new TCP connection to a tls://,
// ws:// or wss:// listener, before its handshake: a banned or flooding
// source is closed at once (a connection counts as a request towards the
// flood budget).
func (s *Server) admitConn(ip netip.Addr) bool {
	g := s.cfg.Guard
	return g == nil || g.Inbound(ip, nil) == security.Pass
}

// ReloadCertificates loads the TLS certificate files again (on SIGHUP); on
// failure the certificate in use stays and the error is returned. Without
// sip.tls it does nothing.
func (s *Server) ReloadCertificates() error {
	if s.certs == nil {
		return nil
	}
	return s.certs.Reload("reload requested")
}
