package sip

import (
	"errors"
	"fmt"
	"net"
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
