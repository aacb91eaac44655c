package sip

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// CallInfo is one confirmed call, as the admin API lists it.
type CallInfo struct {
	CallID   string
	Tenant   string
	Caller   string // user id, or "number via trunk"
	Callee   string // the Request-URI user part
	Kind     string // the routing plan kind
	Answered time.Time
}

// ActiveCalls returns the confirmed calls the proxy is tracking, oldest
// first.
func (s *Server) ActiveCalls() []CallInfo {
	s.dialogs.mu.Lock()
	out := make([]CallInfo, 0, len(s.dialogs.m))
	for _, dl := range s.dialogs.m {
		out = append(out, CallInfo{
			CallID:   dl.callID,
			Tenant:   cdrField(dl.cdr, "tenant"),
			Caller:   cdrField(dl.cdr, "caller"),
			Callee:   cdrField(dl.cdr, "callee"),
			Kind:     dl.kind,
			Answered: dl.answered,
		})
	}
	s.dialogs.mu.Unlock()
	slices.SortFunc(out, func(a, b CallInfo) int {
		return cmp.Or(a.Answered.Compare(b.Answered), cmp.Compare(a.CallID, b.CallID))
	})
	return out
}

// cdrField finds a value in the key/value pairs of a CDR.
func cdrField(kv []any, key string) string {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == key {
			if s, ok := kv[i+1].(string); ok {
				return s
			}
			return fmt.Sprint(kv[i+1])
		}
	}
	return ""
}
