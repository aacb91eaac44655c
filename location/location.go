package location

import (
	"context"
	"errors"
	"time"
)

// ErrStale is returned by an update function to refuse a REGISTER whose CSeq is
// not newer than the one stored for the same Call-ID (RFC 3261 §10.3 step 7).
var ErrStale = errors.New("location: request out of order")

// Binding is one registered contact of an address-of-record.
type Binding struct {
	AOR     string    // canonical AOR, "john@acme.example"
	Tenant  string    // tenant domain, for per-tenant counts
	Contact string    // Contact URI as the phone sent it
	Expires time.Time // absolute expiry
	Q       float32   // 0..1; 0 when the phone sent none (treated as 1.0 for ordering)
	CallID  string
	CSeq    uint32
	// Source is the address the REGISTER came from ("ip:port"): with Transport
	// it is the flow requests must use to reach a phone behind NAT (RFC 3581).
	Source    string
	Transport string // udp, tcp, tls, ws, wss
	// LocalAddr is the listener the REGISTER arrived on; replies go out of it.
	LocalAddr string
	UserAgent string
	// Instance is the switchboard instance that holds the flow; with several
	// instances a request for a TCP phone must go through that instance.
	Instance string
	Updated  time.Time
	// SIPInstance and RegID identify an RFC 5626 outbound flow (the phone's
	// +sip.instance and reg-id Contact parameters); zero when the phone did
	// not use outbound. See outbound.go.
	SIPInstance string
	RegID       uint32
}

// Expired reports whether the binding has expired at now.
func (b *Binding) Expired(now time.Time) bool { return !now.Before(b.Expires) }

// UpdateFunc computes the new bindings of an AOR from the current live ones.
// It must not keep or modify current; returning an error aborts the update.
type UpdateFunc func(now time.Time, current []Binding) ([]Binding, error)

// Store keeps bindings per AOR.
type Store interface {
	// Update applies fn atomically to the AOR's live bindings and returns the
	// bindings now stored.
	Update(ctx context.Context, aor, tenant string, fn UpdateFunc) ([]Binding, error)
	// Lookup returns the live bindings of an AOR. The slice must not be modified.
	Lookup(ctx context.Context, aor string) ([]Binding, error)
}
