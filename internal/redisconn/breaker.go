package redisconn

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Breaker is a circuit breaker installed as a go-redis hook. Closed, it
// counts consecutive failures (see IsFailure); at the threshold it opens and
// every command fails at once with ErrUnavailable. After the cool-down it
// half-opens: one command is let through as a probe, and its result closes
// or re-opens the circuit.
type Breaker struct {
	threshold int
	cooldown  time.Duration
	now       func() time.Time

	mu       sync.Mutex
	state    breakerState
	fails    int
	openedAt time.Time
	probing  bool
	onChange func(open bool)
}

type breakerState uint8

const (
	closed breakerState = iota
	open
	halfOpen
)

// NewBreaker returns a closed breaker. now may be nil (time.Now).
func NewBreaker(threshold int, cooldown time.Duration, now func() time.Time) *Breaker {
	if now == nil {
		now = time.Now
	}
	return &Breaker{threshold: threshold, cooldown: cooldown, now: now}
}

// Open reports whether the circuit currently refuses calls.
func (b *Breaker) Open() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state != closed
}

// Ready reports whether a call would be admitted now, without admitting it.
func (b *Breaker) Ready() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case open:
		return b.now().Sub(b.openedAt) >= b.cooldown
	case halfOpen:
		return !b.probing
	}
	return true
}

// Allow admits a call or returns ErrUnavailable. An admitted call must be
// followed by Report.
func (b *Breaker) Allow() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case open:
		if b.now().Sub(b.openedAt) < b.cooldown {
			return ErrUnavailable
		}
		b.state = halfOpen
		b.probing = true
	case halfOpen:
		if b.probing {
			return ErrUnavailable
		}
		b.probing = true
	}
	return nil
}

// Report records the result of an admitted call.
func (b *Breaker) Report(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	wasOpen := b.state != closed
	if !IsFailure(err) {
		b.state, b.fails, b.probing = closed, 0, false
	} else {
		b.fails++
		if b.state == halfOpen || b.fails >= b.threshold {
			b.state, b.openedAt, b.probing = open, b.now(), false
		}
	}
	if isOpen := b.state != closed; isOpen != wasOpen && b.onChange != nil {
		b.onChange(isOpen)
	}
}

// DialHook implements redis.Hook. Dials are not gated: they happen inside
// admitted calls, in go-redis's background re-dial after failures (which
// must be able to succeed for the pool to recover) and for the pub/sub
// connection, whose owner paces its own retries.
func (b *Breaker) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook.
func (b *Breaker) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if setup(cmd) {
			return next(ctx, cmd) // part of an admitted call's dial
		}
		if err := b.Allow(); err != nil {
			cmd.SetErr(err)
			return err
		}
		err := next(ctx, cmd)
		b.Report(err)
		return err
	}
}

// ProcessPipelineHook implements redis.Hook; MULTI/EXEC transactions come
// through here too.
func (b *Breaker) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && setup(cmds[0]) {
			return next(ctx, cmds)
		}
		if err := b.Allow(); err != nil {
			for _, c := range cmds {
				c.SetErr(err)
			}
			return err
		}
		err := next(ctx, cmds)
		b.Report(err)
		return err
	}
}

// setup reports whether cmd is one go-redis sends while initialising a new
// connection, inside the call that needed it: gating it again would refuse
// the half-open probe's own handshake.
func setup(cmd redis.Cmder) bool {
	switch cmd.Name() {
	case "hello", "auth", "select", "client", "readonly":
		return true
	}
	return false
}
