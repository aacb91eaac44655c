package location

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Dialog state kept for the SIP proxy (one key per confirmed call, see
// sip/dialogstore.go): what an instance needs to relay a BYE or re-INVITE
// for a call another instance, or this one before a restart, set up.

// ErrNoDialog is LoadDialog's answer for a Call-ID without a record.
var ErrNoDialog = errors.New("location: no such dialog")

// SaveDialog stores a dialog record for ttl.
func (r *Redis) SaveDialog(ctx context.Context, callID string, rec []byte, ttl time.Duration) error {
	return r.rdb.Call(ctx, "dialog_save", func(ctx context.Context) error {
		if err := r.rdb.Set(ctx, r.prefix+"dialog:"+callID, rec, ttl).Err(); err != nil {
			return fmt.Errorf("save dialog: %w", err)
		}
		return nil
	})
}

// LoadDialog returns a dialog record; ErrNoDialog when there is none.
func (r *Redis) LoadDialog(ctx context.Context, callID string) ([]byte, error) {
	var out []byte
	err := r.rdb.Call(ctx, "dialog_load", func(ctx context.Context) error {
		b, err := r.rdb.Get(ctx, r.prefix+"dialog:"+callID).Bytes()
		if errors.Is(err, redis.Nil) {
			return ErrNoDialog
		}
		if err != nil {
			return fmt.Errorf("load dialog: %w", err)
		}
		out = b
		return nil
	})
	return out, err
}

// DeleteDialog removes a dialog record and reports whether this call
// removed it: of several instances ending one call, exactly one gets true.
func (r *Redis) DeleteDialog(ctx context.Context, callID string) (bool, error) {
	var n int64
	err := r.rdb.Call(ctx, "dialog_delete", func(ctx context.Context) error {
		var err error
		n, err = r.rdb.Del(ctx, r.prefix+"dialog:"+callID).Result()
		if err != nil {
			return fmt.Errorf("delete dialog: %w", err)
		}
		return nil
	})
	return n == 1, err
}
