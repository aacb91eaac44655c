// Package dnstest runs an authoritative DNS server on loopback for tests:
// records are given in zone-file syntax and may be replaced while it runs.
package dnstest

import (
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// Server is a UDP DNS server on 127.0.0.1 answering from its records.
type Server struct {
	srv  *dns.Server
	addr string

	mu      sync.Mutex
	records []dns.RR
	queries map[string]int // "NAME TYPE" -> count
}

// Start serves the given records ("_sip._udp.carrier.test. 5 IN SRV 10 50
// 5060 a.carrier.test."); names are matched case-insensitively.
func Start(records ...string) (*Server, error) {
	s := &Server{queries: map[string]int{}}
	if err := s.Set(records...); err != nil {
		return nil, err
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("dnstest listen: %w", err)
	}
	s.addr = pc.LocalAddr().String()
	started := make(chan struct{})
	s.srv = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(s.serve), NotifyStartedFunc: func() { close(started) }}
	go func() { _ = s.srv.ActivateAndServe() }()
	<-started
	return s, nil
}

// Addr is the server's ip:port.
func (s *Server) Addr() string { return s.addr }

// Close stops the server.
func (s *Server) Close() { _ = s.srv.Shutdown() }

// Set replaces every record.
func (s *Server) Set(records ...string) error {
	var rrs []dns.RR
	for _, r := range records {
		rr, err := dns.NewRR(r)
		if err != nil {
			return fmt.Errorf("dnstest record %q: %w", r, err)
		}
		rrs = append(rrs, rr)
	}
	s.mu.Lock()
	s.records = rrs
	s.mu.Unlock()
	return nil
}

// Queries counts the queries received for name (FQDN) and type ("SRV").
func (s *Server) Queries(name, qtype string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries[strings.ToLower(name)+" "+qtype]
}

func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	s.mu.Lock()
	for _, q := range req.Question {
		s.queries[strings.ToLower(q.Name)+" "+dns.TypeToString[q.Qtype]]++
		known := false
		for _, rr := range s.records {
			if !strings.EqualFold(rr.Header().Name, q.Name) {
				continue
			}
			known = true
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, dns.Copy(rr))
			}
		}
		if !known {
			m.Rcode = dns.RcodeNameError
		}
		if len(m.Answer) == 0 {
			soa, _ := dns.NewRR(q.Name + " 5 IN SOA ns.test. admin.test. 1 60 60 60 5")
			m.Ns = append(m.Ns, soa)
		}
	}
	s.mu.Unlock()
	_ = w.WriteMsg(m)
}
