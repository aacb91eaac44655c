package location

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Publish sends msg on a channel shared by every instance on this Redis
// (under the store's key prefix). It is fire-and-forget, as Redis pub/sub
// is: a message published while an instance is disconnected is lost to it.
func (r *Redis) Publish(ctx context.Context, channel string, msg []byte) error {
	return r.rdb.Call(ctx, "publish", func(ctx context.Context) error {
		if err := r.rdb.Publish(ctx, r.prefix+channel, msg).Err(); err != nil {
			return fmt.Errorf("publish %s: %w", channel, err)
		}
		return nil
	})
}

// Listen calls fn with every message published on channel until ctx ends,
// resubscribing after a lost connection.
func (r *Redis) Listen(ctx context.Context, channel string, fn func([]byte)) error {
	for ctx.Err() == nil {
		r.listenOnce(ctx, r.prefix+channel, fn)
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

func (r *Redis) listenOnce(ctx context.Context, channel string, fn func([]byte)) {
	ps := r.rdb.Subscribe(ctx, channel)
	defer ps.Close()
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	for {
		msg, err := ps.ReceiveTimeout(ctx, 5*time.Second)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() && ps.Ping(ctx) == nil {
				continue // quiet channel, live connection
			}
			r.log.Warn("location pub/sub lost; resubscribing", "channel", channel, "error", err)
			return
		}
		if m, ok := msg.(*redis.Message); ok {
			fn([]byte(m.Payload))
		}
	}
}
