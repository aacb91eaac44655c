// Package redistest starts throw-away redis-server processes on free loopback
// ports for tests, and a loopback TCP proxy that can black-hole a Redis.
//
// Tests never touch a shared Redis: each Start gets its own process with no
// persistence, killed by t.Cleanup.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is one redis-server process owned by a test.
type Server struct {
	t    testing.TB
	port int
	// clusterDir holds nodes.conf of a cluster-mode server; "" otherwise.
	clusterDir string
	mu         sync.Mutex
	cmd        *exec.Cmd
	done       chan struct{}
}

// Start runs a redis-server on a free loopback port and stops it when the
// test ends. The test is skipped when redis-server is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed")
	}
	s := &Server{t: t}
	var err error
	for range 5 {
		if s.port, err = freePort(); err != nil {
			continue
		}
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(s.Kill)
	return s
}

// StartCluster runs a one-node Redis Cluster (cluster-enabled, every slot
// assigned to the node) on a free loopback port and stops it when the test
// ends. Without redis-server the test is skipped, or fails when
// SWITCHBOARD_REQUIRE_PEERS=1.
func StartCluster(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("SWITCHBOARD_REQUIRE_PEERS") == "1" {
			t.Fatal("redis-server not installed and SWITCHBOARD_REQUIRE_PEERS=1 (apt-get install -y redis-server)")
		}
		t.Skip("redis-server not installed (apt-get install -y redis-server, or set SWITCHBOARD_REQUIRE_PEERS=1 to fail instead)")
	}
	s := &Server{t: t, clusterDir: t.TempDir()}
	var err error
	for range 5 {
		if s.port, err = freePort(); err != nil {
			continue
		}
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("start redis-server (cluster): %v", err)
	}
	t.Cleanup(s.Kill)
	if err := s.assignSlots(); err != nil {
		t.Fatalf("redis cluster on %s: %v", s.Addr(), err)
	}
	return s
}

// assignSlots gives the node every slot and waits for cluster_state:ok.
func (s *Server) assignSlots() error {
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), Protocol: 2, DisableIdentity: true})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.ClusterAddSlotsRange(ctx, 0, 16383).Err(); err != nil {
		return fmt.Errorf("CLUSTER ADDSLOTSRANGE: %w", err)
	}
	for {
		info, err := c.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster_state not ok: %v %q", err, info)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL is the redis:// URL of the server's database 0, or the
// redis-cluster:// URL of a StartCluster server.
func (s *Server) URL() string {
	if s.clusterDir != "" {
		return "redis-cluster://" + s.Addr()
	}
	return "redis://" + s.Addr() + "/0"
}

// Pid is the redis-server's process id (0 when it is not running), for
// benchmarks that read its CPU time from /proc.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Kill stops the server with SIGKILL and waits for it; it is a no-op when the
// server is not running. Data is lost (there is no persistence).
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	s.cmd = nil
}

// Restart starts the server again, empty, on the same port.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	var err error
	for range 20 { // the port may linger briefly
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("restart redis-server on %s: %v", s.Addr(), err)
}

func (s *Server) start() error {
	args := []string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--protected-mode", "no"}
	if s.clusterDir != "" {
		args = append(args, "--cluster-enabled", "yes", "--cluster-announce-ip", "127.0.0.1",
			"--cluster-config-file", filepath.Join(s.clusterDir, "nodes.conf"), "--dir", s.clusterDir)
	}
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("redis-server on port %d exited at start", s.port)
		default:
		}
		if ping(s.Addr()) == nil {
			s.mu.Lock()
			s.cmd, s.done = cmd, done
			s.mu.Unlock()
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	<-done
	return fmt.Errorf("redis-server on port %d not answering", s.port)
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
