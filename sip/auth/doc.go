// Package auth is switchboard's server side of SIP digest authentication
// (RFC 3261 §22 with the RFC 7616 / RFC 8760 algorithms MD5 and SHA-256,
// qop=auth and the qop-less RFC 2069 form).
//
// It owns nonces, the parsing of Authorization / Proxy-Authorization values and
// the response check; it works on header strings only, so it has no sipgo
// dependency and its tests need no sockets. The sip package owns the wire: it
// asks for challenges, hands over the header value, and maps the errors to
// status codes.
//
// The flow for one request:
//
//	no credentials          → 401/407 with a.Challenges(realm, false)
//	a.Verify(req, lookup)   → username, nil: authenticated
//	                        → ErrStale: 401/407 with a.Challenges(realm, true)
//	                        → anything else: the same 401/407 as an unknown
//	                          caller gets (or 403 by policy); count Reason(err)
//
// Nonces carry their issue time, some randomness and an HMAC bound to the realm,
// so validating one needs no stored state: any instance that shares Config.Secret
// accepts it, and a 401 costs no memory (a stateless challenge is part of why
// Kamailio stays flat under REGISTER floods). The only state is the highest nonce
// count seen per nonce, kept after a successful check to refuse replays, in two
// generations of sharded maps that rotate every NonceTTL when touched: no
// goroutine, no timer, bounded by Config.MaxNonces. When that bound forces a
// generation out early, nonces issued before that moment whose history is not
// found are answered ErrStale (one extra round trip for the phone) rather than
// risk accepting a replay. The table is per instance,
// so a replay sent to a different instance within the nonce lifetime is not
// caught; the short NonceTTL bounds that window.
//
// Unknown usernames are hashed against a dummy HA1 and reported as
// ErrUnknownUser, which callers must answer exactly like ErrWrongPassword so
// extensions cannot be enumerated. ErrStale is only returned for a response
// that was otherwise correct, as RFC 7616 §3.3 asks, so stale=true never tells a
// guesser anything it did not already know.
package auth
