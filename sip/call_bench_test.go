package sip

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// BenchmarkProxiedCall is one complete call through a real server on
// loopback UDP: INVITE, 407, authenticated INVITE, 200, ACK, BYE, 200 — from
// a sipgo caller (7001) to a registered sipgo callee (7002) that answers at
// once. It runs in one process, so CPU and allocations per call include the
// two test user agents as well as the proxy; compare runs, not absolutes.
func BenchmarkProxiedCall(b *testing.B) {
	call, s := callRig(b)
	call() // warm up: connections, caches
	b.ReportAllocs()
	cpu0 := processCPU()
	n := 0
	for b.Loop() {
		call()
		n++
	}
	b.StopTimer()
	// Wall time per call is mostly loopback latency; CPU is what it costs.
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(n), "cpu-µs/call")
	if n := s.dialogs.Len(); n != 0 {
		b.Errorf("%d calls still in the dialog table", n)
	}
}

// callRig starts the proxy, a registered callee 7002 that answers at once
// and a caller 7001, all on loopback UDP, and returns a function making one
// complete call.
func callRig(b *testing.B) (func(), *Server) {
	if testing.Short() {
		b.Skip("opens sockets; skipped under -short")
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, _, _ := newTestServer(b)
	s.cfg.Listen = []Listener{{Network: "udp", Addr: "127.0.0.1:0"}}
	s.log = quiet
	if err := s.Listen(); err != nil {
		b.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { s.Serve(ctx, time.Second); close(served) }()
	b.Cleanup(func() { stop(); <-served })
	proxy := s.udp[0].LocalAddr().String()

	callee, calleeAddr := benchUA(b, "7002", quiet)
	calleeSrv, _ := sipgo.NewServer(callee, sipgo.WithServerLogger(quiet))
	calleeClient, _ := sipgo.NewClient(callee, sipgo.WithClientAddr(calleeAddr), sipgo.WithClientConnectionAddr(calleeAddr))
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "7002", Host: "127.0.0.1", Port: portNum(calleeAddr)}}
	dialogs := sipgo.NewDialogServerCache(calleeClient, contact)
	calleeSrv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		d, err := dialogs.ReadInvite(req, tx)
		if err != nil {
			return
		}
		d.Respond(200, "OK", req.Body(), sip.NewHeader("Content-Type", "application/sdp"))
		select {
		case <-d.Context().Done():
		case <-tx.Done():
		}
	})
	calleeSrv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { dialogs.ReadAck(req, tx) })
	calleeSrv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) { dialogs.ReadBye(req, tx) })
	pc, err := net.ListenPacket("udp", calleeAddr)
	if err != nil {
		b.Fatal(err)
	}
	go calleeSrv.ServeUDP(pc)
	waitListener(b, callee, calleeAddr)
	benchRegister(b, calleeClient, proxy, calleeAddr)

	caller, callerAddr := benchUA(b, "7001", quiet)
	callerSrv, _ := sipgo.NewServer(caller, sipgo.WithServerLogger(quiet))
	callerClient, _ := sipgo.NewClient(caller, sipgo.WithClientAddr(callerAddr), sipgo.WithClientConnectionAddr(callerAddr))
	callerContact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "7001", Host: "127.0.0.1", Port: portNum(callerAddr)}}
	uac := sipgo.NewDialogClientCache(callerClient, callerContact)
	callerSrv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) { uac.ReadBye(req, tx) })
	pc2, err := net.ListenPacket("udp", callerAddr)
	if err != nil {
		b.Fatal(err)
	}
	go callerSrv.ServeUDP(pc2)
	waitListener(b, caller, callerAddr)

	sdp := []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n")
	to := sip.Uri{Scheme: "sip", User: "7002", Host: "acme.example"}
	call := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req := sip.NewRequest(sip.INVITE, to)
		req.SetDestination(proxy)
		from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "7001", Host: "acme.example"}, Params: sip.NewParams()}
		from.Params.Add("tag", sip.GenerateTagN(10))
		req.AppendHeader(from)
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(sdp)
		sess, err := uac.WriteInvite(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		defer sess.Close()
		if err := sess.WaitAnswer(ctx, sipgo.AnswerOptions{Username: "7001", Password: "alice7001"}); err != nil {
			b.Fatal(err)
		}
		if err := sess.Ack(ctx); err != nil {
			b.Fatal(err)
		}
		if err := sess.Bye(ctx); err != nil {
			b.Fatal(err)
		}
	}
	return call, s
}

func benchUA(b *testing.B, name string, log *slog.Logger) (*sipgo.UserAgent, string) {
	b.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(name), sipgo.WithUserAgentHostname("acme.example"),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(log),
			sip.WithTransactionLayerUnhandledResponseHandler(func(*sip.Response) {})))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ua.Close() })
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return ua, addr
}

func benchRegister(b *testing.B, c *sipgo.Client, proxy, addr string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	aor := sip.Uri{Scheme: "sip", User: "7002", Host: "acme.example"}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: "acme.example"})
	req.SetDestination(proxy)
	req.AppendHeader(&sip.ToHeader{Address: aor})
	req.AppendHeader(sip.NewHeader("Contact", "<sip:7002@"+addr+">"))
	res, err := c.Do(ctx, req)
	if err == nil && res.StatusCode == 401 {
		res, err = c.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: "7002", Password: "bob7002"})
	}
	if err != nil || res.StatusCode != 200 {
		b.Fatalf("REGISTER: %v %v", res, err)
	}
}

// waitListener waits until sipgo has the listening socket in its pool, so
// requests are sent from it rather than from a new socket on the same port.
func waitListener(b *testing.B, ua *sipgo.UserAgent, addr string) {
	b.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if c, err := ua.TransportLayer().GetConnection("udp", addr); err == nil && c != nil {
			return
		}
	}
	b.Fatalf("listener %s not up", addr)
}

// processCPU is the user+system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func portNum(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// BenchmarkCallHeap is what calls leave in memory: b.N calls, 16 per P at
// a time, then the live heap after a GC per call (live-B/call: mostly
// transactions kept for their retransmission timers, the two test user
// agents' included), and again 6 s later (live-B/call-6s). Keep -benchtime
// at a few thousand calls (e.g. 2000x) so the run ends well before 32 s.
func BenchmarkCallHeap(b *testing.B) {
	call, _ := callRig(b)
	call()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	b.ResetTimer()
	b.SetParallelism(16) // × GOMAXPROCS goroutines making calls
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			call()
		}
	})
	b.StopTimer()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(b.N), "live-B/call")
	b.ReportMetric(float64(runtime.NumGoroutine()-g0)/float64(b.N), "goroutines/call")
	// 6 s later the calls are long over: what is still held is transactions
	// kept for their retransmission timers (32 s in sipgo, 5 s here).
	time.Sleep(6 * time.Second)
	runtime.GC()
	var later runtime.MemStats
	runtime.ReadMemStats(&later)
	b.ReportMetric(float64(int64(later.HeapAlloc)-int64(before.HeapAlloc))/float64(b.N), "live-B/call-6s")
	if path := os.Getenv("SWITCHBOARD_HEAP_PROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		_ = pprof.WriteHeapProfile(f)
		f.Close()
	}
}
