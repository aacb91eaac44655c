package dialplan

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Admin is an account that signs in to the admin API and console with an
// email and a password: a tenant admin (Tenant set) manages one tenant.
// PasswordHash is a PHC-format KDF hash (the admin package makes and checks
// it); the store keeps it as an opaque string.
type Admin struct {
	Email        string    `json:"email"`
	Name         string    `json:"name,omitempty"`
	Tenant       string    `json:"tenant"`
	PasswordHash string    `json:"password_hash"`
	Created      time.Time `json:"created"`
}

// Token is a tenant-scoped bearer token for scripts and the CLI. Only the
// SHA-256 of the token is stored (Hash, hex): the token itself is shown once.
type Token struct {
	ID      string    `json:"id"`
	Name    string    `json:"name,omitempty"`
	Tenant  string    `json:"tenant"`
	Hash    string    `json:"hash"`
	Created time.Time `json:"created"`
}

// Session is a signed-in console session, found by the SHA-256 of its cookie
// (Hash, hex). CSRF is the token a cookie-authenticated write must echo.
type Session struct {
	Hash   string `json:"hash"`
	Email  string `json:"email,omitempty"` // the admin; "" for a session opened with a token
	Tenant string `json:"tenant"`          // "" = provider
	Who    string `json:"who"`             // audit name
	// User is the user id of a self-service session ("" for an admin).
	User string `json:"user,omitempty"`
	// TokenHash is the token a session was opened with, which must still
	// exist for the session to work ("" for a password sign-in).
	TokenHash string    `json:"token_hash,omitempty"`
	CSRF      string    `json:"csrf"`
	Expires   time.Time `json:"expires"`
}

// Accounts stores admin accounts, tenant tokens and sessions next to the
// directory (memory, or Redis shared by every instance, so a revoked token
// or a signed-out session stops working everywhere at once). Emails are
// global: one address signs in to one tenant. Lookups of what is absent
// wrap ErrNotFound; creating what exists wraps ErrExists.
type Accounts interface {
	CreateAdmin(ctx context.Context, a Admin) error
	Admin(ctx context.Context, email string) (Admin, error)
	Admins(ctx context.Context, tenant string) ([]Admin, error)
	DeleteAdmin(ctx context.Context, email string) error

	CreateToken(ctx context.Context, t Token) error
	TokenByHash(ctx context.Context, hash string) (Token, error)
	Tokens(ctx context.Context, tenant string) ([]Token, error)
	// DeleteToken revokes the tenant's token id.
	DeleteToken(ctx context.Context, tenant, id string) error

	CreateSession(ctx context.Context, s Session) error
	Session(ctx context.Context, hash string) (Session, error)
	DeleteSession(ctx context.Context, hash string) error

	// The provider's pool: numbers the provider holds that no tenant owns
	// yet, to allocate to tenants.
	PoolAdd(ctx context.Context, number string) error // ErrExists when pooled
	PoolRemove(ctx context.Context, number string) error
	Pool(ctx context.Context) ([]string, error) // sorted
}

// MemoryAccounts is the in-process Accounts, for a single instance.
type MemoryAccounts struct {
	now      func() time.Time
	mu       sync.Mutex
	admins   map[string]Admin   // by lower-case email
	tokens   map[string]Token   // by hash
	sessions map[string]Session // by hash
	pool     map[string]bool
}

var _ Accounts = (*MemoryAccounts)(nil)

// NewMemoryAccounts returns an empty account store.
func NewMemoryAccounts() *MemoryAccounts {
	return &MemoryAccounts{now: time.Now, admins: map[string]Admin{}, tokens: map[string]Token{}, sessions: map[string]Session{}, pool: map[string]bool{}}
}

func emailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CreateAdmin implements Accounts.
func (m *MemoryAccounts) CreateAdmin(_ context.Context, a Admin) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := emailKey(a.Email)
	if _, ok := m.admins[k]; ok {
		return fmt.Errorf("admin %s: %w", a.Email, ErrExists)
	}
	m.admins[k] = a
	return nil
}

// Admin implements Accounts.
func (m *MemoryAccounts) Admin(_ context.Context, email string) (Admin, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.admins[emailKey(email)]
	if !ok {
		return Admin{}, fmt.Errorf("admin %s: %w", email, ErrNotFound)
	}
	return a, nil
}

// Admins implements Accounts, sorted by email.
func (m *MemoryAccounts) Admins(_ context.Context, tenant string) ([]Admin, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []Admin{}
	for _, a := range m.admins {
		if strings.EqualFold(a.Tenant, tenant) {
			out = append(out, a)
		}
	}
	sortAdmins(out)
	return out, nil
}

// DeleteAdmin implements Accounts; the admin's sessions end with it.
func (m *MemoryAccounts) DeleteAdmin(_ context.Context, email string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := emailKey(email)
	if _, ok := m.admins[k]; !ok {
		return fmt.Errorf("admin %s: %w", email, ErrNotFound)
	}
	delete(m.admins, k)
	for h, s := range m.sessions {
		if emailKey(s.Email) == k {
			delete(m.sessions, h)
		}
	}
	return nil
}

// CreateToken implements Accounts.
func (m *MemoryAccounts) CreateToken(_ context.Context, t Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.tokens[t.Hash]; ok {
		return fmt.Errorf("token %s: %w", t.ID, ErrExists)
	}
	m.tokens[t.Hash] = t
	return nil
}

// TokenByHash implements Accounts.
func (m *MemoryAccounts) TokenByHash(_ context.Context, hash string) (Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[hash]
	if !ok {
		return Token{}, fmt.Errorf("token: %w", ErrNotFound)
	}
	return t, nil
}

// Tokens implements Accounts, oldest first.
func (m *MemoryAccounts) Tokens(_ context.Context, tenant string) ([]Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []Token{}
	for _, t := range m.tokens {
		if strings.EqualFold(t.Tenant, tenant) {
			out = append(out, t)
		}
	}
	sortTokens(out)
	return out, nil
}

func sortAdmins(as []Admin) {
	slices.SortFunc(as, func(x, y Admin) int { return cmp.Compare(emailKey(x.Email), emailKey(y.Email)) })
}

func sortTokens(ts []Token) {
	slices.SortFunc(ts, func(x, y Token) int {
		return cmp.Or(x.Created.Compare(y.Created), cmp.Compare(x.ID, y.ID))
	})
}

// DeleteToken implements Accounts.
func (m *MemoryAccounts) DeleteToken(_ context.Context, tenant, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for h, t := range m.tokens {
		if t.ID == id && strings.EqualFold(t.Tenant, tenant) {
			delete(m.tokens, h)
			return nil
		}
	}
	return fmt.Errorf("token %s in tenant %s: %w", id, tenant, ErrNotFound)
}

// CreateSession implements Accounts.
func (m *MemoryAccounts) CreateSession(_ context.Context, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for h, old := range m.sessions { // bounded by live sessions: prune the expired
		if !old.Expires.After(now) {
			delete(m.sessions, h)
		}
	}
	m.sessions[s.Hash] = s
	return nil
}

// Session implements Accounts; an expired session is not found.
func (m *MemoryAccounts) Session(_ context.Context, hash string) (Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[hash]
	if !ok || !s.Expires.After(m.now()) {
		return Session{}, fmt.Errorf("session: %w", ErrNotFound)
	}
	return s, nil
}

// DeleteSession implements Accounts; deleting an unknown session is not an
// error (signing out twice is fine).
func (m *MemoryAccounts) DeleteSession(_ context.Context, hash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, hash)
	return nil
}

// PoolAdd implements Accounts.
func (m *MemoryAccounts) PoolAdd(_ context.Context, number string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pool[number] {
		return fmt.Errorf("number %s in the pool: %w", number, ErrExists)
	}
	m.pool[number] = true
	return nil
}

// PoolRemove implements Accounts.
func (m *MemoryAccounts) PoolRemove(_ context.Context, number string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.pool[number] {
		return fmt.Errorf("number %s in the pool: %w", number, ErrNotFound)
	}
	delete(m.pool, number)
	return nil
}

// Pool implements Accounts.
func (m *MemoryAccounts) Pool(_ context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.pool))
	for n := range m.pool {
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}
