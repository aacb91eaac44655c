package sip

import (
	"net"
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
}

func newBatchConn(c *net.UDPConn) *batchConn {
	b := &batchConn{UDPConn: c, msgs: make([]ipv4.Message, udpBatch)}
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil && a.IP != nil {
		b.br = ipv6.NewPacketConn(c)
	} else {
		b.br = ipv4.NewPacketConn(c)
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
