package media

import (
	"context"
	"time"
)

// Clock is the time source of a Session. Tests inject a fake one so that
// pacing and timeouts are exact; production uses the system clock.
type Clock interface {
	Now() time.Time
	// Sleep blocks until the clock reaches until or ctx ends (then it
	// returns ctx.Err(), even when until has passed).
	Sleep(ctx context.Context, until time.Time) error
}

// SystemClock is the Clock of the real world.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits on a timer for the absolute time until, so that successive
// sleeps on a schedule computed from one start time never drift.
func (SystemClock) Sleep(ctx context.Context, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := time.Until(until)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
