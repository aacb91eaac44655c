package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is a running system under test: one switchboard process, or
// Kamailio's main process and the workers it forked.
type server struct {
	name string
	addr string // SIP host:port (UDP)
	cmd  *exec.Cmd
	tree bool // measure the process and its descendants
	log  *limitedBuffer
	done chan struct{}
	// redis is the private redis-server behind switchboard's store.redis
	// (the -redis-compare run); its CPU and memory are measured per step.
	redis *redisServer

	mu      sync.Mutex
	pidList []int
	peakPSS int64
	stopped chan struct{}
	sampled sync.WaitGroup
}

// startServer starts cmd, waits until addr answers a SIP OPTIONS and, for a
// process tree, starts sampling its memory (peak RSS of a tree of processes
// sharing memory is not something the kernel tracks).
func startServer(ctx context.Context, name, addr string, cmd *exec.Cmd, tree bool, ready time.Duration) (*server, error) {
	s := &server{name: name, addr: addr, cmd: cmd, tree: tree, log: &limitedBuffer{max: 64 << 10},
		done: make(chan struct{}), stopped: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { cmd.Wait(); close(s.done) }()
	if err := waitSIP(ctx, addr, ready, s.done); err != nil {
		s.stop()
		return nil, fmt.Errorf("%s: %w\n%s", name, err, tail(s.log.String(), 2000))
	}
	s.pidList = []int{cmd.Process.Pid}
	if tree {
		// Kamailio forks its workers before it opens its sockets' receive
		// loops, so the tree is complete once it answers.
		s.pidList = processTree(cmd.Process.Pid)
		s.sampled.Add(1)
		go s.sample(250 * time.Millisecond)
	}
	return s, nil
}

// startTimeout is how long a server may take to answer SIP after start:
// base, plus a minute per 100,000 users, since both load their whole user
// table first on the one core they are pinned to (1,000,000 users did not
// answer within the flat 2 minutes).
func startTimeout(base time.Duration, pop population) time.Duration {
	return base + time.Duration(pop.total()/100_000)*time.Minute
}

func (s *server) pids() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pidList
}

// cpu is the server's CPU time so far (user + system, all its processes).
func (s *server) cpu() time.Duration { return treeCPU(s.pids()) }

// peakMemory is VmHWM for one process; for a tree, the largest sum of PSS
// sampled so far.
func (s *server) peakMemory() int64 {
	if !s.tree {
		n, _ := readStatusKB(s.cmd.Process.Pid, "status", "VmHWM")
		return n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakPSS
}

// memory is the current RSS (one process) or sum of PSS (a tree).
func (s *server) memory() int64 {
	if !s.tree {
		n, _ := readStatusKB(s.cmd.Process.Pid, "status", "VmRSS")
		return n
	}
	return treePSS(s.pids())
}

func (s *server) sample(every time.Duration) {
	defer s.sampled.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n := treePSS(s.pids())
		s.mu.Lock()
		s.peakPSS = max(s.peakPSS, n)
		s.mu.Unlock()
		select {
		case <-s.stopped:
			return
		case <-t.C:
		}
	}
}

// alive reports an error when the server has exited.
func (s *server) alive() error {
	select {
	case <-s.done:
		return fmt.Errorf("%s exited: %v\n%s", s.name, s.cmd.ProcessState, tail(s.log.String(), 2000))
	default:
		return nil
	}
}

// stop sends SIGTERM, then SIGKILL after 5 s, and waits. The tail of the
// server's output is left in its working folder as server.log.
func (s *server) stop() {
	defer func() {
		if s.cmd.Dir != "" {
			os.WriteFile(filepath.Join(s.cmd.Dir, "server.log"), []byte(s.log.String()), 0o644)
		}
	}()
	select {
	case <-s.stopped:
		return
	default:
		close(s.stopped)
	}
	s.sampled.Wait()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// waitSIP sends OPTIONS to addr until any SIP response comes back.
func waitSIP(ctx context.Context, addr string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for i := 0; ; i++ {
		if err := optionsPing(addr, i); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("no SIP answer on %s after %v: %w", addr, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return errors.New("exited before answering SIP")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func optionsPing(addr string, n int) error {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	local := c.LocalAddr().String()
	msg := strings.Join([]string{
		"OPTIONS sip:ping@" + addr + " SIP/2.0",
		fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=z9hG4bK-bench-%d;rport", local, n),
		"Max-Forwards: 70",
		"From: <sip:bench@" + local + ">;tag=bench",
		"To: <sip:ping@" + addr + ">",
		fmt.Sprintf("Call-ID: bench-ping-%d@%s", n, local),
		"CSeq: 1 OPTIONS",
		"Content-Length: 0", "", ""}, "\r\n")
	if _, err := c.Write([]byte(msg)); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 4096)
	n2, err := c.Read(buf)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(string(buf[:n2]), "SIP/2.0 ") {
		return fmt.Errorf("not a SIP response: %q", tail(string(buf[:n2]), 80))
	}
	return nil
}

// limitedBuffer keeps the last max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

var _ io.Writer = (*limitedBuffer)(nil)

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// freePort returns a UDP and TCP port free on host right now.
func freePort(host string) (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		u, err := net.ListenPacket("udp", net.JoinHostPort(host, fmt.Sprint(port)))
		if err != nil {
			continue
		}
		u.Close()
		return port, nil
	}
	return 0, errors.New("no free port")
}
