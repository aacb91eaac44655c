package sip

import (
	"fmt"
	"net"
	"net/netip"
	"sync"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// sipgo reads a UDP listener one datagram per system call. Under load many
// datagrams wait in the socket's queue at once; recvmmsg (ReadBatch) takes
// up to udpBatch of them in one call. batchConn is the net.PacketConn we
// hand sipgo instead of the socket: its ReadFrom serves the next datagram
// of the last batch, and reads a new batch only when that one is used up.
// A batch read blocks only until at least one datagram is there and then
// returns whatever is queued, so a lone request is not held back.

// udpBatch is how many datagrams one read takes at most: each needs its
// own 64 KiB buffer, so more costs memory per listener for little gain.
const udpBatch = 8

// udpMaxDatagram fits any UDP payload.
const udpMaxDatagram = 65535

// batchReader is ReadBatch of x/net's ipv4 and ipv6 PacketConn, which
// share the message type.
type batchReader interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
}

type batchConn struct {
	*net.UDPConn // writes, addresses, deadlines and Close go straight through

	mu   sync.Mutex // sipgo reads from one goroutine; this keeps any other safe
	br   batchReader
	msgs []ipv4.Message
	n    int // datagrams in the current batch
	next int // the next one ReadFrom returns
	// reads and datagrams count batch reads and what they returned, for
	// tests and benchmarks.
	reads, datagrams int64

	// The responses the fast path answered inline during the current batch
	// (stateless.go), sent with one sendmmsg (WriteBatch) before the next
	// batch is read: one system call per response cost about as much CPU as
	// building the response.
	outMu   sync.Mutex // not mu, which a read holds while it blocks
	bw      batchWriter
	out     []ipv4.Message // out[:queued] wait; their Buffers[0] and Addr are kept for reuse
	outAddr []net.UDPAddr  // out[i].Addr points at outAddr[i]
	queued  int
	// writes and written count batch writes and the datagrams they sent.
	writes, written int64
	writeErr        func(error) // reports a failed send; nil drops it silently
}

// batchWriter is WriteBatch of x/net's ipv4 and ipv6 PacketConn.
type batchWriter interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// udpOutQueue is how many responses wait at most before they are sent
// anyway: a batch of udpBatch requests answers at most one response each,
// so this is only reached when handlers answer more than once.
const udpOutQueue = 4 * udpBatch

func newBatchConn(c *net.UDPConn) *batchConn {
	b := &batchConn{UDPConn: c, msgs: make([]ipv4.Message, udpBatch)}
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil && a.IP != nil {
		p := ipv6.NewPacketConn(c)
		b.br, b.bw = p, p
	} else {
		p := ipv4.NewPacketConn(c)
		b.br, b.bw = p, p
	}
	for i := range b.msgs {
		b.msgs[i].Buffers = [][]byte{make([]byte, udpMaxDatagram)}
	}
	return b
}

// ReadFrom copies the next datagram into p, as net.PacketConn's does.
func (b *batchConn) ReadFrom(p []byte) (int, net.Addr, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.next >= b.n {
		b.flush() // before a read that may block
		n, err := b.br.ReadBatch(b.msgs, 0)
		if err != nil {
			return 0, nil, err
		}
		b.n, b.next = n, 0
		b.reads++
		b.datagrams += int64(n)
	}
	m := &b.msgs[b.next]
	b.next++
	return copy(p, m.Buffers[0][:m.N]), m.Addr, nil
}

// queue copies a datagram for to into the out queue; it leaves with the
// next flush, at the latest before the next batch read.
func (b *batchConn) queue(p []byte, to netip.AddrPort) {
	b.outMu.Lock()
	defer b.outMu.Unlock()
	if b.queued == udpOutQueue {
		b.flushLocked()
	}
	if b.out == nil {
		b.out = make([]ipv4.Message, udpOutQueue)
		b.outAddr = make([]net.UDPAddr, udpOutQueue)
		for i := range b.out {
			b.out[i].Buffers = [][]byte{nil}
		}
	}
	m, a := &b.out[b.queued], &b.outAddr[b.queued]
	m.Buffers[0] = append(m.Buffers[0][:0], p...)
	// The address is written into a kept UDPAddr, so a queued response
	// allocates nothing once the slots have grown.
	ip := to.Addr().Unmap()
	if ip.Is4() {
		v4 := ip.As4()
		a.IP = append(a.IP[:0], v4[:]...)
	} else {
		v6 := ip.As16()
		a.IP = append(a.IP[:0], v6[:]...)
	}
	a.Port, a.Zone = int(to.Port()), ip.Zone()
	m.Addr = a
	b.queued++
}

// sent returns the batch writes so far and the datagrams they sent.
func (b *batchConn) sent() (writes, written int64) {
	b.outMu.Lock()
	defer b.outMu.Unlock()
	return b.writes, b.written
}

// flush sends what queue holds.
func (b *batchConn) flush() {
	b.outMu.Lock()
	defer b.outMu.Unlock()
	b.flushLocked()
}

func (b *batchConn) flushLocked() {
	for sent := 0; sent < b.queued; {
		n, err := b.bw.WriteBatch(b.out[sent:b.queued], 0)
		b.writes++
		b.written += int64(max(n, 0))
		if err != nil {
			// The datagram at sent+n failed (an unreachable address, a
			// full buffer): report it and go on with the ones after it,
			// as separate sendto calls would have.
			if b.writeErr != nil {
				b.writeErr(fmt.Errorf("udp response to %s: %w", b.out[sent+max(n, 0)].Addr, err))
			}
			n = max(n, 0) + 1
		}
		sent += n
	}
	for i := range b.queued {
		if cap(b.out[i].Buffers[0]) > 64<<10 {
			b.out[i].Buffers[0] = nil // a rare huge response is not kept
		}
	}
	b.queued = 0
}
