package sip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/switchboard/switchboard/location"
)

// Dialogs that survive a restart. With the Redis location store, every
// confirmed call's routing state (both parties' tags and flows, CDR fields,
// BLF states) is written to the store when the call is answered, by one
// writer goroutine so a slow Redis never holds up a 2xx. An in-dialog
// request whose Call-ID this instance does not know — it restarted, or
// another instance set the call up — is looked up there, and the dialog is
// adopted and relayed as if it had been set up here. The CDR is written
// once: by the instance that set the call up while it still holds it, or,
// for an adopted dialog, by whichever instance's delete of the record
// succeeds first.

// DialogStore keeps dialog records; the Redis location store implements it.
type DialogStore interface {
	SaveDialog(ctx context.Context, callID string, rec []byte, ttl time.Duration) error
	LoadDialog(ctx context.Context, callID string) ([]byte, error)
	DeleteDialog(ctx context.Context, callID string) (bool, error)
}

// storedDialog is the record of a dialog in the store.
type storedDialog struct {
	CallID    string        `json:"call_id"`
	CallerTag string        `json:"caller_tag"`
	CalleeTag string        `json:"callee_tag"`
	Caller    [2]string     `json:"caller"` // addr, transport
	Callee    [2]string     `json:"callee"`
	Answered  time.Time     `json:"answered"`
	Kind      string        `json:"kind"`
	CDR       []string      `json:"cdr"`
	BLF       []dialogEvent `json:"blf,omitempty"`
}

func recordOf(dl *dialog) storedDialog {
	r := storedDialog{CallID: dl.callID, CallerTag: dl.callerTag, CalleeTag: dl.calleeTag,
		Caller: [2]string{dl.caller.addr, dl.caller.transport}, Callee: [2]string{dl.callee.addr, dl.callee.transport},
		Answered: dl.answered, Kind: dl.kind, BLF: dl.blf}
	for _, f := range dl.cdr {
		r.CDR = append(r.CDR, fmt.Sprint(f))
	}
	return r
}

func (r storedDialog) dialog() *dialog {
	dl := &dialog{callID: r.CallID, callerTag: r.CallerTag, calleeTag: r.CalleeTag,
		caller: flow{addr: r.Caller[0], transport: r.Caller[1]}, callee: flow{addr: r.Callee[0], transport: r.Callee[1]},
		answered: r.Answered, kind: r.Kind, blf: r.BLF, adopted: true}
	for _, f := range r.CDR {
		dl.cdr = append(dl.cdr, f)
	}
	return dl
}

// dialogSync writes and deletes dialog records in the background.
type dialogSync struct {
	s     *Server
	store DialogStore // nil: no store, dialogs live in memory only
	ops   chan dialogOp
	wg    sync.WaitGroup

	// gone holds the Call-IDs this instance ended lately: their record's
	// delete is queued, so a request of the call arriving meanwhile (a
	// retransmission, a looped ACK) would otherwise re-adopt the ended call
	// from the store and count it active for ever.
	mu   sync.Mutex
	gone map[string]time.Time
}

// goneFor is how long an ended call stays unadoptable: a transaction's
// lifetime (64*T1), after which nothing of the call is still in flight.
const goneFor = 32 * time.Second

func (d *dialogSync) markGone(callID string) {
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gone == nil {
		d.gone = map[string]time.Time{}
	}
	if len(d.gone) >= 1024 {
		for id, at := range d.gone {
			if now.Sub(at) > goneFor {
				delete(d.gone, id)
			}
		}
	}
	d.gone[callID] = now
}

func (d *dialogSync) isGone(callID string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	at, ok := d.gone[callID]
	return ok && time.Since(at) <= goneFor
}

type dialogOp struct {
	callID string
	rec    []byte // nil = delete
}

func newDialogSync(s *Server, store DialogStore) *dialogSync {
	return &dialogSync{s: s, store: store, ops: make(chan dialogOp, 4096)}
}

// start runs the writer until ctx ends; the returned func waits for it.
func (d *dialogSync) start(ctx context.Context) func() {
	if d.store == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case op := <-d.ops:
				d.apply(ctx, op)
			}
		}
	}()
	return func() { cancel(); d.wg.Wait() }
}

func (d *dialogSync) apply(ctx context.Context, op dialogOp) {
	var err error
	if op.rec != nil {
		err = d.store.SaveDialog(ctx, op.callID, op.rec, d.s.cfg.MaxCallAge)
	} else {
		_, err = d.store.DeleteDialog(ctx, op.callID)
	}
	if err != nil {
		d.s.log.Warn("dialog store write failed", "error", err)
	}
}

func (d *dialogSync) queue(op dialogOp) {
	if d.store == nil {
		return
	}
	select {
	case d.ops <- op:
	default:
		d.s.log.Warn("dialog store queue full; a call will not survive a restart")
	}
}

// saved queues the record of a dialog just confirmed.
func (d *dialogSync) saved(dl *dialog) {
	if d.store == nil {
		return
	}
	rec, err := json.Marshal(recordOf(dl))
	if err != nil {
		return
	}
	d.queue(dialogOp{callID: dl.callID, rec: rec})
}

// adopt loads the dialog of a Call-ID this instance does not hold and
// tracks it here; nil when the store has none.
func (d *dialogSync) adopt(callID string) *dialog {
	if d.store == nil || d.isGone(callID) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	b, err := d.store.LoadDialog(ctx, callID)
	if err != nil {
		if !errors.Is(err, location.ErrNoDialog) {
			d.s.log.Warn("dialog store read failed", "error", err)
		}
		return nil
	}
	var rec storedDialog
	if json.Unmarshal(b, &rec) != nil || rec.CallID != callID {
		return nil
	}
	dl := rec.dialog()
	if !d.s.dialogs.adopt(dl) {
		return d.s.dialogs.get(callID) // adopted concurrently
	}
	d.s.metrics.callsActive.Inc()
	d.s.log.Info("dialog adopted from the store", "call_id", callID)
	return dl
}

// ended deletes a finished dialog's record and reports whether this
// instance writes its CDR.
func (d *dialogSync) ended(dl *dialog) bool {
	if d.store == nil {
		return true
	}
	d.markGone(dl.callID)
	if !dl.adopted {
		d.queue(dialogOp{callID: dl.callID})
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	mine, err := d.store.DeleteDialog(ctx, dl.callID)
	if err != nil {
		d.s.log.Warn("dialog store delete failed; writing the CDR", "error", err)
		return true
	}
	return mine
}
