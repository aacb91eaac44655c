package sip

import (
	"net"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/stun/v3"
)

// stunKeepalive answers a STUN Binding request that arrived on a SIP UDP
// socket with a Binding success response carrying the address it came
// from. RFC 5626 §4.4.2: a phone using outbound over UDP keeps its flow
// (and NAT pinhole) alive with STUN on the SIP port, and takes a missing
// answer for a dead flow, re-registering all the time. It reports whether
// data was STUN (which is never SIP: the first two bits of a STUN message
// are zero, no SIP start line begins so); other STUN messages are dropped.
func (s *Server) stunKeepalive(info sip.TransportReadProps, data []byte) bool {
	if (info.Transport != "UDP" && info.Transport != "udp") || !stun.IsMessage(data) {
		return false
	}
	src, ok := info.RemoteAddr.(*net.UDPAddr)
	l := s.listenerFor(info.LocalAddr)
	if !ok || l == nil {
		return true
	}
	req := &stun.Message{Raw: data}
	if err := req.Decode(); err != nil || req.Type != stun.BindingRequest {
		return true
	}
	res, err := stun.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: src.IP, Port: src.Port}, stun.Fingerprint)
	if err != nil {
		s.log.Debug("STUN response not built", "source", src, "error", err)
		return true
	}
	if _, err := l.pc.WriteToUDPAddrPort(res.Raw, src.AddrPort()); err != nil {
		s.log.Debug("STUN response not sent", "source", src, "error", err)
	}
	return true
}
