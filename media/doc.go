// Package media is switchboard's own media engine: everything a call's audio
// needs when the engine answers a call itself (auto attendant, screening)
// instead of proxying it.
//
// It owns SDP offer/answer (pion/sdp/v3), RTP sessions on UDP ports from a
// pool (pion/rtp), G.711 µ-law/A-law, prompts and their playback, the
// ringback tone, RFC 4733 and SIP INFO DTMF, and the bridge that relays RTP
// between two legs. It knows nothing of SIP: package sip calls in, and pion
// types never leave this package.
//
// The flow of an attendant call, as sip drives it:
//
//	pool, _ := media.NewPortPool(cfg.Ports, metrics)       // once
//	prompts, _ := media.LoadPrompts(cfg.Prompts)            // once
//
//	s, _ := media.NewSession(media.SessionConfig{Addr: addr, Pool: pool})
//	defer s.Close()                                         // socket and port back
//	local := media.Local{Addr: addr, Port: int(s.LocalAddr().Port()), SessionID: id}
//	answer, neg, err := media.Negotiate(inviteBody, local)  // ErrNoCommonCodec → 488, ErrMalformed → 400
//	s.SetRemote(neg)
//	go s.Run(ctx)                                           // receive; ErrInactive ends the call
//	welcome, _ := prompts.Get("welcome")
//	p := media.NewPlayer(s)
//	go p.Play(ctx, welcome)                                 // p.Stop() on the first digit (barge-in)
//	digit := <-s.DTMF().Digits()                            // RFC 4733, or INFO via s.DTMF().Info
//	... originate leg B with media.Offer / media.ParseAnswer, play media.Ringback on A ...
//	p.Stop(); media.NewBridge(a, b).Start()                 // on B's 200 OK
//
// Screening plays a Sequence instead, prompts back to back assembled per call:
// media.NewSequence(callFor, tenantName, from, digit4, digit0, …, press1).
//
// Concurrency: a Session owns one reader goroutine, started and stopped by
// Run; a Bridge relays from those readers; a Player sends from its caller's
// goroutine. Nothing else runs in the background.
//
// Not done here: RTCP (the odd port is reserved, not bound), SRTP, codecs
// other than G.711, jitter buffering, ptime other than 20 ms on send.
package media
