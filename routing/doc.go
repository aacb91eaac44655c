// Package routing decides where a call rings. It is pure: Decide reads only
// its arguments (the call, the tenant's compiled dialplan.View, the live
// registrations through Options.Contacts) and returns a Plan; it opens no
// socket, reads no clock, starts no goroutine. The sip package executes the
// plan.
//
//	INVITE ─sip classifies─▶ Call{Caller, Dialled} ─Decide(call, view, opts)─▶ Plan{Kind, Steps, CallerID}
//	                                                                            └▶ sip: fork / B2BUA / trunk
//
// # Plans
//
// A plan is an ordered list of steps. Ring and Forward may end without an
// answer; the proxy moves to the next step only for the outcomes the step's
// ContinueOn names, otherwise the call ends with that step's own final
// response (for example 486 from a busy phone when only no-answer continues).
// The last step always ends the call: a Reject (used when every earlier step
// failed), an Attendant (which answers) or an Outbound (which relays the
// carrier's answer). Ring and Forward are never last; a Ring is never empty.
//
// Plan.Kind, for the switchboard_routing_decisions_total metric, is the kind
// of what was called: user, alias, group, attendant, outbound or emergency;
// except "forward" when the first step is a Forward and "reject" when the
// plan is only a Reject. A number is not a kind: a call to a number is
// labelled with the kind of its target.
//
// Final answers: 404 Not Found (nothing by that name or number), 480
// Temporarily Unavailable (nobody answered or nobody is registered), 403
// Outbound Calls Not Allowed (a PSTN call with no trunk configured: 403 and
// not 503, because 503 makes phones fail over to another server, and every
// instance has the same trunks), 403 Forbidden (a caller that is neither a
// user nor a trunk).
//
// # Calls from users
//
// Caller.User is set. In order:
//
//  1. An emergency code (911, 112, 999, 933, after removing separators) goes
//     out through the first trunk as dialled (Kind emergency), before any
//     lookup, so that no extension, user id or alias can shadow it. It is
//     never forwarded and presents the caller's direct number, else the
//     tenant's main number, whatever the user's caller_id.
//  2. View.Lookup resolves a user id, extension, alias name or group
//     extension (ids and aliases case-insensitively) to a target (below).
//  3. Otherwise, if Normalize accepts it with the tenant's country_code
//     ("1" when unset) and the number is one of the tenant's (View.Number:
//     numbers and direct numbers), the call goes to that number's target
//     internally, never through the carrier.
//  4. Otherwise a number goes out: Outbound through the first trunk, with the
//     caller ID of the user's caller_id: main → the tenant's main number
//     (display name: the tenant's name), direct → the user's direct number
//     (display name: the user's name), unset → direct if there is one, else
//     main. When the chosen number is missing the other is used; with
//     neither, no caller ID is set (the trunk's default). Plan.CallerID is
//     the same. With no trunk configured: 403.
//  5. Anything else: 404.
//
// Internal called parties see the caller as Plan.CallerID: the user's name
// and first extension (its id when it has none), or the alias name when the
// call came from an alias line. A user may call themselves: all their phones
// ring, the calling one included.
//
// # Calls from trunks
//
// Caller.Trunk is set and view is the tenant that owns the dialled number.
// Dialled is normalised with the tenant's country code (carriers send
// "+14155550100" or "14155550100"); if that gives no number of the tenant,
// "+" and Dialled is tried (E.164 without its "+", any country). The number's
// target is called; an unknown number, an extension or an emergency code is
// 404. Plan.CallerID stays zero: the carrier's From passes through, also on
// forwards.
//
// # Targets
//
//   - user: ring the contacts of the user's AOR (Entry.AOR: id@domain),
//     following the user's forward (below).
//   - alias: ring the contacts of the alias's AOR; when none is registered,
//     those of the owning user's AOR. The owner's forward applies.
//   - group: members are user ids and alias names (an alias without a
//     registration falls back to its owner as above). Simultaneous: one Ring
//     of every member's contacts. Sequential: one Ring per member that has
//     contacts, in member order. Each Ring lasts the group's ring time (20s
//     when unset) and continues on every outcome; then 480. A contact reached
//     twice (same AOR and Contact URI, e.g. through a user and its
//     unregistered alias) rings once, at its first place. The calling user
//     and their aliases are not rung. Members' forwards are not followed.
//     Nobody registered: 480.
//   - attendant: an Attendant step; the sip layer plays the menu and calls
//     DecideTarget with the option picked.
//   - ext:NNNN: resolved with View.Lookup and called as above. An extension
//     names a user or a group, never another target, so this cannot loop.
//
// # Forwards
//
// A user's forward is followed when there is a trunk, the call arrived
// diverted fewer than MaxDiversions times (Call.Diverted, from Diversion or
// History-Info: this ends loops through the carrier), and the forward number
// does not route back to the same user (a forward to one's own direct number
// is ignored). Otherwise the user is rung as if without forward.
//
//	no forward   contacts: Ring{DefaultRing, on no-answer|unavailable} → 480
//	             none:     480
//	always       Forward{unconditional} → 480 (phones do not ring)
//	no_answer    contacts: Ring{after (20s when unset), on no-answer|unavailable} → Forward{no-answer} → 480
//	             none:     Forward{unavailable} → 480
//	busy         contacts: Ring{DefaultRing, on busy} → Forward{user-busy} → 480
//	             none:     480
//	unregistered contacts: Ring{DefaultRing, on unavailable} → Forward{unavailable} → 480
//	             none:     Forward{unavailable} → 480
//
// For unregistered, a registered phone that cannot be reached (every fork
// fails: 408, 480, 5xx) counts as unregistered. A Forward goes through the
// first trunk with the user's screening setting, DivertedBy the user's first
// extension (its id when it has none), the RFC 5806 reason shown, no timeout
// of its own (the carrier's) and continues on every outcome to the final 480.
// Its CallerID is the calling user's outbound caller ID for calls from users
// (an extension means nothing on the PSTN) and zero for calls from trunks.
// A forward to another of the tenant's numbers still goes out through the
// trunk and comes back as a trunk call.
//
// # Numbers
//
// Normalize turns what users dial into E.164; see its documentation for the
// rules (NANP when the country code is "1", a leading "0" for national
// numbers elsewhere, "00" and, in NANP, "011" for international).
package routing
