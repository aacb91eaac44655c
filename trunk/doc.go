// Package trunk holds the carrier-trunk policy as pure decisions, with no
// sockets and no clock of its own: which trunks a call hunts through and in
// what order (Order), whether a trunk may take a call now (Health, with probe
// results and 503 Retry-After), what a hunt does with a carrier's answer
// (Decide), and how a number is written for a carrier (FormatNumber).
//
// sip executes the hunt: it asks Order for the trunk names, resolves each
// trunk's address (resolve), sends the INVITE, and feeds each outcome to
// Decide:
//
//	2xx                        → Answered
//	401/407, credentials unsent → Authenticate (same trunk, CSeq+1, once)
//	401/407 again               → Next (the trunk refused our credentials)
//	408, 5xx, no answer, no 1xx within fail_after → Next
//	other 4xx, 6xx             → Stop (the far end said no; relay it)
package trunk
