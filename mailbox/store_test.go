package mailbox

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/redisconn"
	"github.com/switchboard/switchboard/internal/redistest"
)

// testStore runs the same behaviour against every Store.
func testStore(t *testing.T, s Store, other Store) {
	ctx := context.Background()
	b := Box{Tenant: "acme.example", Name: "user:alice"}
	changes := make(chan Box, 16)
	other.Watch(func(b Box) { changes <- b })
	lim := Limits{MaxMessages: 2, MaxBytes: 1000}

	m1, err := s.Save(ctx, b, Message{From: "+14085551234", To: "7001", Duration: 2, New: true}, make([]byte, 400), lim)
	if err != nil || m1.ID == "" || m1.Size != 400 {
		t.Fatalf("Save = %+v, %v", m1, err)
	}
	waitChange(t, changes, b)
	if _, err := s.Save(ctx, b, Message{New: true}, make([]byte, 700), lim); !errors.Is(err, ErrFull) {
		t.Errorf("Save over MaxBytes = %v, want ErrFull", err)
	}
	m2, err := s.Save(ctx, b, Message{From: "7002", New: true}, []byte("RIFFwav"), lim)
	if err != nil {
		t.Fatal(err)
	}
	if full, err := s.Full(ctx, b, 1, lim); err != nil || !full {
		t.Errorf("Full at MaxMessages = %v, %v, want true", full, err)
	}
	if err := s.SetNew(ctx, b, m1.ID, false); err != nil {
		t.Fatal(err)
	}
	list, err := other.List(ctx, b)
	if err != nil || len(list) != 2 || list[0].ID != m1.ID || list[0].New || !list[1].New || list[0].From != "+14085551234" {
		t.Fatalf("List = %+v, %v; want m1 heard then m2 new", list, err)
	}
	if c := CountsOf(list); c != (Counts{New: 1, Old: 1}) {
		t.Errorf("CountsOf = %+v", c)
	}
	if wav, err := other.Audio(ctx, b, m2.ID); err != nil || string(wav) != "RIFFwav" {
		t.Errorf("Audio = %q, %v", wav, err)
	}
	if err := s.Delete(ctx, b, m2.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, b, m2.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
	if _, err := s.Audio(ctx, b, m2.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Audio of deleted = %v, want ErrNotFound", err)
	}
	if full, _ := s.Full(ctx, b, 500, lim); full {
		t.Error("Full after delete = true, want room again")
	}
	if err := s.SetGreeting(ctx, b, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if g, err := other.Greeting(ctx, b); err != nil || string(g) != "hello" {
		t.Errorf("Greeting = %q, %v", g, err)
	}
	if g, err := s.Greeting(ctx, Box{Tenant: "acme.example", Name: "mailbox:none"}); err != nil || g != nil {
		t.Errorf("Greeting of an empty box = %q, %v, want nil", g, err)
	}
}

func waitChange(t *testing.T, ch <-chan Box, want Box) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Errorf("change of %v, want %v", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("no change of %v announced", want)
	}
}

func TestMemory(t *testing.T) {
	s := NewMemory()
	testStore(t, s, s)
}

func TestRedisAcrossInstances(t *testing.T) {
	srv := redistest.Start(t)
	open := func() *Redis {
		rdb, err := redisconn.Open(redisconn.Config{URL: srv.URL()}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rdb.Close() })
		return NewRedis(rdb, "sb:", nil)
	}
	a, b := open(), open()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = b.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	// b's subscription must be up before a publishes.
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, _ := a.rdb.PubSubNumSub(ctx, a.channel()).Result()
		if n[a.channel()] > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	testStore(t, a, b)
}
