package location

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// batcher is the Redis store's group commit: the commands of many
// concurrent updates and lookups go to Redis in one pipeline, so a busy
// registrar pays one write and one read system call (and Redis one event
// loop turn) per batch rather than per REGISTER.
//
// Batches form on their own, without a timer: a flusher goroutine takes
// whatever is queued, after yielding once so that the request goroutines
// already runnable can add theirs, and sends it; jobs that arrive while
// every flusher waits for Redis queue up and leave together in the next
// pipeline. At low load a job waits for nobody; under load batches grow to
// maxBatch. Every caller still waits for Redis's answer to its own
// commands: nothing is acknowledged before Redis has it.
//
// Flushers are started on demand and exit when the queue is empty, so the
// batcher owns no goroutine between bursts and needs no Close.
type batcher struct {
	pipe       func() redis.Pipeliner
	maxBatch   int // jobs per pipeline
	maxFlights int // pipelines in flight at once

	mu         sync.Mutex
	queue      []*job
	flights    int  // flusher goroutines alive
	collecting bool // one of them is about to take the queue

	batches, jobs atomic.Uint64 // for tests and benchmarks
}

// job is one caller's share of a pipeline.
type job struct {
	ctx       context.Context
	fill      func(p redis.Pipeliner)
	done      chan struct{} // receives once fill's commands have answers
	abandoned atomic.Bool   // the caller gave up before fill ran
}

var jobPool = sync.Pool{New: func() any { return &job{done: make(chan struct{}, 1)} }}

func newBatcher(pipe func() redis.Pipeliner, maxBatch, maxFlights int) *batcher {
	return &batcher{pipe: pipe, maxBatch: maxBatch, maxFlights: maxFlights}
}

// do queues fill's commands for the next pipeline and waits until they were
// answered (their errors are in the commands) or ctx ends.
func (b *batcher) do(ctx context.Context, fill func(p redis.Pipeliner)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := jobPool.Get().(*job)
	j.ctx, j.fill = ctx, fill
	j.abandoned.Store(false)
	b.mu.Lock()
	b.queue = append(b.queue, j)
	start := !b.collecting && b.flights < b.maxFlights
	if start {
		b.flights++
		b.collecting = true
	}
	b.mu.Unlock()
	if start {
		go b.flush()
	}
	select {
	case <-j.done:
		j.ctx, j.fill = nil, nil
		jobPool.Put(j)
		return nil
	case <-ctx.Done():
		// The job may still run; it is not reused since its done channel
		// may yet be written.
		j.abandoned.Store(true)
		return ctx.Err()
	}
}

// flush sends batches until the queue is empty.
func (b *batcher) flush() {
	batch := make([]*job, 0, b.maxBatch)
	for {
		// Let the request goroutines that are already runnable queue their
		// commands first: with GOMAXPROCS=1 this is what makes a batch.
		runtime.Gosched()
		b.mu.Lock()
		n := min(len(b.queue), b.maxBatch)
		batch = append(batch[:0], b.queue[:n]...)
		clear(b.queue[:n])
		b.queue = b.queue[n:]
		if len(b.queue) == 0 {
			b.queue = b.queue[:0:0] // let the drained backing array go
		}
		b.collecting = len(b.queue) > 0 // the rest wait for this flusher's next round
		if n == 0 {
			b.flights--
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.send(batch)
	}
}

// send runs one pipeline for the jobs of a batch and wakes their callers.
func (b *batcher) send(batch []*job) {
	p := b.pipe()
	var deadline time.Time
	for _, j := range batch {
		if j.abandoned.Load() {
			continue
		}
		if d, ok := j.ctx.Deadline(); ok && d.After(deadline) {
			deadline = d
		}
		j.fill(p)
	}
	if p.Len() > 0 {
		if deadline.IsZero() {
			deadline = time.Now().Add(time.Second)
		}
		// The batch outlives any one caller's context: the latest deadline
		// among them bounds it, so nobody's commands are cut short.
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		_, _ = p.Exec(ctx) // each command carries its own error
		cancel()
		b.batches.Add(1)
		b.jobs.Add(uint64(len(batch)))
	}
	for _, j := range batch {
		j.done <- struct{}{}
	}
}
