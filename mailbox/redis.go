package mailbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/redisconn"
)

// Redis is the Store shared by several instances: any instance plays any
// message. Per mailbox, under <prefix>vm:<tenant>|<name>:
//
//	:ids       LIST of message ids, oldest first
//	:m:<id>    HASH meta (JSON Message), wav, size
//	:bytes     the audio bytes stored (the size cap)
//	:greeting  the recorded greeting's WAV
//
// Changes are published on <prefix>vm:changed as "<instance> <tenant>|<name>";
// Run delivers the other instances' to Watch (this instance's own are
// delivered at once, without the round trip).
type Redis struct {
	rdb      *redisconn.Client
	prefix   string
	instance string
	log      *slog.Logger

	mu       sync.Mutex
	watchers []func(Box)
}

var _ Store = (*Redis)(nil)

// NewRedis returns a store on rdb with every key under prefix ("sb:").
func NewRedis(rdb *redisconn.Client, prefix string, log *slog.Logger) *Redis {
	if log == nil {
		log = slog.Default()
	}
	var r [8]byte
	_, _ = rand.Read(r[:])
	return &Redis{rdb: rdb, prefix: prefix, instance: hex.EncodeToString(r[:]), log: log}
}

// audioTimeout bounds an operation that moves a message's audio (up to
// ~3 MB for 3 minutes).
const audioTimeout = 5 * time.Second

func (s *Redis) key(b Box, part string) string {
	return s.prefix + "vm:" + b.Tenant + "|" + b.Name + ":" + part
}

func (s *Redis) channel() string { return s.prefix + "vm:changed" }

// Watch implements Store.
func (s *Redis) Watch(f func(Box)) {
	s.mu.Lock()
	s.watchers = append(s.watchers, f)
	s.mu.Unlock()
}

func (s *Redis) deliver(b Box) {
	s.mu.Lock()
	ws := slices.Clone(s.watchers)
	s.mu.Unlock()
	for _, f := range ws {
		f(b)
	}
}

// changed announces a change to this instance's watchers and the others.
func (s *Redis) changed(ctx context.Context, b Box) {
	s.deliver(b)
	err := s.rdb.Call(context.WithoutCancel(ctx), "voicemail_publish", func(ctx context.Context) error {
		return s.rdb.Publish(ctx, s.channel(), s.instance+" "+b.Tenant+"|"+b.Name).Err()
	})
	if err != nil {
		s.log.Warn("voicemail change not published; other instances' lamps lag until the next change", "error", err)
	}
}

var saveScript = redis.NewScript(`
local n = redis.call('LLEN', KEYS[1])
local bytes = tonumber(redis.call('GET', KEYS[3]) or '0')
if n >= tonumber(ARGV[3]) or bytes + tonumber(ARGV[4]) > tonumber(ARGV[5]) then return 0 end
redis.call('HSET', KEYS[2], 'meta', ARGV[1], 'wav', ARGV[2], 'size', ARGV[4])
redis.call('RPUSH', KEYS[1], ARGV[6])
redis.call('INCRBY', KEYS[3], ARGV[4])
return 1`)

var deleteScript = redis.NewScript(`
local sz = redis.call('HGET', KEYS[2], 'size')
if not sz then return 0 end
redis.call('DEL', KEYS[2])
redis.call('LREM', KEYS[1], 0, ARGV[1])
redis.call('DECRBY', KEYS[3], sz)
return 1`)

// Save implements Store.
func (s *Redis) Save(ctx context.Context, b Box, m Message, wav []byte, lim Limits) (Message, error) {
	lim = lim.withDefaults()
	m.ID, m.Size = newID(), len(wav)
	if m.Received.IsZero() {
		m.Received = time.Now().UTC()
	}
	meta, err := json.Marshal(m)
	if err != nil {
		return Message{}, fmt.Errorf("voicemail save: %w", err)
	}
	var ok int64
	err = s.rdb.CallTimeout(ctx, "voicemail_save", audioTimeout, func(ctx context.Context) error {
		var err error
		ok, err = saveScript.Run(ctx, s.rdb, []string{s.key(b, "ids"), s.key(b, "m:"+m.ID), s.key(b, "bytes")},
			meta, wav, lim.MaxMessages, len(wav), lim.MaxBytes, m.ID).Int64()
		return err
	})
	if err != nil {
		return Message{}, fmt.Errorf("voicemail save %s: %w", b, err)
	}
	if ok == 0 {
		return Message{}, ErrFull
	}
	s.changed(ctx, b)
	return m, nil
}

// Full implements Store.
func (s *Redis) Full(ctx context.Context, b Box, size int, lim Limits) (bool, error) {
	lim = lim.withDefaults()
	var n, bytes int64
	err := s.rdb.Call(ctx, "voicemail_full", func(ctx context.Context) error {
		var err error
		if n, err = s.rdb.LLen(ctx, s.key(b, "ids")).Result(); err != nil {
			return err
		}
		bytes, err = s.rdb.Get(ctx, s.key(b, "bytes")).Int64()
		if errors.Is(err, redis.Nil) {
			err = nil
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("voicemail full %s: %w", b, err)
	}
	return n >= int64(lim.MaxMessages) || bytes+int64(size) > lim.MaxBytes, nil
}

// List implements Store.
func (s *Redis) List(ctx context.Context, b Box) ([]Message, error) {
	var out []Message
	err := s.rdb.Call(ctx, "voicemail_list", func(ctx context.Context) error {
		ids, err := s.rdb.LRange(ctx, s.key(b, "ids"), 0, -1).Result()
		if err != nil || len(ids) == 0 {
			return err
		}
		cmds := make([]*redis.StringCmd, len(ids))
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range ids {
				cmds[i] = p.HGet(ctx, s.key(b, "m:"+id), "meta")
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		out = make([]Message, 0, len(ids))
		for _, c := range cmds {
			var m Message
			if v, err := c.Result(); err == nil && json.Unmarshal([]byte(v), &m) == nil {
				out = append(out, m)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("voicemail list %s: %w", b, err)
	}
	return out, nil
}

// Audio implements Store.
func (s *Redis) Audio(ctx context.Context, b Box, id string) ([]byte, error) {
	var wav []byte
	err := s.rdb.CallTimeout(ctx, "voicemail_audio", audioTimeout, func(ctx context.Context) error {
		var err error
		wav, err = s.rdb.HGet(ctx, s.key(b, "m:"+id), "wav").Bytes()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("voicemail audio %s: %w", b, err)
	}
	return wav, nil
}

// SetNew implements Store.
func (s *Redis) SetNew(ctx context.Context, b Box, id string, isNew bool) error {
	changed := false
	err := s.rdb.Call(ctx, "voicemail_mark", func(ctx context.Context) error {
		k := s.key(b, "m:"+id)
		v, err := s.rdb.HGet(ctx, k, "meta").Result()
		if err != nil {
			return err
		}
		var m Message
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			return err
		}
		if m.New == isNew {
			return nil
		}
		m.New, changed = isNew, true
		meta, _ := json.Marshal(m)
		return s.rdb.HSet(ctx, k, "meta", meta).Err()
	})
	if errors.Is(err, redis.Nil) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("voicemail mark %s: %w", b, err)
	}
	if changed {
		s.changed(ctx, b)
	}
	return nil
}

// Delete implements Store.
func (s *Redis) Delete(ctx context.Context, b Box, id string) error {
	var ok int64
	err := s.rdb.Call(ctx, "voicemail_delete", func(ctx context.Context) error {
		var err error
		ok, err = deleteScript.Run(ctx, s.rdb, []string{s.key(b, "ids"), s.key(b, "m:"+id), s.key(b, "bytes")}, id).Int64()
		return err
	})
	if err != nil {
		return fmt.Errorf("voicemail delete %s: %w", b, err)
	}
	if ok == 0 {
		return ErrNotFound
	}
	s.changed(ctx, b)
	return nil
}

// Greeting implements Store.
func (s *Redis) Greeting(ctx context.Context, b Box) ([]byte, error) {
	var wav []byte
	err := s.rdb.CallTimeout(ctx, "voicemail_greeting", audioTimeout, func(ctx context.Context) error {
		var err error
		wav, err = s.rdb.Get(ctx, s.key(b, "greeting")).Bytes()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("voicemail greeting %s: %w", b, err)
	}
	return wav, nil
}

// SetGreeting implements Store.
func (s *Redis) SetGreeting(ctx context.Context, b Box, wav []byte) error {
	err := s.rdb.CallTimeout(ctx, "voicemail_greeting_set", audioTimeout, func(ctx context.Context) error {
		return s.rdb.Set(ctx, s.key(b, "greeting"), wav, 0).Err()
	})
	if err != nil {
		return fmt.Errorf("voicemail greeting %s: %w", b, err)
	}
	s.changed(ctx, b)
	return nil
}

// Run delivers the other instances' changes to Watch until ctx ends,
// resubscribing after a connection loss.
func (s *Redis) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		s.subscribe(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

func (s *Redis) subscribe(ctx context.Context) {
	ps := s.rdb.Subscribe(ctx, s.channel())
	defer ps.Close()
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	for {
		msg, err := ps.ReceiveTimeout(ctx, 2*time.Second)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() && ps.Ping(ctx) == nil {
				continue
			}
			return
		}
		m, ok := msg.(*redis.Message)
		if !ok {
			continue
		}
		from, box, _ := strings.Cut(m.Payload, " ")
		tenant, name, ok := strings.Cut(box, "|")
		if !ok || from == s.instance {
			continue
		}
		s.deliver(Box{Tenant: tenant, Name: name})
	}
}
