package redisconn

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestBreaker(t *testing.T) {
	now := time.Unix(0, 0)
	b := NewBreaker(3, time.Second, func() time.Time { return now })
	fail := func() {
		t.Helper()
		if err := b.Allow(); err != nil {
			t.Fatalf("Allow = %v, want admitted", err)
		}
		b.Report(io.EOF)
	}
	fail()
	fail()
	b.Report(redis.Nil) // an answer resets the count
	fail()
	fail()
	if b.Open() {
		t.Fatal("open after 2 consecutive failures, threshold 3")
	}
	fail()
	if !b.Open() || !errors.Is(b.Allow(), ErrUnavailable) {
		t.Fatal("not refusing after 3 consecutive failures")
	}
	now = now.Add(time.Second)
	if err := b.Allow(); err != nil {
		t.Fatalf("half-open probe refused: %v", err)
	}
	if err := b.Allow(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("second call while probing = %v, want refused", err)
	}
	b.Report(io.EOF) // probe failed: open again
	if err := b.Allow(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("after a failed probe = %v, want refused", err)
	}
	now = now.Add(time.Second)
	if err := b.Allow(); err != nil {
		t.Fatal(err)
	}
	b.Report(nil)
	if b.Open() {
		t.Fatal("still open after a successful probe")
	}
}

func TestIsFailure(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{nil, false}, {redis.Nil, false}, {redis.TxFailedErr, false}, {io.EOF, true}, {ErrUnavailable, true},
	} {
		if got := IsFailure(tt.err); got != tt.want {
			t.Errorf("IsFailure(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
