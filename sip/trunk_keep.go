package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/resolve"
)

// startKeepers starts, per trunk, the loop that keeps its registration at
// the carrier and the loop that probes it with OPTIONS. They stop when ctx
// ends; Serve waits for them (keepers) before closing the sockets, so the
// de-registration of a registered trunk still goes out.
func (s *Server) startKeepers(ctx context.Context) {
	for _, t := range s.cfg.Trunks {
		t, _ = s.trunk(t.Name) // with defaults applied
		if t.Register {
			s.keepers.Add(1)
			go func() {
				defer s.keepers.Done()
				defer s.recoverKeeper("registration " + t.Name)
				s.keepRegistered(ctx, t)
			}()
		}
		if t.Probe > 0 {
			s.keepers.Add(1)
			go func() {
				defer s.keepers.Done()
				defer s.recoverKeeper("probe " + t.Name)
				s.probeLoop(ctx, t)
			}()
		}
	}
}

func (s *Server) recoverKeeper(what string) {
	if r := recover(); r != nil {
		s.metrics.panics.Inc()
		s.log.Error("trunk keeper panicked", "what", what, "panic", fmt.Sprint(r))
	}
}

// Registration timing. The first retry after a failure comes after
// regRetryMin, doubling up to regRetryMax (or the trunk's expiry when that
// is shorter, so short test expiries retry quickly).
const (
	regRetryMin = time.Second
	regRetryMax = time.Minute
)

// keepRegistered registers the trunk, refreshes the registration before it
// expires (at three quarters of the granted expiry), retries with back-off
// when the carrier refuses or does not answer, and removes the binding
// (Expires: 0) when ctx ends.
func (s *Server) keepRegistered(ctx context.Context, t Trunk) {
	host, _ := s.localAddr("udp")
	reg := &trunkRegistration{t: t, callID: "reg-" + sip.GenerateTagN(16) + "@" + host, tag: sip.GenerateTagN(12)}
	retry := regRetryMin
	maxRetry := min(regRetryMax, max(t.RegisterExpires, regRetryMin))
	for {
		wait := retry
		addr, granted, err := s.registerOnce(ctx, reg, t.RegisterExpires)
		now := time.Now()
		if err == nil {
			s.trunks.setRegistered(t.Name, addr, now.Add(granted), "")
			if len(t.InboundFrom) == 0 {
				s.trunks.setFlowAddrs(t.Name, reg.resolved)
			}
			s.log.Debug("trunk registered", "trunk", t.Name, "registrar", addr, "expires", granted)
			retry = regRetryMin
			wait = granted * 3 / 4
		} else {
			if ctx.Err() != nil {
				break
			}
			s.registrationFailed(t.Name, now, err)
			s.log.Warn("trunk registration failed", "trunk", t.Name, "retry_in", wait, "error", err)
			retry = min(retry*2, maxRetry)
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
			continue
		}
		break
	}
	// Unregister so the carrier stops sending calls to an instance that
	// is going away.
	if reg.registrar.Addr != "" {
		uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _, err := s.registerAt(uctx, reg, reg.registrar, 0)
		cancel()
		if err != nil {
			s.log.Debug("trunk de-registration failed", "trunk", t.Name, "error", err)
		}
	}
	s.trunks.setRegistered(t.Name, "", time.Time{}, "")
}

// registrationFailed keeps a still-valid binding usable for inbound calls
// and records the error.
func (s *Server) registrationFailed(name string, now time.Time, err error) {
	s.trunks.mu.Lock()
	st := s.trunks.byName[name]
	addr, until := st.registered, st.registeredTil
	s.trunks.mu.Unlock()
	if now.After(until) {
		addr, until = "", time.Time{}
	}
	s.trunks.setRegistered(name, addr, until, err.Error())
}

// trunkRegistration is one trunk's registration dialog: Call-ID, From tag
// and CSeq stay the same across refreshes (RFC 3261 §10.2.4).
type trunkRegistration struct {
	t         Trunk
	callID    string
	tag       string
	cseq      uint32
	registrar resolve.Target   // the target that accepted the last REGISTER
	resolved  []resolve.Target // every target of the trunk's address at the last REGISTER
}

// registerOnce registers at the first target of the trunk's address that
// accepts, and returns it with the granted expiry.
func (s *Server) registerOnce(ctx context.Context, reg *trunkRegistration, expires time.Duration) (string, time.Duration, error) {
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	targets, err := s.resolver.Resolve(rctx, reg.t.Address, reg.t.Transport)
	cancel()
	if err != nil {
		return "", 0, err
	}
	reg.resolved = targets
	var errs []error
	for _, tg := range targets {
		addr, granted, err := s.registerAt(ctx, reg, tg, expires)
		if err == nil {
			reg.registrar = tg
			return addr, granted, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", tg, err))
		if ctx.Err() != nil {
			break
		}
	}
	return "", 0, errors.Join(errs...)
}

// errRegistrationRefused wraps a final non-2xx answer to REGISTER.
var errRegistrationRefused = errors.New("registration refused")

// registerAt sends one REGISTER (answering one challenge, and one 423 Interval
// Too Brief) and returns the carrier address that accepted it and the
// granted expiry.
func (s *Server) registerAt(ctx context.Context, reg *trunkRegistration, tg resolve.Target, expires time.Duration) (string, time.Duration, error) {
	var auth sip.Header
	askExpires := int(expires / time.Second)
	for range 3 {
		reg.cseq++
		req := s.newTrunkRequest(sip.REGISTER, reg.t, tg, reg.callID, reg.tag, reg.cseq)
		host, port := s.localAddr(tg.Transport)
		contact := sip.Uri{Scheme: "sip", User: reg.t.Username, Host: host, Port: port}
		if tg.Transport != "udp" {
			contact.UriParams = sip.HeaderParams{{K: "transport", V: tg.Transport}}
		}
		req.AppendHeader(&sip.ContactHeader{Address: contact})
		req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(askExpires)))
		if auth != nil {
			req.AppendHeader(auth)
		}
		tctx, cancel := context.WithTimeout(ctx, 4*time.Second)
		if err := s.trunkConn(tctx, reg.t, tg); err != nil { // trunk_tls.go
			cancel()
			return "", 0, err
		}
		res, err := s.client.Do(tctx, req, sipgo.ClientRequestAddVia)
		cancel()
		if err != nil {
			return "", 0, fmt.Errorf("no answer: %w", err)
		}
		switch {
		case res.StatusCode >= 200 && res.StatusCode < 300:
			return res.Source(), grantedExpiry(res, contact, time.Duration(askExpires)*time.Second), nil
		case (res.StatusCode == 401 || res.StatusCode == 407) && auth == nil:
			if auth, err = trunkCredentials(req, res, reg.t); err != nil {
				return "", 0, err
			}
		case res.StatusCode == 423:
			min, err := strconv.Atoi(strings.TrimSpace(headerValue(res, "Min-Expires")))
			if err != nil || min <= askExpires {
				return "", 0, fmt.Errorf("%w: 423 without a usable Min-Expires", errRegistrationRefused)
			}
			askExpires = min
		default:
			return "", 0, fmt.Errorf("%w: %d %s", errRegistrationRefused, res.StatusCode, res.Reason)
		}
	}
	return "", 0, fmt.Errorf("%w: challenged again after our credentials", errRegistrationRefused)
}

// grantedExpiry reads the expiry the registrar granted our contact: its
// ;expires parameter in the 200, else the Expires header, else what we asked.
func grantedExpiry(res *sip.Response, ours sip.Uri, asked time.Duration) time.Duration {
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok || c.Address.User != ours.User || !strings.EqualFold(c.Address.Host, ours.Host) {
			continue
		}
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	if n, err := strconv.Atoi(strings.TrimSpace(headerValue(res, "Expires"))); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return asked
}

// newTrunkRequest builds an out-of-dialog request to a trunk: REGISTER or
// OPTIONS, To and From the trunk's identity at the carrier's domain.
func (s *Server) newTrunkRequest(method sip.RequestMethod, t Trunk, tg resolve.Target, callID, tag string, cseq uint32) *sip.Request {
	domain := t.Address
	if h, _, err := net.SplitHostPort(domain); err == nil {
		domain = h
	}
	req := sip.NewRequest(method, sip.Uri{Scheme: "sip", Host: domain})
	user := t.Username
	if user == "" {
		user = "switchboard"
	}
	aor := sip.Uri{Scheme: "sip", User: user, Host: domain}
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", tag)
	req.AppendHeader(from)
	to := sip.Uri{Scheme: "sip", Host: domain}
	if method == sip.REGISTER {
		to = aor
	}
	req.AppendHeader(&sip.ToHeader{Address: to, Params: sip.NewParams()})
	cid := sip.CallIDHeader(callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.SetBody(nil)
	req.SetTransport(strings.ToUpper(tg.Transport))
	req.SetDestination(tg.Addr)
	return req
}

// probeLoop sends an OPTIONS to the trunk every Probe interval. Any answer
// below 500 (a 404 or 407 proves the carrier is alive) is a success; no
// answer, 408 or 5xx is a failure; three failures in a row take the trunk
// out of the hunt until a probe succeeds (trunk.Health).
func (s *Server) probeLoop(ctx context.Context, t Trunk) {
	host, _ := s.localAddr("udp")
	callID := "probe-" + sip.GenerateTagN(16) + "@" + host
	tick := time.NewTicker(t.Probe)
	defer tick.Stop()
	var cseq uint32
	for {
		cseq++
		err := s.probeOnce(ctx, t, callID, cseq)
		if ctx.Err() != nil {
			return
		}
		errText := ""
		if err != nil {
			errText = err.Error()
		}
		if changed, down := s.trunks.probed(t.Name, err == nil, errText); changed {
			if down {
				s.log.Warn("trunk down: OPTIONS probes failed", "trunk", t.Name, "error", err)
			} else {
				s.log.Info("trunk up: OPTIONS probe answered", "trunk", t.Name)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (s *Server) probeOnce(ctx context.Context, t Trunk, callID string, cseq uint32) error {
	// A probe must finish before the next one is due.
	pctx, cancel := context.WithTimeout(ctx, min(t.Probe, 5*time.Second))
	defer cancel()
	targets, err := s.resolver.Resolve(pctx, t.Address, t.Transport)
	if err != nil {
		return err
	}
	if err := s.trunkConn(pctx, t, targets[0]); err != nil { // trunk_tls.go
		return err
	}
	req := s.newTrunkRequest(sip.OPTIONS, t, targets[0], callID, sip.GenerateTagN(12), cseq)
	res, err := s.client.Do(pctx, req, sipgo.ClientRequestAddVia)
	if err != nil {
		return fmt.Errorf("no answer from %s: %w", targets[0], err)
	}
	if res.StatusCode == 408 || res.StatusCode >= 500 {
		return fmt.Errorf("%s answered %d %s", targets[0], res.StatusCode, res.Reason)
	}
	return nil
}

// waitKeepers waits up to d for the registration and probe loops to end.
func (s *Server) waitKeepers(d time.Duration) {
	done := make(chan struct{})
	go func() { s.keepers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		s.log.Warn("trunk registrations still running at shutdown", "timeout", d)
	}
}
