package media

import (
	"context"
	"sync"
	"testing"
	"time"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// stepClock never waits: Sleep jumps the clock to its deadline and records
// it, so a sender's schedule can be read back exactly.
type stepClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Time
}

func newStepClock() *stepClock { return &stepClock{now: epoch} }

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) Sleep(ctx context.Context, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, until)
	if until.After(c.now) {
		c.now = until
	}
	return nil
}

func (c *stepClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *stepClock) Sleeps() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.sleeps...)
}

// manualClock moves only when the test says so; sleepers wake when it
// reaches their deadline.
type manualClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters map[*sleeper]bool
}

type sleeper struct {
	until time.Time
	wake  chan struct{}
}

func newManualClock() *manualClock { return &manualClock{now: epoch, waiters: map[*sleeper]bool{}} }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Sleep(ctx context.Context, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	if !until.After(c.now) {
		c.mu.Unlock()
		return nil
	}
	s := &sleeper{until: until, wake: make(chan struct{})}
	c.waiters[s] = true
	c.mu.Unlock()
	select {
	case <-s.wake:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.waiters, s)
		c.mu.Unlock()
		return ctx.Err()
	}
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for s := range c.waiters {
		if !s.until.After(c.now) {
			delete(c.waiters, s)
			close(s.wake)
		}
	}
}

// waitSleeper waits (in real time, as synchronisation only) until someone
// sleeps until exactly at.
func (c *manualClock) waitSleeper(t *testing.T, at time.Time) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for s := range c.waiters {
			if s.until.Equal(at) {
				c.mu.Unlock()
				return
			}
		}
		c.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("nobody sleeps until %v", at.Sub(epoch))
}
