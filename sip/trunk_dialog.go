package sip

import (
	"context"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// toTrunk returns the dialog of a request that goes from the caller to a
// carrier trunk, nil otherwise. Such requests carry the caller's CSeq plus
// the dialog's offset: every challenge the carrier made cost one CSeq
// (RFC 3261 §22.2 — a re-sent request with credentials takes the next CSeq),
// which the caller never saw.
func (s *Server) toTrunk(req *sip.Request) *dialog {
	dl := s.dialogs.get(req.CallID().Value())
	if dl == nil || dl.trunk == "" || tagOf(req.From().Params) != dl.callerTag {
		return nil
	}
	return dl
}

// trunkReauth re-sends an in-dialog request the carrier challenged, with
// the trunk's credentials and the next CSeq, and returns its transaction;
// nil when it cannot (the challenge is then relayed to the caller).
func (s *Server) trunkReauth(ctx context.Context, pristine *sip.Request, res *sip.Response, dl *dialog) sip.ClientTransaction {
	t, ok := s.trunk(dl.trunk)
	if !ok {
		return nil
	}
	auth, err := trunkCredentials(pristine, res, t)
	if err != nil {
		s.log.Warn("cannot answer the trunk's in-dialog challenge", "trunk", t.Name, "error", err)
		return nil
	}
	r := pristine.Clone()
	r.CSeq().SeqNo++
	r.AppendHeader(auth)
	tx, err := s.client.TransactionRequest(ctx, r, sipgo.ClientRequestAddVia)
	if err != nil {
		s.log.Warn("in-dialog re-send with credentials failed", "trunk", t.Name, "error", err)
		return nil
	}
	dl.cseqBump.Add(1)
	return tx
}

// dialogGone gives a finished call's trunk slot back.
func (s *Server) dialogGone(dl *dialog) {
	if dl.limitTenant != "" {
		s.limits.Release(context.Background(), dl.limitTenant, dl.callID)
	}
	if dl.trunkSlot {
		s.trunks.release(dl.trunk)
	}
}
