package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// domain is the tenant of the test directory.
const domain = "acme.example"

// directoryYAML is the directory every e2e server loads: the demo tenant's
// users with their demo passwords.
const directoryYAML = `tenants:
  - domain: acme.example
    name: Acme Inc
    main_number: "+14155550100"
    users:
      - id: alice
        name: Alice Anders
        extensions: ["7001"]
        password: alice7001
        direct_number: "+14155550101"
        aliases: ["alice-support"]
      - id: bob
        name: Bob Brown
        extensions: ["7002"]
        password: bob7002
      - id: carol
        name: Carol Chen
        extensions: ["7003"]
        password: carol7003
    groups:
      - id: sales
        extension: "7100"
        members: ["alice", "bob"]
        strategy: simultaneous
        ring: 20s
    numbers:
      "+14155550100": "group:sales"
      "+14155550101": "user:alice"
`

// user is a demo user's credentials.
type user struct{ id, ext, password string }

var (
	alice = user{"alice", "7001", "alice7001"}
	bob   = user{"bob", "7002", "bob7002"}
	carol = user{"carol", "7003", "carol7003"}
)

// options tune the server a test starts.
type options struct {
	MinExpires     string // default 60s
	DefaultExpires string // default 1h
	Directory      string // directory YAML; default directoryYAML
	Trunk          string // host:port of the fake carrier; "" = no trunk
	TrunkFrom      string // inbound_from of the trunk; default the carrier's IP/32
	Media          string // YAML of the media: section (attendant/screening tests); "" = defaults
	Redis          string // store.redis URL; "" = the embedded memory store
	AdminToken     string // http.admin_token; "" = admin API off
	Port           int    // SIP port on UDP and TCP; 0 = a free one
	Keepalive      string // sip.keepalive; "" = off
	Shutdown       string // shutdown_timeout; default 5s
	Security       string // YAML of the security: section; "" = defaults
	Extra          string // YAML appended to the config (trunks:, dns: of the trunk tests)
	Listen         string // more sip.listen items, quoted YAML: `"tls://…", "wss://…"`
	SIP            string // YAML lines appended inside the sip: section (two-space indented)
}

// server is one running switchboard process.
type server struct {
	Addr    string // SIP host:port, the same port on UDP and TCP
	HTTP    string // host:port of the ops endpoints
	cmd     *exec.Cmd
	stderr  *syncBuffer
	waitErr error
	done    chan struct{}
}

// start runs switchboard with a generated config and the test directory, waits
// until /readyz answers 200 and stops the process when the test ends. The
// process's output goes to the test log when the test fails.
func start(t *testing.T, opt options) *server {
	t.Helper()
	if opt.MinExpires == "" {
		opt.MinExpires = "60s"
	}
	if opt.DefaultExpires == "" {
		opt.DefaultExpires = "1h"
	}
	if opt.Shutdown == "" {
		opt.Shutdown = "5s"
	}
	dir := t.TempDir()
	port := opt.Port
	if port == 0 {
		port = freePort(t)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cfg := fmt.Sprintf(`sip:
  listen: ["udp://%[1]s", "tcp://%[1]s"]
  min_expires: %[2]s
  default_expires: %[3]s
  max_expires: 2h
http:
  listen: 127.0.0.1:0
directory: directory.yaml
log: {level: info, format: json}
shutdown_timeout: %[4]s
`, addr, opt.MinExpires, opt.DefaultExpires, opt.Shutdown)
	if opt.Listen != "" {
		cfg = strings.Replace(cfg, `"]`+"\n", `", `+opt.Listen+"]\n", 1)
	}
	if opt.SIP != "" {
		cfg = strings.Replace(cfg, "  max_expires: 2h\n", "  max_expires: 2h\n"+opt.SIP, 1)
	}
	if opt.Keepalive != "" {
		cfg = strings.Replace(cfg, "  max_expires: 2h\n", "  max_expires: 2h\n  keepalive: "+opt.Keepalive+"\n", 1)
	}
	if opt.Redis != "" {
		cfg += fmt.Sprintf("store:\n  redis: %q\n", opt.Redis)
	}
	if opt.AdminToken != "" {
		cfg = strings.Replace(cfg, "http:\n", fmt.Sprintf("http:\n  admin_token: %q\n", opt.AdminToken), 1)
	}
	if opt.Trunk != "" {
		from := opt.TrunkFrom
		if from == "" {
			host, _, _ := net.SplitHostPort(opt.Trunk)
			from = host + "/32"
		}
		cfg += fmt.Sprintf("trunks:\n  - {name: carrier, address: %q, inbound_from: [%q]}\n", opt.Trunk, from)
	}
	if opt.Media != "" {
		cfg += "media:\n" + opt.Media
	}
	if opt.Security != "" {
		cfg += "security:\n" + opt.Security
	}
	cfg += opt.Extra
	if opt.Directory == "" {
		opt.Directory = directoryYAML
	}
	writeFile(t, filepath.Join(dir, "config.yaml"), cfg)
	writeFile(t, filepath.Join(dir, "directory.yaml"), opt.Directory)

	s := &server{Addr: addr, stderr: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(binary, "serve", "-config", filepath.Join(dir, "config.yaml"))
	s.cmd.Env = append(os.Environ(), "GORACE=halt_on_error=1")
	s.cmd.Stdout = s.stderr
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start switchboard: %v", err)
	}
	go func() { s.waitErr = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("switchboard output:\n%s", s.stderr.String())
		}
	})
	s.HTTP = s.waitStarted(t)
	s.waitReady(t)
	return s
}

// waitStarted reads the "switchboard started" log line for the HTTP address.
func (s *server) waitStarted(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			t.Fatalf("switchboard exited during start-up: %v", s.waitErr)
		default:
		}
		sc := bufio.NewScanner(strings.NewReader(s.stderr.String()))
		for sc.Scan() {
			var line struct {
				Msg  string `json:"msg"`
				HTTP string `json:"http"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "switchboard started" && line.HTTP != "" {
				return line.HTTP
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("switchboard did not log its start within 20s")
	return ""
}

func (s *server) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get("http://" + s.HTTP + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("switchboard /readyz not 200 within 10s")
}

// stop sends SIGTERM and returns the exit code, or -1 when the process had
// to be killed after timeout.
func (s *server) stop(t *testing.T, timeout time.Duration) int {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("SIGTERM: %v", err)
	}
	select {
	case <-s.done:
		return s.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		s.kill()
		return -1
	}
}

// alive reports whether the process is still running.
func (s *server) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

func (s *server) kill() {
	if s.alive() {
		s.cmd.Process.Kill()
		<-s.done
	}
}

// metrics scrapes /metrics into "name{labels}" → value.
func (s *server) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	res, err := http.Get("http://" + s.HTTP + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", res.StatusCode, err)
	}
	return parseMetrics(body)
}

func parseMetrics(body []byte) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out
}

// waitMetric polls /metrics until the sample equals want.
func (s *server) waitMetric(t *testing.T, sample string, want float64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var got float64
	for {
		got = s.metrics(t)[sample]
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("metric %s = %v after %v, want %v", sample, got, within, want)
}

// freePort finds a port free on both UDP and TCP 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		pc.Close()
		if err != nil {
			continue
		}
		ln.Close()
		return port
	}
	t.Fatal("no port free on both UDP and TCP")
	return 0
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer safe for the process's writer and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
