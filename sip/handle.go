package sip

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/dialplan"
	"github.com/switchboard/switchboard/location"
)

// allowed is what the Allow header of 405/501/OPTIONS answers lists: the
// methods switchboard handles today.
const allowed = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE, PRACK, REFER, NOTIFY, SUBSCRIBE"

// requestTimeout bounds the store and directory work done for one request, well
// inside the client's first retransmission window (T1 = 500 ms doubled a few times).
const requestTimeout = 2 * time.Second

// retryAfter is the Retry-After (seconds) of the 503 a draining instance
// answers: about the time a restarted instance needs to be back.
const retryAfter = "5"

// inDialog reports whether req belongs to an existing dialog: its To carries
// a tag (RFC 3261 §12.2). Whether it is a dialog of ours is decided later.
func inDialog(req *sip.Request) bool {
	return req.To() != nil && req.To().Params.Has("tag")
}

// handle is the entry point for every request sipgo hands us.
func (s *Server) handle(req *sip.Request, tx sip.ServerTransaction) {
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	method := string(req.Method)
	s.metrics.countRequest(method)
	defer func() {
		if p := recover(); p != nil {
			s.metrics.panics.Inc()
			s.log.Error("sip handler panic", "method", method, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			s.reply(tx, req, 500, "Server Internal Error")
		}
	}()

	// B2BUA hook: requests inside the attendant's and screening's own
	// dialogs go to them, not to the proxy (b2bua.go).
	if s.b2b.request(req, tx) {
		return
	}
	if req.Method == sip.REGISTER || req.Method == sip.OPTIONS {
		// Answered statelessly (RFC 3261 §8.2.7), as Kamailio does: keeping
		// each server transaction for Timer J (32 s on UDP) held ~700 B per
		// REGISTER in memory at load. A retransmission is simply handled
		// again (applyRegister accepts the same CSeq).
		defer tx.Terminate()
	}
	if req.IsAck() {
		// ACKs for our own non-2xx responses are absorbed by their
		// transaction; what reaches us is the end-to-end ACK of a 2xx.
		if code, _, _ := check(req); code == 0 {
			s.ack(req)
		}
		return
	}
	if s.overload.busy() && req.Transport() != "UDP" && !inDialog(req) && startsWork([]byte(string(req.Method)+" ")) {
		// A stream cannot shed by dropping (overload.go); UDP was shed unparsed.
		s.overload.dropped.Inc()
		s.reply(tx, req, 503, "Service Unavailable", sip.NewHeader("Retry-After", "1"))
		return
	}
	if s.draining.Load() && !inDialog(req) && !s.relayed(req) {
		// Draining (server.go shutdown): nothing new starts here, so the
		// sender moves to another instance (RFC 3261 §21.5.4, RFC 3263
		// §4.3); requests inside live dialogs are still relayed below.
		s.reply(tx, req, 503, "Service Unavailable", sip.NewHeader("Retry-After", retryAfter))
		return
	}
	if code, reason, hdrs := check(req); code != 0 {
		s.reply(tx, req, code, reason, hdrs...)
		return
	}

	switch req.Method {
	case sip.REGISTER:
		ctx, cancel := s.storeContext()
		defer cancel()
		s.register(ctx, req, tx)
	case sip.OPTIONS:
		res := newResponse(tx, req, 200, "OK")
		res.add("Allow", allowed)
		res.add("Accept", "application/sdp")
		res.add("Accept-Language", "en")
		s.sendResponse(tx, req, &res, 200)
	case sip.INVITE:
		s.invite(req, tx)
	case sip.CANCEL:
		// CANCELs matching a live INVITE are taken by sipgo's transaction
		// layer; one that gets here matches nothing.
		s.reply(tx, req, 481, "Call/Transaction Does Not Exist")
	case sip.SUBSCRIBE:
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		defer cancel()
		s.subscribe(ctx, req, tx) // by event package (subscribe.go)
	case sip.BYE, sip.UPDATE, sip.INFO, sip.PRACK, sip.REFER, sip.NOTIFY:
		// REFER and the NOTIFYs of its implicit subscription (RFC 3515) travel
		// inside the call's dialog: a transfer between phones is theirs to
		// carry out, the proxy only relays (transfer.go).
		if !req.To().Params.Has("tag") {
			if req.Method == sip.BYE || req.Method == sip.REFER || req.Method == sip.NOTIFY {
				// Out-of-dialog REFER (click-to-dial) is not offered; a
				// NOTIFY without a dialog matches no subscription.
				s.reply(tx, req, 481, "Call/Transaction Does Not Exist")
			} else {
				s.reply(tx, req, 405, "Method Not Allowed", sip.NewHeader("Allow", allowed))
			}
			return
		}
		s.inDialog(req, tx)
	default:
		if methodLabel(method) == "OTHER" {
			// sipgo upper-cases method names and RFC 3261 methods are case
			// sensitive, so an unknown method is never forwarded: 501.
			s.reply(tx, req, 501, "Not Implemented", sip.NewHeader("Allow", allowed))
			return
		}
		s.reply(tx, req, 405, "Method Not Allowed", sip.NewHeader("Allow", allowed))
	}
}

// storeContext bounds the directory and location work of a REGISTER by
// requestTimeout. The in-process stores answer under a short lock and
// never wait, so for them the timer context only allocated (≈6% of a
// REGISTER's bytes in the BenchmarkRegisterWire profile): they get
// context.Background. Any other store (Redis, or a wrapper) keeps the
// deadline.
func (s *Server) storeContext() (context.Context, context.CancelFunc) {
	if s.storesInProcess() {
		return context.Background(), noCancel
	}
	return context.WithTimeout(context.Background(), requestTimeout)
}

// storesInProcess reports whether the location and directory stores are
// the in-process ones, which never wait.
func (s *Server) storesInProcess() bool {
	_, memLoc := s.loc.(*location.Memory)
	_, memDir := s.dir.(*dialplan.MemoryStore)
	return memLoc && memDir
}

func noCancel() {}

// reply sends a response built from req with extra headers and counts it.
func (s *Server) reply(tx sip.ServerTransaction, req *sip.Request, code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	s.send(tx, req, res)
}

// send transmits a prepared response and counts it.
func (s *Server) send(tx sip.ServerTransaction, req *sip.Request, res *sip.Response) {
	if header(res, "Server") == nil {
		res.AppendHeader(s.serverHeader.get("Server", s.cfg.UserAgent))
	}
	s.metrics.countResponse(string(req.Method), res.StatusCode)
	if err := tx.Respond(res); err != nil {
		s.log.Warn("sip respond failed", "method", req.Method, "code", res.StatusCode, "dest", req.Source(), "error", err)
	}
}

// reasons are the reason phrases switchboard uses (RFC 3261 §21).
var reasons = map[int]string{
	200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
	405: "Method Not Allowed", 407: "Proxy Authentication Required", 416: "Unsupported URI Scheme",
	420: "Bad Extension", 423: "Interval Too Brief", 480: "Temporarily Unavailable",
	481: "Call/Transaction Does Not Exist", 482: "Loop Detected", 483: "Too Many Hops",
	486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here",
	500: "Server Internal Error", 501: "Not Implemented", 503: "Service Unavailable",
	505: "Version Not Supported", 513: "Message Too Large",
}

func statusText(code int) string {
	if r, ok := reasons[code]; ok {
		return r
	}
	return "Unknown"
}
