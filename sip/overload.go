package sip

import (
	"bytes"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// DefaultMaxActive is the default of Config.MaxActive.
const DefaultMaxActive = 5000

// overload bounds the work in progress, and with it memory, when requests
// arrive faster than they are handled: past Config.MaxActive requests being
// handled at once, a UDP datagram that would start new work (a REGISTER,
// INVITE, OPTIONS, SUBSCRIBE, MESSAGE or PUBLISH) is dropped in the read
// filter before it is parsed, at the cost of a counter read and a prefix
// comparison. The phone retransmits (T1, 2×T1, …) and is served once the
// backlog has drained, so the server recovers as soon as the load falls.
// Responses, ACK, BYE and CANCEL always pass: they finish work already
// taken on. Requests on streams, which cannot be dropped without closing
// the connection, are answered 503 with Retry-After instead (handle).
//
// 5,000 in flight is about a quarter of a second of REGISTERs at the
// fastest rate one core sustains, well inside the 500 ms after which
// phones retransmit; each costs a goroutine and its request, ~10 KB.
type overload struct {
	active  *atomic.Int64 // the server's handlers running (handle.go)
	limit   int64
	dropped prometheus.Counter
}

func newOverload(reg prometheus.Registerer, active *atomic.Int64, limit int) *overload {
	if limit <= 0 {
		limit = DefaultMaxActive
	}
	return &overload{
		active: active,
		limit:  int64(limit),
		dropped: promauto.With(reg).NewCounter(prometheus.CounterOpts{
			Name: "switchboard_sip_overload_dropped_total",
			Help: "Requests that would start new work dropped (UDP) or answered 503 (streams) because too many were being handled at once (sip.Config.MaxActive).",
		}),
	}
}

// busy reports whether new work must be refused now.
func (o *overload) busy() bool { return o.active.Load() >= o.limit }

// newWork are the request lines of requests that start something.
var newWork = [][]byte{
	[]byte("REGISTER "), []byte("INVITE "), []byte("OPTIONS "),
	[]byte("SUBSCRIBE "), []byte("MESSAGE "), []byte("PUBLISH "),
}

// startsWork reports whether a datagram is a request that starts new work.
func startsWork(data []byte) bool {
	for _, p := range newWork {
		if bytes.HasPrefix(data, p) {
			return true
		}
	}
	return false
}

// shed reports whether the read filter must drop a datagram unparsed.
func (o *overload) shed(data []byte) bool {
	if !o.busy() || !startsWork(data) {
		return false
	}
	o.dropped.Inc()
	return true
}
