package dialplan

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// Reader is the read side of the directory, used per call and per REGISTER.
type Reader interface {
	// Tenant returns the view of the tenant with this domain
	// (case-insensitive), or an error wrapping ErrNotFound.
	Tenant(ctx context.Context, domain string) (*View, error)
	// TenantByNumber returns the view of the tenant owning an E.164 number,
	// or an error wrapping ErrNotFound.
	TenantByNumber(ctx context.Context, e164 string) (*View, error)
}

// Store is a Reader that can also be replaced and exported whole.
type Store interface {
	Reader
	// Replace applies defaults to a copy of d, validates it (returning
	// Problems), hashes its passwords, compiles it and swaps it in
	// atomically. d itself is not modified.
	Replace(ctx context.Context, d *Directory) error
	// Export returns a deep copy of the current directory, with credentials
	// as ha1 fields and no plaintext password.
	Export(ctx context.Context) (*Directory, error)
}

var _ Store = (*MemoryStore)(nil)

// MemoryStore is the embedded in-process Store: the compiled directory
// behind an atomic pointer, so reads are lock-free and do not allocate.
type MemoryStore struct {
	realm string
	snap  atomic.Pointer[Snapshot]
	wmu   sync.Mutex // serialises writers; readers never take it
}

// StoreOption configures a store.
type StoreOption func(*storeOptions)

type storeOptions struct{ realm string }

// WithRealm sets the digest realm passwords are hashed for; by default each
// tenant's domain.
func WithRealm(realm string) StoreOption { return func(o *storeOptions) { o.realm = realm } }

// NewMemoryStore returns an empty store: every lookup is ErrNotFound until
// the first Replace.
func NewMemoryStore(opts ...StoreOption) *MemoryStore {
	var o storeOptions
	for _, opt := range opts {
		opt(&o)
	}
	return &MemoryStore{realm: o.realm}
}

// Tenant implements Reader.
func (s *MemoryStore) Tenant(_ context.Context, domain string) (*View, error) {
	if snap := s.snap.Load(); snap != nil {
		if v, ok := snap.Tenant(domain); ok {
			return v, nil
		}
	}
	return nil, fmt.Errorf("tenant %q: %w", domain, ErrNotFound)
}

// TenantByNumber implements Reader.
func (s *MemoryStore) TenantByNumber(_ context.Context, e164 string) (*View, error) {
	if snap := s.snap.Load(); snap != nil {
		if v, ok := snap.TenantByNumber(e164); ok {
			return v, nil
		}
	}
	return nil, fmt.Errorf("tenant of number %s: %w", e164, ErrNotFound)
}

// Snapshot returns the current compiled directory, or nil before the first
// Replace.
func (s *MemoryStore) Snapshot() *Snapshot { return s.snap.Load() }

// Replace implements Store.
func (s *MemoryStore) Replace(ctx context.Context, d *Directory) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("replace directory: %w", err)
	}
	if d == nil {
		d = &Directory{}
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.install(d.Clone())
}

// install applies defaults to d (owned by the caller), validates, hashes,
// compiles and swaps it in.
func (s *MemoryStore) install(d *Directory) error {
	SetDefaults(d)
	HashPasswords(d, realmFunc(s.realm))
	// Compile validates (once: this is the hot part of a 10k-row import).
	snap, err := Compile(d)
	if err != nil {
		return err
	}
	s.snap.Store(snap)
	return nil
}

// Export implements Store.
func (s *MemoryStore) Export(ctx context.Context) (*Directory, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("export directory: %w", err)
	}
	snap := s.snap.Load()
	if snap == nil {
		return &Directory{}, nil
	}
	return snap.dir.Clone(), nil
}
