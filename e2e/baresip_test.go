package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// baresip is a running baresip (Debian 1.0.0) with its output and its
// ctrl_tcp control connection.
type baresip struct {
	out  *syncBuffer
	ctrl net.Conn
}

// startBaresip runs baresip with a config made for the test: loopback
// only (net_interface), the control port away from SIP port+1 (which
// baresip takes for TLS), no audio device (a sine source, no player).
func startBaresip(t *testing.T, account, cafile string) *baresip {
	t.Helper()
	bin, err := exec.LookPath("baresip")
	if err != nil {
		if requirePeers() {
			t.Fatal("baresip not installed and SWITCHBOARD_REQUIRE_PEERS=1 (apt-get install -y baresip)")
		}
		t.Skip("baresip not installed (apt-get install -y baresip, or set SWITCHBOARD_REQUIRE_PEERS=1 to fail instead)")
	}
	dir := t.TempDir()
	sipPort, ctrlPort := freePort(t), freePort(t)
	cfg := fmt.Sprintf(`poll_method epoll
sip_listen 127.0.0.1:%[1]d
sip_cafile %[2]s
net_interface 127.0.0.1
audio_source aufile,%[6]s
audio_player aufile,%[3]s
audio_alert aufile,%[4]s
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module account.so
module ctrl_tcp.so
module menu.so
ctrl_tcp_listen 127.0.0.1:%[5]d
`, sipPort, cafile, filepath.Join(dir, "out.wav"), filepath.Join(dir, "alert.wav"), ctrlPort, filepath.Join(dir, "in.wav"))
	writeFile(t, filepath.Join(dir, "in.wav"), string(silenceWAV(30*8000)))
	writeFile(t, filepath.Join(dir, "config"), cfg)
	writeFile(t, filepath.Join(dir, "accounts"), account+"\n")
	writeFile(t, filepath.Join(dir, "contacts"), "")
	b := &baresip{out: &syncBuffer{}}
	cmd := exec.Command(bin, "-f", dir)
	cmd.Stdout, cmd.Stderr = b.out, b.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		if b.ctrl != nil {
			b.ctrl.Close()
		}
		cmd.Process.Kill()
		<-done
		if t.Failed() || os.Getenv("E2E_DEBUG") != "" {
			t.Logf("baresip output:\n%s", b.out.String())
		}
	})
	waitUntil(t, 10*time.Second, "baresip control port", func() bool {
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(ctrlPort)))
		if err != nil {
			return false
		}
		b.ctrl = c
		return true
	})
	return b
}

// command sends a ctrl_tcp command (a netstring of JSON).
func (b *baresip) command(t *testing.T, cmd, params string) {
	t.Helper()
	js := fmt.Sprintf(`{"command":%q,"params":%q,"token":"e2e"}`, cmd, params)
	if _, err := fmt.Fprintf(b.ctrl, "%d:%s,", len(js), js); err != nil {
		t.Fatal(err)
	}
}

// TestBaresipTLS: baresip registers over TLS (verifying the server against
// the test CA), calls a UDP phone through switchboard and hangs up, then
// takes a call from the UDP phone over its TLS connection.
func TestBaresipTLS(t *testing.T) {
	t.Parallel()
	e := newTLSEnv(t, false, options{})
	cafile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(cafile, e.ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	account := fmt.Sprintf(`<sip:7001@acme.example;transport=tls>;auth_pass=alice7001;outbound="sip:%s;transport=tls";regint=600;answermode=auto`, e.tlsAddr)
	bs := startBaresip(t, account, cafile)
	waitUntil(t, 10*time.Second, "baresip registered over TLS", func() bool {
		return strings.Contains(bs.out.String(), "200 OK")
	})
	if out := bs.out.String(); !strings.Contains(out, "TLS") {
		t.Errorf("baresip's registration line does not name TLS:\n%s", out)
	}

	b := newPeer(t, e.srv, "7002", "127.0.0.1", "UDP")
	b.register("7002", bob)
	bs.command(t, "dial", "sip:7002@acme.example")
	inv := b.waitRequest(sip.INVITE, 1, 10*time.Second)
	if got := recordRoutes(inv); strings.Join(got, ",") != "udp,tls" {
		t.Errorf("callee's INVITE Record-Route transports %v, want [udp tls]", got)
	}
	b.waitRequest(sip.ACK, 1, 5*time.Second)
	e.srv.waitMetric(t, callsActive, 1, 3*time.Second)
	time.Sleep(time.Second) // the call stays up until we hang up
	if n := len(b.requests(sip.BYE)); n != 0 {
		t.Fatalf("call ended by itself (%d BYEs) before the hang-up", n)
	}
	bs.command(t, "hangup", "")
	b.waitRequest(sip.BYE, 1, 5*time.Second)
	e.srv.waitMetric(t, callsActive, 0, 3*time.Second)

	// The UDP phone calls baresip: delivered over its TLS connection,
	// answered automatically.
	c := b.call("7001", callOpts{As: &bob})
	c.waitStatus(200, 10*time.Second)
	c.ack()
	e.srv.waitMetric(t, callsActive, 1, 3*time.Second)
	if res := c.bye(); res.StatusCode != 200 {
		t.Fatalf("BYE to baresip: %d %s", res.StatusCode, res.Reason)
	}
	e.srv.waitMetric(t, callsActive, 0, 3*time.Second)
}

// silenceWAV is n samples of 8 kHz mono PCM16 silence.
func silenceWAV(n int) []byte {
	data := 2 * n
	h := []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00")
	put := func(off, v int) { h[off], h[off+1], h[off+2], h[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24) }
	put(4, 36+data)
	put(40, data)
	return append(h, make([]byte, data)...)
}
