// Package sip is switchboard's SIP front end, built on github.com/emiago/sipgo:
// transports, request sanity checks, the registrar with digest authentication,
// the stateful forking proxy that executes routing plans, and the B2BUA legs
// of the calls switchboard answers or places itself. What those calls do —
// the auto attendant, the screening announcement — is in package apps,
// written against the leg API of app.go (Call, Leg, Outbound: answer, play,
// DTMF, dial, bridge, hang up) and plugged in through the Applications
// interface that Config.Apps carries; sip never imports apps.
//
// A request flows transport → sipgo transaction → Server.handle, which recovers
// panics, counts the request, runs the sanity checks of check.go and dispatches
// by method. REGISTER is handled in registrar.go: the tenant comes from the To
// domain, credentials are checked by package auth, and the change to the
// bindings is a pure function (applyRegister) run atomically by the location
// store. Every response goes through Server.reply so it is counted once.
//
// # B2BUA: attendant and screening
//
// Calls the engine answers or places itself go through b2bua.go; the proxy
// executor (call.go) hands over at two hook points of startStep (appstep.go
// answers and runs Applications.Run; screening.go dials the forward and
// runs Applications.Screen on it), and
// handle.go and dialog.go pass the B2BUA its dialogs' in-dialog requests
// (ACK, BYE, INFO, re-INVITE, UPDATE — by Call-ID and our tag, before the
// proxy's ack/inDialog) and retransmitted 2xx (strayResponse).
//
//	Attendant step:  negotiate the caller's SDP (488/400) → 200 with ours →
//	                 hand off: the proxy call ends as answered, one B2BUA
//	                 goroutine owns the call → wait ACK → Applications.Run
//	                 (apps: greeting with barge-in → digits → Call.Plan →
//	                 Call.Dial with ringback → Call.Bridge) → BYE the other
//	                 leg when one ends
//	Forward{Screening}: negotiate (488/400) → 180 → originate the forward →
//	                 on the carrier's 2xx: Applications.Screen announces to it
//	                 alone and reads its key, on this call's goroutine (the
//	                 event loop waits; a caller's CANCEL ends its ctx) → key 1:
//	                 200 to the caller, hand off, bridge in a B2BUA goroutine;
//	                 else BYE it and go on with the plan (Reason on the 480)
//
// Originating reuses the proxy: the B2BUA builds its own INVITE (new
// Call-ID, our Contact and SDP offer) and runs a call on it whose server
// transaction is a virtualTx — forking, ring timeouts, ContinueOn, trunks and
// the Diversion/History-Info of forwards are the proxy's, and its final
// response comes back through the virtualTx; cancelling the virtualTx
// cancels the forks. The B2BUA then ACKs the winning 2xx (uacLeg) and owns
// that dialog. Such a call is counted and logged like any call, with its own
// Call-ID ("b2b-…"), so an attendant transfer shows two CDR lines and counts
// twice in calls_active while connected.
//
// Ownership: until the hand-off the INVITE's goroutine owns the RTP
// sessions; afterwards one goroutine per call (b2bua.goCall: panics
// recovered and counted, waited for at shutdown, which BYEs both legs while
// the sockets are still open), plus each session's reader and a player
// goroutine while a prompt plays. Every exit path closes the sessions,
// returning the ports. Known gaps: a screened forward reached through an
// attendant's transfer is skipped (the attendant would have to adopt the
// forwarded leg); late offers (INVITE without SDP) get 488; a 2xx
// retransmitted while the originating transaction is still in sipgo's
// Accepted state is not re-ACKed (after it, strayResponse re-ACKs).
//
// sipgo types stay inside this package; routing and the stores see plain values.
package sip
