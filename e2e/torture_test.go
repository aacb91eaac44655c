package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"
)

// noAnswer stands for "no response" in a list of acceptable outcomes.
const noAnswer = 0

// anyFinal accepts any final response other than a 500 (a recovered panic).
const anyFinal = -1

// tortureWant is the acceptable outcomes per RFC 4475 / RFC 5118 file, from
// testdata/rfc4475/MANIFEST.md, for this server: tenant acme.example only, no
// default tenant, no proxy yet. Messages sipgo's parser refuses are dropped
// (noAnswer) — the manifest's expectation is listed alongside.
var tortureWant = map[string][]int{
	// 3.1.1 valid messages
	"wsinv.dat":   {anyFinal}, // INVITE to a domain not served
	"intmeth.dat": {501},      // unknown method at an endpoint: 501 with Allow
	"esc01.dat":   {anyFinal}, // INVITE
	"escnull.dat": {403},      // REGISTER for example.com: not a tenant here
	"esc02.dat":   {501},      // RE%47IST%45R is not REGISTER
	"lwsdisp.dat": {200},
	// INVITE with 3.5 KB of headers: the answer echoes them and sipgo refuses
	// UDP writes over 1,300 bytes, responses included, so none is sent.
	"longreq.dat":    {anyFinal, noAnswer},
	"dblreq.dat":     {403}, // the REGISTER, for example.com; the trailing INVITE is ignored
	"semiuri.dat":    {200},
	"transports.dat": {200},
	"mpart01.dat":    {405},      // MESSAGE
	"unreason.dat":   {noAnswer}, // responses are never answered
	"noreason.dat":   {noAnswer},
	// 3.1.2 invalid messages
	"badinv01.dat": {400, noAnswer},
	"clerr.dat":    {400, noAnswer},
	"ncl.dat":      {400, noAnswer},
	"scalar02.dat": {400, noAnswer},
	"scalarlg.dat": {noAnswer},
	"quotbal.dat":  {400, noAnswer},
	"ltgtruri.dat": {400, noAnswer},
	"lwsruri.dat":  {400, noAnswer},
	"lwsstart.dat": {400, noAnswer, anyFinal}, // a liberal element may accept it
	"trws.dat":     {400, noAnswer, 200},      // a liberal element may accept it
	"escruri.dat":  {400},
	"baddate.dat":  {400, anyFinal}, // the Date may be ignored
	// 400 wanted, but sipgo parses an unbracketed Contact with ?headers
	// exactly like the bracketed one of regescrt.dat, so the registrar cannot
	// tell them apart; for example.com it answers 403 before reading Contact.
	"regbadct.dat":   {400, 403},
	"badaspec.dat":   {400, noAnswer, 200}, // a liberal element may ignore the spaces
	"baddn.dat":      {400, noAnswer},
	"badvers.dat":    {505},
	"mismatch01.dat": {400},
	"mismatch02.dat": {501, 400},
	"bigcode.dat":    {noAnswer},
	// 3.2 transaction layer
	"badbranch.dat": {400, 200},
	// 3.3 application layer
	"insuf.dat":    {400},
	"unkscm.dat":   {416},
	"novelsc.dat":  {416, noAnswer}, // valid, but sipgo refuses to parse soap.beep: URIs
	"unksm2.dat":   {400},           // registrar: To must be a SIP or SIPS URI
	"bext01.dat":   {420},
	"invut.dat":    {anyFinal}, // INVITE; 415 once an endpoint takes it
	"regaut01.dat": {403},      // example.com is not served: 403 before any challenge
	"multi01.dat":  {400},
	"mcl01.dat":    {400},
	"bcast.dat":    {noAnswer},
	"zeromf.dat":   {200}, // an endpoint answers OPTIONS with Max-Forwards 0
	"cparam01.dat": {403}, // REGISTERs for example.com
	"cparam02.dat": {403},
	"regescrt.dat": {403},
	"sdp01.dat":    {anyFinal}, // INVITE
	// 3.4 backward compatibility
	"inv2543.dat": {anyFinal, 400, noAnswer},
	// not in the RFC body: no SIP-Version in the request line
	"test.dat": {400, noAnswer},

	// RFC 5118, IPv6 (none names a served domain)
	"rfc5118/ipv6-good.dat":                     {403},
	"rfc5118/ipv6-bad.dat":                      {400, noAnswer},
	"rfc5118/port-ambiguous.dat":                {403},
	"rfc5118/port-unambiguous.dat":              {403},
	"rfc5118/via-received-param-with-delim.dat": {481, 400, noAnswer}, // BYE outside a dialog
	"rfc5118/via-received-param-no-delim.dat":   {200},
	"rfc5118/ipv6-in-sdp.dat":                   {400, noAnswer}, // Content-Length larger than the body
	"rfc5118/ipv6-in-sdp.clfixed.dat":           {anyFinal},
	"rfc5118/mult-ip-in-header.dat":             {481},
	"rfc5118/mult-ip-in-sdp.dat":                {anyFinal},
	"rfc5118/mult-ip-in-sdp.clfixed.dat":        {anyFinal},
	"rfc5118/ipv4-mapped-ipv6.dat":              {anyFinal},
	"rfc5118/ipv4-mapped-ipv6.clfixed.dat":      {anyFinal},
	"rfc5118/ipv6-bug-abnf-3-colons.dat":        {400, 200, noAnswer},
	"rfc5118/ipv6-correct-abnf-2-colons.dat":    {200},
}

// topVia finds the sent-by of the first Via header (long or compact form,
// folded or not).
var topVia = regexp.MustCompile(`(?im)^(?:via|v)[ \t]*:[ \t]*SIP[ \t\r\n]*/[ \t\r\n]*[0-9]+\.[0-9]+[ \t\r\n]*/[ \t\r\n]*[A-Za-z]+[ \t\r\n]+(\[[^\]]*\](?::[0-9]+)?|[^;,\s]+)`)

// replyToMe rewrites the sent-by of the top Via so the response comes back
// to port; the rest of the message is untouched, Content-Length included.
func replyToMe(msg []byte, port int) ([]byte, bool) {
	loc := topVia.FindSubmatchIndex(msg)
	if loc == nil {
		return msg, false
	}
	var out bytes.Buffer
	out.Write(msg[:loc[2]])
	out.WriteString("127.0.0.1:" + strconv.Itoa(port))
	out.Write(msg[loc[3]:])
	return out.Bytes(), true
}

// tortureFiles lists the torture messages: the repository's copy.
func tortureFiles(t *testing.T) []string {
	t.Helper()
	dir := filepath.Join(repoRoot(), "testdata", "rfc4475")
	var files []string
	for _, pattern := range []string{"*.dat", "rfc5118/*.dat"} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			rel, _ := filepath.Rel(dir, f)
			files = append(files, filepath.ToSlash(rel))
		}
	}
	if len(files) < 65 {
		t.Fatalf("found %d torture files in %s, want 65", len(files), dir)
	}
	return files
}

func TestRFC4475Torture(t *testing.T) {
	t.Parallel()
	srv := start(t, options{})
	dir := filepath.Join(repoRoot(), "testdata", "rfc4475")
	baseline := srv.metrics(t)["go_goroutines"]
	seen := map[string]string{}
	for _, name := range tortureFiles(t) {
		t.Run(name, func(t *testing.T) {
			// A socket per message: answers to earlier ones (an INVITE's
			// final response is retransmitted until ACKed) stay out.
			r := newRaw(t, srv)
			want, ok := tortureWant[name]
			if !ok {
				t.Fatalf("no expectation for %s: add it to tortureWant", name)
			}
			msg, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			// The message as is: the answer (if any) goes to the Via's
			// address, not here; this is the survival test.
			r.send(msg)
			// The same message with the top Via pointing here, to see the answer.
			mine, rewritten := replyToMe(msg, r.port())
			got := noAnswer
			if rewritten {
				// Loopback answers take milliseconds; where silence is an
				// acceptable outcome, do not wait long for it.
				wait := 2 * time.Second
				if slices.Contains(want, noAnswer) {
					wait = 400 * time.Millisecond
				}
				r.send(mine)
				if res := r.recvFor("", wait); res != nil {
					got = res.StatusCode
					seen[name] = fmt.Sprint(res.StatusCode, " ", res.Reason)
				} else {
					seen[name] = "no answer"
				}
			} else {
				seen[name] = "no Via to rewrite; not answerable here"
				got = noAnswer
			}
			if !accept(want, got) {
				t.Errorf("%s: got %s, want one of %v (0 = no answer, -1 = any final but 500)", name, seen[name], want)
			}
			wantAlive(t, srv, newRaw(t, srv))
		})
	}
	for _, name := range tortureFiles(t) {
		t.Logf("%-45s %s", name, seen[name])
	}
	waitGoroutines(t, srv, baseline)
}

func accept(want []int, got int) bool {
	for _, w := range want {
		if w == got || w == anyFinal && got >= 200 && got != 500 {
			return true
		}
	}
	return false
}

// waitGoroutines waits until go_goroutines is back near baseline: a handful
// of connection and transaction goroutines may linger for a transaction's
// lifetime (Timer J is 32 s on UDP), so the bound is loose but finite.
func waitGoroutines(t *testing.T, srv *server, baseline float64) {
	t.Helper()
	const slack = 20
	deadline := time.Now().Add(10 * time.Second)
	var got float64
	for {
		got = srv.metrics(t)["go_goroutines"]
		if got <= baseline+slack {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("go_goroutines = %v after the run, baseline %v (+%d allowed)", got, baseline, slack)
}
