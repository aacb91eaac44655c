// Package security decides which SIP sources switchboard stops talking to:
// brute-force and scanning bans learnt from digest failures, per-source
// flood limits and known scanner User-Agents.
//
// A Guard is consulted twice per request. On the transport read path, before
// a datagram or stream chunk is parsed, Inbound says whether to drop it: a
// banned source IP, a source over its requests-per-second budget (which bans
// it), or a known scanner's User-Agent. In digest authentication, UserBanned
// refuses a (source IP, username) pair that guessed wrong too often, and
// AuthFailed counts each wrong digest, banning the pair or, past enough
// distinct usernames, the whole source IP.
//
// The decisions are made from in-process tables, so a banned source costs a
// map lookup. Tables are bounded: see table.go for what is evicted first.
// With a Shared store (Redis, redis.go) failure counters live there with a
// TTL and bans are published to every instance, which keeps a local mirror;
// flood budgets stay per instance.
package security
