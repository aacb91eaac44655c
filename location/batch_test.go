package location

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/redistest"
)

// TestBatcherGroupsWaitingJobs: jobs queued while the only flusher is busy
// leave together in its next pipeline, and every caller gets the answer to
// its own command.
func TestBatcherGroupsWaitingJobs(t *testing.T) {
	srv := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), Protocol: 2, DisableIdentity: true})
	defer c.Close()
	b := newBatcher(func() redis.Pipeliner { return c.Pipeline() }, 128, 1)
	ctx := context.Background()

	hold, held := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- b.do(ctx, func(p redis.Pipeliner) {
			close(held)
			<-hold // keep the one flusher busy while the others queue
			p.Set(ctx, "k0", "v0", 0)
		})
	}()
	<-held
	const n = 40
	var wg sync.WaitGroup
	got := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var cmd *redis.StringCmd
			key := fmt.Sprintf("k%d", i+1)
			errs[i] = b.do(ctx, func(p redis.Pipeliner) {
				p.Set(ctx, key, fmt.Sprintf("v%d", i+1), 0)
				cmd = p.Get(ctx, key)
			})
			if errs[i] == nil {
				got[i] = cmd.Val()
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		b.mu.Lock()
		queued := len(b.queue)
		b.mu.Unlock()
		if queued == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(hold)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatalf("first job: %v", err)
	}
	for i := range n {
		if want := fmt.Sprintf("v%d", i+1); errs[i] != nil || got[i] != want {
			t.Errorf("job %d: got %q, %v; want %q", i, got[i], errs[i], want)
		}
	}
	if batches, jobs := b.batches.Load(), b.jobs.Load(); jobs != n+1 || batches != 2 {
		t.Errorf("%d jobs in %d pipelines, want %d in 2 (the held one, then every job that queued behind it)", jobs, batches, n+1)
	}
	b.mu.Lock()
	flights := b.flights
	b.mu.Unlock()
	if flights != 0 {
		// The flusher exits once the queue is empty; give it a moment.
		time.Sleep(50 * time.Millisecond)
		b.mu.Lock()
		flights = b.flights
		b.mu.Unlock()
		if flights != 0 {
			t.Errorf("%d flushers alive with an empty queue, want 0", flights)
		}
	}
}

// TestBatcherCallerGivesUp: a caller whose context ends stops waiting; the
// batch goes on for the others.
func TestBatcherCallerGivesUp(t *testing.T) {
	srv := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), Protocol: 2, DisableIdentity: true})
	defer c.Close()
	b := newBatcher(func() redis.Pipeliner { return c.Pipeline() }, 128, 1)
	hold, held := make(chan struct{}), make(chan struct{})
	go func() {
		_ = b.do(context.Background(), func(p redis.Pipeliner) { close(held); <-hold; p.Ping(context.Background()) })
	}()
	<-held
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := b.do(ctx, func(p redis.Pipeliner) { t.Error("fill of an abandoned job ran") })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("do with an expiring context = %v, want DeadlineExceeded", err)
	}
	close(hold)
	var pong *redis.StatusCmd
	if err := b.do(context.Background(), func(p redis.Pipeliner) { pong = p.Ping(context.Background()) }); err != nil || pong.Val() != "PONG" {
		t.Errorf("next job: %v %v, want PONG", pong.Val(), err)
	}
}
