package dialplan

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Write-side errors, mapped to HTTP 404/409 by the admin API.
var (
	ErrExists   = errors.New("dialplan: already exists")
	ErrNotEmpty = errors.New("dialplan: tenant is not empty")
)

// Writer is the write side used by the admin API and CSV import. Every write
// goes through the same defaults, validation and hashing as the directory
// file (one code path); a write that does not validate returns Problems and
// changes nothing. Writes are atomic and serialised per store.
type Writer interface {
	// CreateTenant adds a tenant (ErrExists when its domain is taken).
	CreateTenant(ctx context.Context, t *Tenant) error
	// UpdateTenant runs fn on a deep copy of one tenant (ErrNotFound when
	// unknown); when fn succeeds and the result validates against the whole
	// directory (numbers are unique across tenants) it is swapped in.
	UpdateTenant(ctx context.Context, domain string, fn func(t *Tenant) error) error
	// DeleteTenant removes a tenant and returns it; a tenant with users,
	// groups, attendants or numbers needs force (else ErrNotEmpty).
	DeleteTenant(ctx context.Context, domain string, force bool) (*Tenant, error)
}

var _ Writer = (*MemoryStore)(nil)

// CreateTenant implements Writer.
func (s *MemoryStore) CreateTenant(ctx context.Context, t *Tenant) error {
	return s.write(ctx, func(d *Directory) error {
		if findTenant(d, t.Domain) >= 0 {
			return fmt.Errorf("tenant %s: %w", t.Domain, ErrExists)
		}
		d.Tenants = append(d.Tenants, (&Directory{Tenants: []*Tenant{t}}).Clone().Tenants[0])
		return nil
	})
}

// UpdateTenant implements Writer.
func (s *MemoryStore) UpdateTenant(ctx context.Context, domain string, fn func(t *Tenant) error) error {
	return s.write(ctx, func(d *Directory) error {
		i := findTenant(d, domain)
		if i < 0 {
			return fmt.Errorf("tenant %s: %w", domain, ErrNotFound)
		}
		if err := fn(d.Tenants[i]); err != nil {
			return err
		}
		if !strings.EqualFold(d.Tenants[i].Domain, domain) {
			return Problems{{Field: "domain", Reason: "a tenant's domain cannot be changed"}}
		}
		return nil
	})
}

// DeleteTenant implements Writer.
func (s *MemoryStore) DeleteTenant(ctx context.Context, domain string, force bool) (*Tenant, error) {
	var gone *Tenant
	err := s.write(ctx, func(d *Directory) error {
		i := findTenant(d, domain)
		if i < 0 {
			return fmt.Errorf("tenant %s: %w", domain, ErrNotFound)
		}
		t := d.Tenants[i]
		if !force && (len(t.Users)+len(t.Groups)+len(t.Attendants)+len(t.Numbers) > 0) {
			return fmt.Errorf("tenant %s: %w (use force)", domain, ErrNotEmpty)
		}
		gone = t
		d.Tenants = append(d.Tenants[:i], d.Tenants[i+1:]...)
		return nil
	})
	return gone, err
}

// write applies fn to a copy of the whole directory under the writer lock,
// then validates, hashes, compiles and swaps it in.
func (s *MemoryStore) write(ctx context.Context, fn func(d *Directory) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	d := &Directory{}
	if snap := s.snap.Load(); snap != nil {
		d = snap.dir.Clone()
	}
	if err := fn(d); err != nil {
		return err
	}
	return s.install(d)
}

func findTenant(d *Directory, domain string) int {
	for i, t := range d.Tenants {
		if strings.EqualFold(t.Domain, domain) {
			return i
		}
	}
	return -1
}
