package sip

import (
	"testing"
)

// A dialog record whose hop names this server (written under the same
// Call-ID by another instance on the path, for which we are the relay) must
// not be followed: that bounced an ACK to ourselves until Max-Forwards ran out.
func TestInDialogNeverForwardsToItself(t *testing.T) {
	s, _, _ := newTestServer(t)
	s.addOwn("udp", "127.0.0.1:5060")
	s.dialogs.adopt(&dialog{callID: "loop-1", callerTag: "caller", calleeTag: "callee",
		caller: flow{addr: "192.0.2.10:5060", transport: "udp"},
		callee: flow{addr: "127.0.0.1:5060", transport: "udp"}})

	bye := func(fromTag, via string) []byte {
		return []byte("BYE sip:7002@127.0.0.1:5060 SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP " + via + ";branch=z9hG4bKloop" + fromTag + "\r\n" +
			"Max-Forwards: 70\r\n" +
			"From: <sip:7001@acme.example>;tag=" + fromTag + "\r\n" +
			"To: <sip:7002@acme.example>;tag=other\r\n" +
			"Call-ID: loop-1\r\n" +
			"CSeq: 2 BYE\r\n" +
			"Content-Length: 0\r\n\r\n")
	}

	// From the caller: the hop is ourselves, so there is none.
	if dest, _, ok := s.nextHop(parseRequest(t, bye("caller", "192.0.2.10:5060"))); ok {
		t.Fatalf("nextHop = %q, want no hop (it names this server)", dest)
	}
	tx := newFakeTx()
	s.inDialog(parseRequest(t, bye("caller", "192.0.2.10:5060")), tx)
	if tx.res == nil || tx.res.StatusCode != 481 {
		t.Fatalf("BYE towards ourselves answered %v, want 481", tx.res)
	}

	// From the callee the hop is a real phone, so the record still works.
	if dest, _, ok := s.nextHop(parseRequest(t, bye("callee", "198.51.100.7:5060"))); !ok || dest != "192.0.2.10:5060" {
		t.Fatalf("nextHop from the callee = %q, %v; want 192.0.2.10:5060", dest, ok)
	}

	// A request already carrying our own Via looped back: 482, not relayed.
	tx = newFakeTx()
	s.inDialog(parseRequest(t, bye("callee", "127.0.0.1:5060")), tx)
	if tx.res == nil || tx.res.StatusCode != 482 {
		t.Fatalf("looped BYE answered %v, want 482", tx.res)
	}
}
