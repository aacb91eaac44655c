package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/redisconn"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/sip/auth"
)

func TestNonceSecretSharedThroughRedis(t *testing.T) {
	srv := redistest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	open := func() *redisconn.Client {
		c, err := redisconn.Open(redisconn.Config{URL: srv.URL()}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	rdb := open()

	// Instances starting together all get the same key.
	const n = 8
	got := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = nonceSecret(ctx, open(), "sb:") })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		if len(got[i]) != nonceSecretLen {
			t.Fatalf("instance %d: secret of %d bytes, want %d", i, len(got[i]), nonceSecretLen)
		}
		if !bytes.Equal(got[i], got[0]) {
			t.Fatalf("instance %d got a different secret", i)
		}
	}
	stored, err := rdb.Get(ctx, "sb:auth:secret").Bytes()
	if err != nil || !bytes.Equal(stored, got[0]) {
		t.Fatalf("sb:auth:secret = %x, %v; want %x", stored, err, got[0])
	}
	if ttl := rdb.TTL(ctx, "sb:auth:secret").Val(); ttl != -1 {
		t.Errorf("sb:auth:secret TTL = %v, want none", ttl)
	}

	// A later start reads it back unchanged.
	again, err := nonceSecret(ctx, rdb, "sb:")
	if err != nil || !bytes.Equal(again, got[0]) {
		t.Fatalf("second read: %x, %v; want %x", again, err, got[0])
	}

	// Rotation: delete the key, the next start creates a new one.
	rdb.Del(ctx, "sb:auth:secret")
	rotated, err := nonceSecret(ctx, rdb, "sb:")
	if err != nil || len(rotated) != nonceSecretLen || bytes.Equal(rotated, got[0]) {
		t.Fatalf("after DEL: %x, %v; want a new %d-byte key", rotated, err, nonceSecretLen)
	}

	// The key is one sip/auth accepts.
	if _, err := auth.New(auth.Config{Secret: rotated}); err != nil {
		t.Fatalf("auth.New with the shared secret: %v", err)
	}

	// A key too short to sign with (set by hand) is refused.
	rdb.Set(ctx, "sb:auth:secret", "short", 0)
	if _, err := nonceSecret(ctx, rdb, "sb:"); err == nil {
		t.Fatal("a 5-byte secret was accepted")
	}
}

func TestNonceSecretRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	srv.Kill()
	rdb, err := redisconn.Open(redisconn.Config{URL: srv.URL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	start := time.Now()
	if s, err := nonceSecret(context.Background(), rdb, "sb:"); err == nil || s != nil {
		t.Fatalf("with redis down: %x, %v; want an error", s, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("failing took %v", d)
	}
}

func TestKeepNonceSecret(t *testing.T) {
	srv := redistest.Start(t)
	rdb, err := redisconn.Open(redisconn.Config{URL: srv.URL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	secret, err := nonceSecret(ctx, rdb, "sb:")
	if err != nil {
		t.Fatal(err)
	}
	var logged syncBuf
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		keepNonceSecret(runCtx, rdb, "sb:", secret, 10*time.Millisecond, slog.New(slog.NewTextHandler(&logged, nil)))
	}()
	defer func() { stop(); <-done }()

	// Redis restarted empty: the running instance puts its key back.
	srv.Restart()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := rdb.Get(ctx, "sb:auth:secret").Bytes()
		if err == nil && bytes.Equal(b, secret) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sb:auth:secret not restored within 5s: %x, %v", b, err)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Rotated by hand: not overwritten, and said once.
	other := bytes.Repeat([]byte{7}, nonceSecretLen)
	rdb.Set(ctx, "sb:auth:secret", other, 0)
	deadline = time.Now().Add(5 * time.Second)
	for !strings.Contains(logged.String(), "differs") {
		if time.Now().After(deadline) {
			t.Fatal("a different key in redis was not logged")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if b, _ := rdb.Get(ctx, "sb:auth:secret").Bytes(); !bytes.Equal(b, other) {
		t.Errorf("the rotated key was overwritten")
	}
	if n := strings.Count(logged.String(), "differs"); n != 1 {
		t.Errorf("logged %d times, want once", n)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
