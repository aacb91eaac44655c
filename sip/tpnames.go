package sip

import (
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// tpLower and tpUpper spell a transport name in one case
// without allocating for the names sipgo knows: strings.ToLower("UDP")
// makes a new string, and the call path converted sipgo's "UDP" to "udp"
// and back several times per message.
func tpLower(t string) string {
	for _, n := range [...]string{"udp", "tcp", "tls", "ws", "wss"} {
		if strings.EqualFold(t, n) {
			return n
		}
	}
	return strings.ToLower(t)
}

func tpUpper(t string) string {
	for _, n := range [...]string{"UDP", "TCP", "TLS", "WS", "WSS"} {
		if strings.EqualFold(t, n) {
			return n
		}
	}
	return strings.ToUpper(t)
}

// rrEntry is what one Record-Route entry of ours says.
type rrEntry struct {
	scheme, host, transport string
	port                    int
}

// rrKey identifies the Record-Route set of a fork: one entry, or two when
// the request changes transport.
type rrKey struct {
	first, second rrEntry
	two           bool
}

// recordRoutes caches Record-Route sets by what they say. They are the
// same for every call between the same two transports, so one set of
// header values serves all forks: nothing edits a Record-Route we add
// (forward.go), and PrependHeader copies the slice, not the values. Keyed
// by content, not by server, so a changed address simply makes a new entry;
// there are a handful per process.
var recordRoutes sync.Map // rrKey → []sip.Header

func cachedRecordRoute(k rrKey) []sip.Header {
	if v, ok := recordRoutes.Load(k); ok {
		return v.([]sip.Header)
	}
	mk := func(e rrEntry) sip.Header {
		return &sip.RecordRouteHeader{Address: sip.Uri{Scheme: e.scheme, Host: e.host, Port: e.port,
			UriParams: sip.HeaderParams{{K: "transport", V: e.transport}, {K: "lr", V: ""}}}}
	}
	hs := []sip.Header{mk(k.first)}
	if k.two {
		hs = append(hs, mk(k.second))
	}
	v, _ := recordRoutes.LoadOrStore(k, hs)
	return v.([]sip.Header)
}
