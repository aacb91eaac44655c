package sip

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// certPoll is how often the certificate files are checked for a change.
// Two stat calls every few seconds cost nothing, and a renewed certificate
// (certbot, cert-manager) is in use within seconds without a SIGHUP.
const certPoll = 2 * time.Second

// certStore holds the certificate of the tls:// and wss:// listeners and
// swaps it when its files change (polled) or on Reload (SIGHUP). Handshakes
// ask it through tls.Config.GetCertificate, so a new certificate serves the
// next handshake and connections already up keep theirs. A certificate
// that fails to load (unreadable, key not matching, half-written during a
// renewal) keeps the old one in use and logs an error; the next change of
// either file is tried again.
type certStore struct {
	certFile, keyFile string
	log               *slog.Logger

	cur atomic.Pointer[tls.Certificate]

	mu    sync.Mutex // serialises loads; guards stamp
	stamp string     // size and mtime of both files at the last attempt

	reloads *prometheus.CounterVec
	expiry  prometheus.Gauge
}

func newCertStore(certFile, keyFile string, reg prometheus.Registerer, log *slog.Logger) (*certStore, error) {
	f := promauto.With(reg)
	c := &certStore{certFile: certFile, keyFile: keyFile, log: log,
		reloads: f.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_tls_certificate_reloads_total",
			Help: "Reloads of the TLS certificate after its files changed or on SIGHUP, by result (ok, error: the old certificate stays in use).",
		}, []string{"result"}),
		expiry: f.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_tls_certificate_expiry_timestamp_seconds",
			Help: "When the TLS certificate in use expires (Unix time), for renewal alerts.",
		}),
	}
	c.stamp = c.fileStamp()
	cert, err := loadCert(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	c.set(cert)
	return c, nil
}

// loadCert reads a certificate chain and its key and checks they match.
func loadCert(certFile, keyFile string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls certificate %s, key %s: %w", certFile, keyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tls certificate %s: %w", certFile, err)
		}
	}
	return &cert, nil
}

func (c *certStore) set(cert *tls.Certificate) {
	c.cur.Store(cert)
	c.expiry.Set(float64(cert.Leaf.NotAfter.Unix()))
}

// get is tls.Config.GetCertificate.
func (c *certStore) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}

// clientCert is tls.Config.GetClientCertificate: the same certificate is
// offered to carriers that ask for one (mutual TLS).
func (c *certStore) clientCert(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}

// fileStamp identifies the current contents of both files cheaply.
func (c *certStore) fileStamp() string {
	s := ""
	for _, f := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			s += "missing;"
			continue
		}
		s += fmt.Sprintf("%d/%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return s
}

// Reload loads the certificate files again; on failure the certificate in
// use stays. why says what asked (logged).
func (c *certStore) Reload(why string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stamp = c.fileStamp()
	return c.loadLocked(why)
}

func (c *certStore) loadLocked(why string) error {
	cert, err := loadCert(c.certFile, c.keyFile)
	if err != nil {
		c.reloads.WithLabelValues("error").Inc()
		old := c.cur.Load()
		c.log.Error("tls certificate reload failed; the old certificate stays in use", "why", why, "error", err,
			"serial", old.Leaf.SerialNumber.String(), "not_after", old.Leaf.NotAfter)
		return err
	}
	if time.Now().After(cert.Leaf.NotAfter) {
		c.log.Warn("the new tls certificate has expired; loaded anyway", "not_after", cert.Leaf.NotAfter)
	}
	c.set(cert)
	c.reloads.WithLabelValues("ok").Inc()
	c.log.Info("tls certificate loaded", "why", why, "serial", cert.Leaf.SerialNumber.String(),
		"subject", cert.Leaf.Subject.String(), "not_after", cert.Leaf.NotAfter)
	return nil
}

// poll reloads when either file changed since the last attempt.
func (c *certStore) poll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.fileStamp()
	if st == c.stamp {
		return
	}
	c.stamp = st
	_ = c.loadLocked("files changed")
}

// run polls the files until ctx ends.
func (c *certStore) run(ctx context.Context) {
	t := time.NewTicker(certPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.poll()
		}
	}
}
