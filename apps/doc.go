// Package apps holds switchboard's B2BUA applications: the calls the engine
// answers itself. Each reads like a script of a call, written against the
// leg API package sip exposes — sip.Call (the answered caller), sip.Leg
// (Play, Digits, HungUp, MediaDone, HangUp), Call.Plan, Call.Dial and
// Call.Bridge — so no sipgo type appears here.
//
//	attendant.go  greeting with barge-in → option, extension, timeout or
//	              invalid → Call.Plan(target) → another menu, or Call.Dial
//	              while the caller hears ringback → Call.Bridge on answer
//	screening.go  the forwarded leg hears "call for <tenant> from <digits>,
//	              press 1", twice; its key decides (sip connects or goes on)
//	voicemail.go  mailbox full? → greeting (a key skips it) → beep → record
//	              until '#', hang-up, silence after speech or max_message →
//	              under 1 s dropped, else saved in the mailbox.Store
//	retrieval.go  *97 own mailbox / *98 extension → PIN (3 tries) → "You have
//	              N new messages" → 1 play, 7 delete, 9 save, # next, 0
//	              greeting, * exit
//	mwi.go        the message-summary event package for sip's SUBSCRIBE
//	              registry; store changes (any instance) → NOTIFYs, and
//	              unsolicited NOTIFYs to unsubscribed phones when enabled
//	moh.go        music on hold (sip.HoldMusic): the tenant's moh prompt or
//	              the built-in loop, looped; attendant wait: music
//
// sip declares what it needs (sip.Applications) and cmd/switchboard plugs
// an *Apps into sip.Config.Apps: apps depends on sip, media, routing and
// dialplan, never the reverse. Apps owns the prompts and its metrics
// (switchboard_attendant_selections_total, switchboard_voicemail_messages_total,
// switchboard_mwi_subscriptions_active); sip owns the legs, their RTP
// ports and goroutines, and the calls' CDRs: when Run returns, sip hangs up
// the caller if the application did not and returns the ports.
package apps
