package sip

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestHandlerPool: an idle worker takes a request; with every worker busy,
// and after stop, give refuses so the caller starts a goroutine instead.
func TestHandlerPool(t *testing.T) {
	var zero handlerPool
	if zero.give(&sip.Request{}, &statelessTx{}) {
		t.Fatal("give on a pool never started = true, want false")
	}

	var p handlerPool
	release := make(chan struct{})
	got := make(chan *sip.Request, 1)
	stop := p.start(1, func(req *sip.Request, _ sip.ServerTransaction) {
		got <- req
		<-release
	})
	req := &sip.Request{}
	if !giveWithin(&p, req, time.Second) {
		t.Fatal("give with an idle worker = false, want true")
	}
	if r := <-got; r != req {
		t.Fatalf("worker handled %p, want %p", r, req)
	}
	if p.give(&sip.Request{}, &statelessTx{}) {
		t.Error("give with the only worker busy = true, want false")
	}
	close(release)
	stop()
	if p.give(&sip.Request{}, &statelessTx{}) {
		t.Error("give after stop = true, want false")
	}
}

// giveWithin retries give until the worker has reached its receive.
func giveWithin(p *handlerPool, req *sip.Request, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if p.give(req, &statelessTx{}) {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}
