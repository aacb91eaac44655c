package dialplan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/redisconn"
)

// RedisAccounts is Accounts in Redis, shared by every instance: a token
// revoked or a session ended on one instance fails on the next request to
// any other, because nothing is cached in process. Keys (under the store
// prefix, see docs/redis.md):
//
//	admin:<email>          JSON Admin
//	admins:<tenant>        set of emails
//	token:<sha256>         JSON Token
//	tokens:<tenant>        hash id -> sha256
//	session:<sha256>       JSON Session, expiring with it
//	sessions:<email>       set of session hashes (ended with the admin)
//	pool                   set of the provider's unallocated numbers
type RedisAccounts struct {
	rdb    *redisconn.Client
	prefix string
}

var _ Accounts = (*RedisAccounts)(nil)

// NewRedisAccounts returns the account store on c under prefix (as the
// directory store's, e.g. "sb:").
func NewRedisAccounts(c *redisconn.Client, prefix string) *RedisAccounts {
	if prefix == "" {
		prefix = "sb:"
	}
	return &RedisAccounts{rdb: c, prefix: prefix}
}

const accountsTimeout = 2 * time.Second

func (r *RedisAccounts) call(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	return r.rdb.CallTimeout(ctx, op, accountsTimeout, fn)
}

func (r *RedisAccounts) get(ctx context.Context, op, key string, v any, what string) error {
	return r.call(ctx, op, func(ctx context.Context) error {
		b, err := r.rdb.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return fmt.Errorf("%s: %w", what, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return json.Unmarshal(b, v)
	})
}

// CreateAdmin implements Accounts.
func (r *RedisAccounts) CreateAdmin(ctx context.Context, a Admin) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	k := emailKey(a.Email)
	return r.call(ctx, "account_write", func(ctx context.Context) error {
		ok, err := r.rdb.SetNX(ctx, r.prefix+"admin:"+k, b, 0).Result()
		if err != nil {
			return fmt.Errorf("create admin %s: %w", a.Email, err)
		}
		if !ok {
			return fmt.Errorf("admin %s: %w", a.Email, ErrExists)
		}
		return r.rdb.SAdd(ctx, r.prefix+"admins:"+strings.ToLower(a.Tenant), k).Err()
	})
}

// Admin implements Accounts.
func (r *RedisAccounts) Admin(ctx context.Context, email string) (Admin, error) {
	var a Admin
	err := r.get(ctx, "account_read", r.prefix+"admin:"+emailKey(email), &a, "admin "+email)
	return a, err
}

// Admins implements Accounts, sorted by email.
func (r *RedisAccounts) Admins(ctx context.Context, tenant string) ([]Admin, error) {
	out := []Admin{}
	err := r.call(ctx, "account_read", func(ctx context.Context) error {
		emails, err := r.rdb.SMembers(ctx, r.prefix+"admins:"+strings.ToLower(tenant)).Result()
		if err != nil || len(emails) == 0 {
			return err
		}
		keys := make([]string, len(emails))
		for i, e := range emails {
			keys[i] = r.prefix + "admin:" + e
		}
		vals, err := r.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return err
		}
		for _, v := range vals {
			s, ok := v.(string)
			if !ok {
				continue // deleted meanwhile
			}
			var a Admin
			if err := json.Unmarshal([]byte(s), &a); err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list admins of %s: %w", tenant, err)
	}
	sortAdmins(out)
	return out, nil
}

// DeleteAdmin implements Accounts; the admin's sessions end with it.
func (r *RedisAccounts) DeleteAdmin(ctx context.Context, email string) error {
	a, err := r.Admin(ctx, email)
	if err != nil {
		return err
	}
	k := emailKey(email)
	return r.call(ctx, "account_write", func(ctx context.Context) error {
		sess, err := r.rdb.SMembers(ctx, r.prefix+"sessions:"+k).Result()
		if err != nil {
			return fmt.Errorf("delete admin %s: %w", email, err)
		}
		_, err = r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, r.prefix+"admin:"+k, r.prefix+"sessions:"+k)
			p.SRem(ctx, r.prefix+"admins:"+strings.ToLower(a.Tenant), k)
			for _, h := range sess {
				p.Del(ctx, r.prefix+"session:"+h)
			}
			return nil
		})
		return err
	})
}

// CreateToken implements Accounts.
func (r *RedisAccounts) CreateToken(ctx context.Context, t Token) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return r.call(ctx, "account_write", func(ctx context.Context) error {
		ok, err := r.rdb.SetNX(ctx, r.prefix+"token:"+t.Hash, b, 0).Result()
		if err != nil {
			return fmt.Errorf("create token %s: %w", t.ID, err)
		}
		if !ok {
			return fmt.Errorf("token %s: %w", t.ID, ErrExists)
		}
		return r.rdb.HSet(ctx, r.prefix+"tokens:"+strings.ToLower(t.Tenant), t.ID, t.Hash).Err()
	})
}

// TokenByHash implements Accounts.
func (r *RedisAccounts) TokenByHash(ctx context.Context, hash string) (Token, error) {
	var t Token
	err := r.get(ctx, "account_read", r.prefix+"token:"+hash, &t, "token")
	return t, err
}

// Tokens implements Accounts, oldest first.
func (r *RedisAccounts) Tokens(ctx context.Context, tenant string) ([]Token, error) {
	out := []Token{}
	err := r.call(ctx, "account_read", func(ctx context.Context) error {
		hashes, err := r.rdb.HGetAll(ctx, r.prefix+"tokens:"+strings.ToLower(tenant)).Result()
		if err != nil || len(hashes) == 0 {
			return err
		}
		keys := make([]string, 0, len(hashes))
		for _, h := range hashes {
			keys = append(keys, r.prefix+"token:"+h)
		}
		vals, err := r.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return err
		}
		for _, v := range vals {
			if s, ok := v.(string); ok {
				var t Token
				if err := json.Unmarshal([]byte(s), &t); err != nil {
					return err
				}
				out = append(out, t)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tokens of %s: %w", tenant, err)
	}
	sortTokens(out)
	return out, nil
}

// DeleteToken implements Accounts.
func (r *RedisAccounts) DeleteToken(ctx context.Context, tenant, id string) error {
	idx := r.prefix + "tokens:" + strings.ToLower(tenant)
	return r.call(ctx, "account_write", func(ctx context.Context) error {
		h, err := r.rdb.HGet(ctx, idx, id).Result()
		if errors.Is(err, redis.Nil) {
			return fmt.Errorf("token %s in tenant %s: %w", id, tenant, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("revoke token %s: %w", id, err)
		}
		_, err = r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, r.prefix+"token:"+h)
			p.HDel(ctx, idx, id)
			return nil
		})
		return err
	})
}

// CreateSession implements Accounts.
func (r *RedisAccounts) CreateSession(ctx context.Context, s Session) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	ttl := time.Until(s.Expires)
	if ttl <= 0 {
		return errors.New("create session: already expired")
	}
	return r.call(ctx, "account_write", func(ctx context.Context) error {
		_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, r.prefix+"session:"+s.Hash, b, ttl)
			if s.Email != "" {
				k := r.prefix + "sessions:" + emailKey(s.Email)
				p.SAdd(ctx, k, s.Hash)
				p.Expire(ctx, k, ttl) // the newest session bounds the index's life
			}
			return nil
		})
		return err
	})
}

// Session implements Accounts.
func (r *RedisAccounts) Session(ctx context.Context, hash string) (Session, error) {
	var s Session
	err := r.get(ctx, "account_read", r.prefix+"session:"+hash, &s, "session")
	return s, err
}

// DeleteSession implements Accounts.
func (r *RedisAccounts) DeleteSession(ctx context.Context, hash string) error {
	return r.call(ctx, "account_write", func(ctx context.Context) error {
		return r.rdb.Del(ctx, r.prefix+"session:"+hash).Err()
	})
}

// PoolAdd implements Accounts.
func (r *RedisAccounts) PoolAdd(ctx context.Context, number string) error {
	return r.call(ctx, "account_write", func(ctx context.Context) error {
		n, err := r.rdb.SAdd(ctx, r.prefix+"pool", number).Result()
		if err != nil {
			return fmt.Errorf("pool add %s: %w", number, err)
		}
		if n == 0 {
			return fmt.Errorf("number %s in the pool: %w", number, ErrExists)
		}
		return nil
	})
}

// PoolRemove implements Accounts.
func (r *RedisAccounts) PoolRemove(ctx context.Context, number string) error {
	return r.call(ctx, "account_write", func(ctx context.Context) error {
		n, err := r.rdb.SRem(ctx, r.prefix+"pool", number).Result()
		if err != nil {
			return fmt.Errorf("pool remove %s: %w", number, err)
		}
		if n == 0 {
			return fmt.Errorf("number %s in the pool: %w", number, ErrNotFound)
		}
		return nil
	})
}

// Pool implements Accounts.
func (r *RedisAccounts) Pool(ctx context.Context) ([]string, error) {
	var out []string
	err := r.call(ctx, "account_read", func(ctx context.Context) error {
		var err error
		out, err = r.rdb.SMembers(ctx, r.prefix+"pool").Result()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list pool: %w", err)
	}
	slices.Sort(out)
	return out, nil
}
