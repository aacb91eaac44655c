package sip

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// The tls://, ws:// and wss:// listeners. sipgo serves each from a
// net.Listener; streamListener sits in front of it and hands sipgo only
// connections that are ready:
//
//   - the security guard sees the source IP at accept, before any TLS
//     handshake: a banned or flooding source costs an accept and a close,
//     not a handshake (the read filter still checks every read after);
//   - the TLS handshake and, for WebSocket, the HTTP upgrade request are
//     read here, one goroutine per connection under a deadline. sipgo
//     performs the WebSocket upgrade inside its accept loop, so one client
//     that opened a socket and sent nothing would otherwise stall every new
//     connection (slowloris);
//   - at most maxHandshakes connections are being prepared at once; more
//     are closed at once.

const (
	handshakeTimeout = 10 * time.Second
	maxHandshakes    = 1024
	maxUpgradeHeader = 16 << 10 // bytes of HTTP upgrade request read ahead
)

type streamListener struct {
	network string // tls, ws or wss
	raw     net.Listener
	tls     *tls.Config // nil for ws
	admit   func(netip.Addr) bool

	conns chan net.Conn
	sem   chan struct{}
	done  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
	start sync.Once
}

func newStreamListener(network string, raw net.Listener, conf *tls.Config, admit func(netip.Addr) bool) *streamListener {
	return &streamListener{network: network, raw: raw, tls: conf, admit: admit,
		conns: make(chan net.Conn), sem: make(chan struct{}, maxHandshakes), done: make(chan struct{})}
}

// run starts the accept loop (once).
func (l *streamListener) run() {
	l.start.Do(func() {
		l.wg.Add(1)
		go l.acceptLoop()
	})
}

func (l *streamListener) acceptLoop() {
	defer l.wg.Done()
	for {
		c, err := l.raw.Accept()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(5 * time.Millisecond) // EMFILE and the like: do not spin
			continue
		}
		if l.admit != nil && !l.admit(addrIP(c.RemoteAddr())) {
			c.Close()
			continue
		}
		select {
		case l.sem <- struct{}{}:
		default:
			c.Close() // too many handshakes in progress
			continue
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer func() { <-l.sem }()
			l.prepare(c)
		}()
	}
}

// prepare completes the TLS handshake and reads a WebSocket client's
// upgrade request, then queues the connection for sipgo.
func (l *streamListener) prepare(c net.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	go func() { // Close of the listener ends a handshake in progress
		select {
		case <-l.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	conn := c
	if l.tls != nil {
		tc := tls.Server(c, l.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return
		}
		conn = tc
	}
	if l.network == "ws" || l.network == "wss" {
		head, err := readUpgrade(conn)
		if err != nil {
			conn.Close()
			return
		}
		conn = &prefixConn{Conn: conn, buf: head}
	}
	if !stop() {
		conn.Close() // the deadline fired: the connection is unusable
		return
	}
	select {
	case l.conns <- conn:
	case <-l.done:
		conn.Close()
	}
}

// readUpgrade reads up to the end of an HTTP request header.
func readUpgrade(c net.Conn) ([]byte, error) {
	buf := make([]byte, 0, 1024)
	chunk := make([]byte, 1024)
	for {
		n, err := c.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if bytes.Contains(buf, []byte("\r\n\r\n")) {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(buf) > maxUpgradeHeader {
			return nil, errors.New("websocket upgrade request too large")
		}
	}
}

// prefixConn returns bytes already read before reading the connection.
type prefixConn struct {
	net.Conn
	buf []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// Accept returns the next prepared connection.
func (l *streamListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting, ends handshakes in progress and waits for them.
// Connections already handed to sipgo are sipgo's to close.
func (l *streamListener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.raw.Close()
		l.wg.Wait()
	})
	return err
}

func (l *streamListener) Addr() net.Addr { return l.raw.Addr() }
