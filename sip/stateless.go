package sip

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// The stateless fast path. REGISTER and OPTIONS are answered without a
// server transaction (handle.go, RFC 3261 §8.2.7), yet through sipgo each
// still paid for one: a transaction key, an FSM, a context and timers, two
// map operations under the transaction layer's lock, and the response
// re-serialised by sipgo's transport. A UDP datagram carrying either is
// taken here instead, in the transport's read filter, right after the
// security guard: parsed with sipgo's parser, handled by the same handler
// on a kept goroutine (fastpool.go) or its own, and answered by writing the response straight onto
// the socket it came in on, from a pooled buffer.
//
// With one P (GOMAXPROCS=1, as when the server is pinned to one core) a
// hand-off buys no parallelism, only a goroutine switch and, whenever a
// read batch holds more requests than there are idle kept goroutines, a
// new goroutine whose stack grows by copying (≈10% of a REGISTER's CPU
// under SIPp load). There, when nothing a REGISTER or OPTIONS does can
// wait (the in-process stores, a guard without a shared store), the
// request is handled on the read loop itself and its response queued on
// the socket's batchConn, which sends the batch's responses with one
// sendmmsg before it reads the next batch (udpbatch.go).
//
// Only UDP: on a stream (TCP, TLS, WebSocket) the read filter sees chunks,
// not messages, so those go the usual way. Anything that does not parse is
// left to sipgo too, which reports it as before.

// udpListener is one of our UDP sockets as the fast path needs it.
type udpListener struct {
	pc    *net.UDPConn
	laddr net.Addr // pc.LocalAddr(), as sipgo passes it to the read filter
	local string   // laddr.String()
	// conn is sipgo's connection for the socket, found in its pool; the
	// source of a REGISTER is mapped to it, as sipgo's own read loop does,
	// so that requests to the phone later leave from this socket (NAT).
	conn sip.Connection
	// bc is the batchConn sipgo reads this socket through (Serve); nil
	// when the socket is served as it is.
	bc *batchConn
}

// statelessPrefixes are the request lines the fast path takes.
var statelessPrefixes = [][]byte{[]byte("REGISTER "), []byte("OPTIONS ")}

// stateless handles a datagram on the fast path and reports whether it
// did; false leaves the datagram to sipgo.
func (s *Server) stateless(info sip.TransportReadProps, data []byte) bool {
	if info.Transport != "UDP" && info.Transport != "udp" {
		return false
	}
	isRegister := bytes.HasPrefix(data, statelessPrefixes[0])
	if !isRegister && !bytes.HasPrefix(data, statelessPrefixes[1]) {
		return false
	}
	l := s.listenerFor(info.LocalAddr)
	src, ok := info.RemoteAddr.(*net.UDPAddr)
	if l == nil || !ok {
		return false
	}
	msg, err := s.parser.ParseSIP(data) // copies what it keeps: data is the read buffer
	if err != nil {
		return false
	}
	req, ok := msg.(*sip.Request)
	if !ok || req.Via() == nil {
		return false
	}
	srcAP := src.AddrPort()
	source := sourceString(srcAP)
	req.SetTransport("UDP")
	req.SetSource(source)
	req.SetDestination(l.local)
	if isRegister && l.conn != nil {
		s.ua.TransportLayer().Pool("udp").Add(source, l.conn)
	}
	tx := &statelessTx{pc: l.pc, src: srcAP}
	if s.fastInline && l.bc != nil {
		tx.out = l.bc
		s.handle(req, tx)
		return true
	}
	if !s.fastPool.give(req, tx) { // kept goroutines (fastpool.go)
		go s.handle(req, tx)
	}
	return true
}

// sourceString is what src's *net.UDPAddr String method returns (IPv4,
// also when it came v4-mapped on a dual-stack socket; IPv6 bracketed,
// with its zone), in one allocation where that method makes two.
func sourceString(src netip.AddrPort) string {
	var b [64]byte
	return string(netip.AddrPortFrom(src.Addr().Unmap(), src.Port()).AppendTo(b[:0]))
}

// listenerFor returns the UDP listener whose local address sipgo reports,
// or nil.
func (s *Server) listenerFor(laddr net.Addr) *udpListener {
	s.fastOnce.Do(func() {
		pool := s.ua.TransportLayer().Pool("udp")
		for _, pc := range s.udp {
			u, ok := pc.(*net.UDPConn)
			if !ok {
				continue
			}
			l := &udpListener{pc: u, laddr: u.LocalAddr(), local: u.LocalAddr().String(), bc: s.batched[pc]}
			if pool != nil {
				// The listener registered itself under its own address when
				// served; Get takes one reference, kept for good (closing a
				// listener's connection object never closes the socket).
				l.conn = pool.Get(l.local)
			}
			s.fast = append(s.fast, l)
		}
	})
	for _, l := range s.fast {
		if l.laddr == laddr {
			return l
		}
	}
	return nil
}

// statelessTx is the sip.ServerTransaction a fast-path request is handled
// with: there is no transaction, Respond writes the response to the phone.
type statelessTx struct {
	pc  *net.UDPConn
	src netip.AddrPort // where the datagram came from
	out *batchConn     // handled on the read loop: responses are queued here
}

var _ sip.ServerTransaction = (*statelessTx)(nil)

// closedDone is the Done channel of every statelessTx: it is over at once.
var closedDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

var responseBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Respond sends res to the response address of RFC 3261 §18.2.2 and
// RFC 3581: the source IP of the request (its "received"), on the source
// port when the Via asked for rport, else on the Via's sent-by port.
func (t *statelessTx) Respond(res *sip.Response) error {
	buf := responseBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	res.StringWrite(buf)
	err := t.write(buf.Bytes(), res.Via())
	if buf.Cap() <= 64<<10 {
		responseBuffers.Put(buf)
	}
	return err
}

// write sends a serialised response whose top Via is via (the request's,
// for a response written directly: the same sent-by and rport).
func (t *statelessTx) write(b []byte, via *sip.ViaHeader) error {
	if t.out != nil {
		t.out.queue(b, responseAddrVia(via, t.src)) // a failed send is logged by the flush
		return nil
	}
	_, err := t.pc.WriteToUDPAddrPort(b, responseAddrVia(via, t.src))
	if err != nil {
		return fmt.Errorf("udp response to %s: %w", t.src, err)
	}
	return nil
}

// responseAddr is where a response to a UDP request from src goes.
func responseAddr(res *sip.Response, src netip.AddrPort) netip.AddrPort {
	return responseAddrVia(res.Via(), src)
}

func responseAddrVia(via *sip.ViaHeader, src netip.AddrPort) netip.AddrPort {
	if via == nil || via.Params.Has("rport") {
		return src
	}
	port := uint16(sip.DefaultUdpPort)
	if via.Port > 0 && via.Port < 1<<16 {
		port = uint16(via.Port)
	}
	return netip.AddrPortFrom(src.Addr(), port)
}

func (t *statelessTx) Acks() <-chan *sip.Request          { return nil }
func (t *statelessTx) OnCancel(sip.FnTxCancel) bool       { return false }
func (t *statelessTx) Terminate()                         {}
func (t *statelessTx) OnTerminate(sip.FnTxTerminate) bool { return false }
func (t *statelessTx) Done() <-chan struct{}              { return closedDone }
func (t *statelessTx) Err() error                         { return nil }

// inlineFastPath reports whether fast-path requests are handled on the
// read loop (see the top of this file): one P, and nothing a REGISTER or
// an OPTIONS does may wait on a network store.
func (s *Server) inlineFastPath() bool {
	switch s.cfg.fastInline {
	case 1:
		return true
	case -1:
		return false
	}
	if runtime.GOMAXPROCS(0) != 1 || !s.storesInProcess() {
		return false
	}
	if g := s.cfg.Guard; g != nil {
		// A wrong digest is counted in the guard, which may wait on its
		// shared store (Redis) unless it says it has none.
		sg, ok := g.(interface{ Shared() bool })
		return ok && !sg.Shared()
	}
	return true
}
