// Package sip is switchboard's SIP front end, built on github.com/emiago/sipgo:
// transports, request sanity checks, the registrar with digest authentication,
// and (later) the proxy that executes routing plans.
//
// A request flows transport → sipgo transaction → Server.handle, which recovers
// panics, counts the request, runs the sanity checks of check.go and dispatches
// by method. REGISTER is handled in registrar.go: the tenant comes from the To
// domain, credentials are checked by package auth, and the change to the
// bindings is a pure function (applyRegister) run atomically by the location
// store. Every response goes through Server.reply so it is counted once.
//
// sipgo types stay inside this package; routing and the stores see plain values.
package sip
