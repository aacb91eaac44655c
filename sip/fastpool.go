package sip

import (
	"runtime"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// A goroutine started per fast-path request (stateless.go) begins with a
// small stack and grows it, by copying, while the REGISTER runs through
// digest verification and the location write: 5–8% of a REGISTER's CPU
// in the BenchmarkRegisterWire profile. handlerPool keeps a few handler
// goroutines between requests, their stacks already grown. A request is
// handed to an idle one; when none is idle (a slow store holds them all)
// it gets its own goroutine as before, so the pool never queues or delays
// a request.

// fastHandlers is how many handler goroutines the pool keeps: enough for
// every P to run one while others wait on a store, and at least two read
// batches' worth (udpbatch.go), since a read loop hands out a whole batch
// before the workers it woke get to run.
func fastHandlers() int { return max(4*runtime.GOMAXPROCS(0), 2*udpBatch) }

type fastJob struct {
	req *sip.Request
	tx  *statelessTx
}

// handlerPool hands requests to idle kept goroutines. The zero value has
// none: give then always refuses.
type handlerPool struct {
	jobs chan fastJob // unbuffered: a send succeeds only to an idle worker
}

// start runs n workers calling handle until the returned stop is called;
// stop waits for them. jobs is never closed: a read loop may still call
// give after stop, which then refuses.
func (p *handlerPool) start(n int, handle func(*sip.Request, sip.ServerTransaction)) (stop func()) {
	p.jobs = make(chan fastJob)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.work(quit, handle)
		}()
	}
	return func() { close(quit); wg.Wait() }
}

func (p *handlerPool) work(quit <-chan struct{}, handle func(*sip.Request, sip.ServerTransaction)) {
	for {
		select {
		case j := <-p.jobs:
			handle(j.req, j.tx)
		case <-quit:
			return
		}
	}
}

// give hands req to an idle worker and reports whether one took it; when
// false the caller runs it on a goroutine of its own.
func (p *handlerPool) give(req *sip.Request, tx *statelessTx) bool {
	select {
	case p.jobs <- fastJob{req, tx}:
		return true
	default:
		return false
	}
}
