package sip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestBatchConn: datagrams queued at once come out of one batch read, each
// whole, in order and with its source; a lone one is returned without
// waiting for more; Close ends a blocked read with net.ErrClosed.
func TestBatchConn(t *testing.T) {
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	bc := newBatchConn(u)
	sender, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	const burst = udpBatch + 3
	for i := range burst {
		if _, err := sender.WriteTo([]byte(fmt.Sprintf("datagram %d", i)), u.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond) // let them all reach the queue
	buf := make([]byte, udpMaxDatagram)
	for i := range burst {
		n, from, err := bc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(buf[:n]), fmt.Sprintf("datagram %d", i); got != want {
			t.Fatalf("datagram %d = %q, want %q", i, got, want)
		}
		if ua, ok := from.(*net.UDPAddr); !ok || ua.String() != sender.LocalAddr().String() {
			t.Fatalf("source %#v, want %s", from, sender.LocalAddr())
		}
	}
	if bc.reads >= burst {
		t.Errorf("%d datagrams took %d reads; want batches", burst, bc.reads)
	}

	// A single datagram is returned at once, not after a batch fills.
	done := make(chan string, 1)
	go func() {
		n, _, err := bc.ReadFrom(buf)
		if err != nil {
			done <- err.Error()
			return
		}
		done <- string(buf[:n])
	}()
	if _, err := sender.WriteTo([]byte("alone"), u.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-done:
		if got != "alone" {
			t.Fatalf("read %q, want alone", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a lone datagram was not returned")
	}

	errc := make(chan error, 1)
	go func() { _, _, err := bc.ReadFrom(buf); errc <- err }()
	time.Sleep(20 * time.Millisecond)
	bc.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a blocked read")
	}
}

// TestBatchConnQueue: queued datagrams leave together at the next flush,
// each to its own address, IPv4 ones also from a dual-stack socket; one
// that cannot be sent is reported and does not hold back those after it.
func TestBatchConnQueue(t *testing.T) {
	for _, laddr := range []string{"127.0.0.1:0", "[::]:0"} {
		t.Run(laddr, func(t *testing.T) {
			pc, err := net.ListenPacket("udp", laddr)
			if err != nil {
				// Only the dual-stack case can fail: a machine without IPv6.
				t.Skipf("no IPv6 socket on this machine (listen %s: %v)", laddr, err)
			}
			bc := newBatchConn(pc.(*net.UDPConn))
			defer bc.Close()
			var failures []error
			bc.writeErr = func(err error) { failures = append(failures, err) }
			var rx [2]net.PacketConn
			for i := range rx {
				if rx[i], err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
					t.Fatal(err)
				}
				defer rx[i].Close()
			}
			to := func(c net.PacketConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }
			bc.queue([]byte("one"), to(rx[0]))
			// Port 0: the kernel refuses it (EINVAL).
			bc.queue([]byte("refused"), netip.MustParseAddrPort("127.0.0.1:0"))
			bc.queue([]byte("two"), to(rx[1]))
			bc.queue([]byte("three"), to(rx[0]))
			if w, n := bc.sent(); w != 0 || n != 0 {
				t.Fatalf("sent before flush: %d writes, %d datagrams", w, n)
			}
			bc.flush()
			buf := make([]byte, 100)
			for i, want := range [][]string{{"one", "three"}, {"two"}} {
				for _, w := range want {
					_ = rx[i].SetReadDeadline(time.Now().Add(5 * time.Second))
					n, _, err := rx[i].ReadFrom(buf)
					if err != nil || string(buf[:n]) != w {
						t.Fatalf("receiver %d got %q, %v; want %q", i, buf[:n], err, w)
					}
				}
			}
			if len(failures) != 1 || !strings.Contains(failures[0].Error(), "127.0.0.1:0") {
				t.Errorf("failures = %v, want the port 0 one", failures)
			}
			if w, n := bc.sent(); n != 3 || w > 3 {
				t.Errorf("%d writes sent %d datagrams; want 3 in at most 3 writes", w, n)
			}
		})
	}
}

// BenchmarkOptionsBurst sends OPTIONS over loopback UDP in bursts of 32
// before reading the answers, as a loaded server sees them queued: run it
// under `strace -c -f` to count the server's receive system calls
// (recvfrom before batch reads, recvmmsg after) per request.
func BenchmarkOptionsBurst(b *testing.B) {
	if testing.Short() {
		b.Skip("opens sockets; skipped under -short")
	}
	_, server := udpServer(b)
	phone, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer phone.Close()
	local := phone.LocalAddr().String()
	const burst = 32
	msgs := make([][]byte, burst)
	for i := range msgs {
		msgs[i] = []byte(fmt.Sprintf("OPTIONS sip:acme.example SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP %s;branch=z9hG4bKob%d;rport\r\nMax-Forwards: 70\r\n"+
			"From: <sip:probe@acme.example>;tag=ob%d\r\nTo: <sip:acme.example>\r\n"+
			"Call-ID: ob%d@bench\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", local, i, i, i))
	}
	buf := make([]byte, udpMaxDatagram)
	b.ReportAllocs()
	for b.Loop() {
		for _, m := range msgs {
			if _, err := phone.WriteTo(m, server); err != nil {
				b.Fatal(err)
			}
		}
		for range msgs {
			_ = phone.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, _, err := phone.ReadFrom(buf)
			if err != nil {
				b.Fatal(err)
			}
			if !strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
				b.Fatalf("OPTIONS answered %q", buf[:n])
			}
		}
	}
}
