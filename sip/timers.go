package sip

import (
	"time"

	"github.com/emiago/sipgo/sip"
)

// transactionLinger is how long a completed transaction is kept to absorb
// retransmissions: Timer J (non-INVITE server), L (INVITE server after a
// 2xx), M (INVITE client after a 2xx) and D (INVITE client after a failure).
//
// RFC 3261 and RFC 6026 set them to 64×T1 = 32 s on UDP, and sipgo keeps
// every finished transaction, with its request and response, that long: at
// 3,000 calls/s that was several hundred thousand live transactions and
// most of a 2 GiB heap. Kamailio's tm keeps them 5 s (its wt_timer), as
// switchboard now does. What a shorter linger changes is rare and benign:
// a BYE retransmitted after five lost 200s in a row finds no dialog and is
// answered 481; a 2xx retransmitted by a callee after 5 s is relayed
// statelessly along its Via (dialog.go), as a stray response is.
const transactionLinger = 5 * time.Second

func init() {
	// sipgo reads these when it creates a transaction; set before any is.
	sip.Timer_J = transactionLinger
	sip.Timer_L = transactionLinger
	sip.Timer_M = transactionLinger
	sip.Timer_D = transactionLinger
}
