package sip

import (
	"bufio"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// When requests arrive faster than they are read, the kernel drops what
// overflows a UDP socket's receive buffer (sip.udp_read_buffer) before
// switchboard sees it: the phones only retransmit, and nothing else tells
// the operator. Linux counts those drops per socket in the last column of
// /proc/net/udp and udp6; udpDrops reports them on every scrape, matched to
// our listeners by socket inode.

type udpDrops struct {
	desc  *prometheus.Desc
	socks atomic.Pointer[map[string]string] // socket inode → listener host:port; set by Listen
	files []string
}

func newUDPDrops(reg prometheus.Registerer) *udpDrops {
	d := &udpDrops{
		desc: prometheus.NewDesc("switchboard_sip_udp_receive_drops_total",
			"Datagrams the kernel dropped because a UDP listener's receive buffer was full (sip.udp_read_buffer), from /proc/net/udp{,6}.",
			[]string{"listener"}, nil),
		files: []string{"/proc/net/udp", "/proc/net/udp6"},
	}
	if reg != nil {
		_ = reg.Register(d) // a second server on one registry keeps the first's
	}
	return d
}

// watch records the UDP listeners to report.
func (d *udpDrops) watch(pcs []net.PacketConn) {
	socks := make(map[string]string, len(pcs))
	for _, pc := range pcs {
		if ino := socketInode(pc); ino != "" {
			socks[ino] = pc.LocalAddr().String()
		}
	}
	d.socks.Store(&socks)
}

// socketInode returns the inode number of a socket's file, "" when it is
// unknown (not Linux, not a file-backed socket).
func socketInode(pc net.PacketConn) string {
	u, ok := pc.(*net.UDPConn)
	if !ok {
		return ""
	}
	raw, err := u.SyscallConn()
	if err != nil {
		return ""
	}
	var ino string
	_ = raw.Control(func(fd uintptr) {
		link, err := os.Readlink("/proc/self/fd/" + strconv.FormatUint(uint64(fd), 10))
		if err == nil && strings.HasPrefix(link, "socket:[") && strings.HasSuffix(link, "]") {
			ino = link[len("socket:[") : len(link)-1]
		}
	})
	return ino
}

func (d *udpDrops) Describe(ch chan<- *prometheus.Desc) { ch <- d.desc }

func (d *udpDrops) Collect(ch chan<- prometheus.Metric) {
	p := d.socks.Load()
	if p == nil || len(*p) == 0 {
		return
	}
	want := *p
	for _, f := range d.files {
		for ino, drops := range readUDPDrops(f, want) {
			ch <- prometheus.MustNewConstMetric(d.desc, prometheus.CounterValue, drops, want[ino])
		}
	}
}

// readUDPDrops returns the drops column of the sockets of file whose inode
// is a key of want. A missing or unreadable file yields nothing.
func readUDPDrops(file string, want map[string]string) map[string]float64 {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	out := make(map[string]float64)
	sc := bufio.NewScanner(f)
	sc.Scan() // the column titles
	for sc.Scan() {
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
		fields := strings.Fields(sc.Text())
		if len(fields) < 13 {
			continue
		}
		if _, ok := want[fields[9]]; !ok {
			continue
		}
		if n, err := strconv.ParseUint(fields[len(fields)-1], 10, 64); err == nil {
			out[fields[9]] = float64(n)
		}
	}
	return out
}
