// Package location is the location service of RFC 3261 §10: for each
// address-of-record (a user or alias, "john@acme.example") the contacts its
// phones registered, with per-contact expiry and the network flow (source
// address and transport) a request must take to reach the phone through NAT.
//
// The registrar in package sip decides what a REGISTER changes (a pure function
// of the current bindings and the request) and applies it with Store.Update, so
// every implementation only has to make that read-modify-write atomic per AOR.
// Expired bindings are never returned; the memory store drops them with one
// sweeper goroutine and a per-shard expiry heap, not a timer per binding.
// Redis keeps one hash per AOR shared by every instance, mirrored in memory so
// that registrations survive a Redis outage and are written back after it
// (docs/redis.md).
package location
