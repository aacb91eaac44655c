package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"
)

// tlsPair checks the certificate and key of the TLS listeners the way a
// handshake will use them: both readable PEM, the key matching the
// certificate, the certificate valid now, naming hosts in its subject
// alternative names (clients ignore the CN) and, when sip.advertise is a
// DNS name, covering it. Every problem names the config key it is about.
func (v *validator) tlsPair(certPath, keyPath, advertise string, now time.Time) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		v.add("sip.tls.cert", "%s: %s", certPath, pathErr(err))
	}
	keyPEM, kerr := os.ReadFile(keyPath)
	if kerr != nil {
		v.add("sip.tls.key", "%s: %s", keyPath, pathErr(kerr))
	}
	var leaf *x509.Certificate
	if err == nil {
		leaf = v.leafCert(certPath, certPEM)
	}
	if kerr == nil && !hasPEM(keyPEM, "PRIVATE KEY") {
		v.add("sip.tls.key", "%s: no PEM private key in it", keyPath)
		kerr = fmt.Errorf("no key")
	}
	if leaf != nil && kerr == nil {
		if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
			if strings.Contains(err.Error(), "does not match") {
				v.add("sip.tls.key", "%s: does not match the certificate in %s", keyPath, certPath)
			} else {
				v.add("sip.tls.key", "%s: %v", keyPath, strings.TrimPrefix(err.Error(), "tls: "))
			}
		}
	}
	if leaf == nil {
		return
	}
	switch {
	case now.After(leaf.NotAfter):
		v.add("sip.tls.cert", "%s: expired on %s", certPath, leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		v.add("sip.tls.cert", "%s: not valid before %s", certPath, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if len(leaf.DNSNames) == 0 && len(leaf.IPAddresses) == 0 {
		v.add("sip.tls.cert", "%s: names no host: it has no subject alternative names (DNS or IP), which clients verify instead of the CN", certPath)
		return
	}
	host := advertise
	if h, _, err := net.SplitHostPort(advertise); err == nil {
		host = h
	}
	if _, err := netip.ParseAddr(host); host != "" && err != nil {
		if err := leaf.VerifyHostname(host); err != nil {
			v.add("sip.tls.cert", "%s: does not name sip.advertise host %q (it names %s)", certPath, host, certNames(leaf))
		}
	}
}

// leafCert parses the first certificate of a PEM file, reporting why not.
func (v *validator) leafCert(path string, data []byte) *x509.Certificate {
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			v.add("sip.tls.cert", "%s: no PEM certificate in it", path)
			return nil
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			v.add("sip.tls.cert", "%s: %v", path, err)
			return nil
		}
		return c
	}
}

func hasPEM(data []byte, suffix string) bool {
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return false
		}
		if strings.HasSuffix(b.Type, suffix) {
			return true
		}
	}
}

func certNames(c *x509.Certificate) string {
	names := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	return strings.Join(names, ", ")
}

// caFile checks a trunk's tls_ca: readable and holding a PEM certificate.
func (v *validator) caFile(field, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		v.add(field, "%s: %s", path, pathErr(err))
		return
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		v.add(field, "%s: no PEM certificate in it", path)
	}
}
