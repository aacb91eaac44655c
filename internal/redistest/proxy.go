package redistest

import (
	"net"
	"sync"
	"testing"
)

// Proxy is a loopback TCP proxy in front of a server. Stall turns it into a
// black hole: it keeps accepting connections and holding them open but
// forwards nothing more, in either direction, like a Redis behind a dropped
// route.
type Proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	stall  bool
	conns  []net.Conn
	wg     sync.WaitGroup
}

// NewProxy listens on a free loopback port and forwards to target until the
// test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is the redis:// URL of database 0 through the proxy.
func (p *Proxy) URL() string { return "redis://" + p.Addr() + "/0" }

// Stall stops forwarding on every connection, present and future.
func (p *Proxy) Stall() {
	p.mu.Lock()
	p.stall = true
	p.mu.Unlock()
}

func (p *Proxy) stalled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stall
}

func (p *Proxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.track(c)
		if p.stalled() {
			continue // hold it open, say nothing
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.track(up)
		p.wg.Add(2)
		go p.pipe(up, c)
		go p.pipe(c, up)
	}
}

// pipe copies src to dst until either closes or the proxy stalls; once
// stalled it reads and drops, so the peer's writes succeed but are never
// answered.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.stalled() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
