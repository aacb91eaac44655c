package media

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// ErrNoPorts is returned by PortPool.Get when every port is in use.
var ErrNoPorts = errors.New("media: no free RTP port")

// PortPool hands out even RTP ports from a range; the odd port above each is
// left for RTCP. Ports come back in FIFO order, so a port just released
// rests longest before reuse (late packets of the old call die unheard).
// It is safe for concurrent use.
type PortPool struct {
	m *Metrics

	mu    sync.Mutex
	free  []int
	inUse map[int]bool
}

// NewPortPool returns a pool of the even ports in "lo-hi" whose RTCP port
// (+1) is also in the range, e.g. "20000-20999" gives 500 ports.
func NewPortPool(ports string, m *Metrics) (*PortPool, error) {
	loText, hiText, ok := strings.Cut(ports, "-")
	lo, errLo := strconv.Atoi(strings.TrimSpace(loText))
	hi, errHi := strconv.Atoi(strings.TrimSpace(hiText))
	if !ok || errLo != nil || errHi != nil || lo < 1 || hi > 65535 || lo > hi {
		return nil, fmt.Errorf("media: port range %q: want lo-hi with 1 <= lo <= hi <= 65535", ports)
	}
	p := &PortPool{m: m, inUse: map[int]bool{}}
	for port := lo + lo%2; port+1 <= hi; port += 2 {
		p.free = append(p.free, port)
	}
	if len(p.free) == 0 {
		return nil, fmt.Errorf("media: port range %q holds no even/odd RTP/RTCP pair", ports)
	}
	m.ports(len(p.free))
	return p, nil
}

// Get takes a free port; ErrNoPorts when none is left.
func (p *PortPool) Get() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) == 0 {
		return 0, ErrNoPorts
	}
	port := p.free[0]
	p.free = p.free[1:]
	p.inUse[port] = true
	p.m.ports(len(p.free))
	return port, nil
}

// Put returns a port taken with Get. Returning a port twice, or one the pool
// never gave out, does nothing.
func (p *PortPool) Put(port int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.inUse[port] {
		return
	}
	delete(p.inUse, port)
	p.free = append(p.free, port)
	p.m.ports(len(p.free))
}

// Available returns how many ports are free.
func (p *PortPool) Available() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free)
}
