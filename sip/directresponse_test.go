package sip

import (
	"bytes"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/location"
)

// directCase is one request whose fast-path answers are built both ways.
type directCase struct {
	name   string
	source string // the datagram's source, as stateless sets it
	raw    string
}

var directCases = []directCase{
	{"bench REGISTER with rport", "192.0.2.10:5060", "REGISTER sip:acme.example SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa1;rport\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:7001@acme.example>;tag=a73kszlfl\r\nTo: <sip:7001@acme.example>\r\n" +
		"Call-ID: 1j9FpLxk3uxtm8tn@192.0.2.10\r\nCSeq: 2 REGISTER\r\n" +
		"Contact: <sip:7001@192.0.2.10:5060;transport=udp>;expires=3600\r\nContent-Length: 0\r\n\r\n"},
	{"no rport, NAT source", "198.51.100.7:40123", "REGISTER sip:acme.example SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKa2\r\n" +
		"From: \"Alice Smith\" <sip:7001@acme.example;user=phone>;tag=x1\r\nTo: \"Alice\" <sip:7001@acme.example>;foo=bar\r\n" +
		"Call-ID: c2\r\nCSeq: 2147483647 REGISTER\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"},
	{"rport with received already there", "203.0.113.9:5999", "REGISTER sip:acme.example SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 10.0.0.5;received=1.1.1.1;rport;branch=z9hG4bKa3\r\n" +
		"From: <sip:7001@acme.example>;tag=x\r\nTo: <sip:7001@acme.example>\r\nCall-ID: c3\r\nCSeq: 7 REGISTER\r\n\r\n"},
	{"several Vias, lines and commas, rport below the top", "192.0.2.1:5060", "REGISTER sip:acme.example SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP proxy.example;branch=z9hG4bKtop;x=\"a b\", SIP/2.0/TCP 192.0.2.20:5070;branch=z9hG4bKmid;rport\r\n" +
		"Via: SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bKlow;rport;received=10.9.9.9\r\n" +
		"From: <sip:7001@acme.example>;tag=x\r\nTo: <sip:7001@acme.example>\r\nCall-ID: c4\r\nCSeq: 100 REGISTER\r\n" +
		"Contact: <sip:7001@10.1.1.1>\r\n\r\n"},
	{"rport with a value stays", "192.0.2.1:6000", "REGISTER sip:acme.example SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.1:5060;rport=6000;branch=z9hG4bKa5\r\n" +
		"From: <sip:7001@acme.example>;tag=x\r\nTo: <sip:7001@acme.example>\r\nCall-ID: c5\r\nCSeq: 1 REGISTER\r\n\r\n"},
	{"IPv6 source and Via", "[2001:db8::1]:5060", "REGISTER sip:acme.example SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKa6;rport\r\n" +
		"From: <sip:7001@acme.example>;tag=x\r\nTo: <sip:7001@acme.example>\r\nCall-ID: c6@[2001:db8::1]\r\nCSeq: 1 REGISTER\r\n" +
		"Contact: <sip:7001@[2001:db8::1]:5060>\r\n\r\n"},
	{"IPv6 without port, link-local source with a zone", "[fe80::1%eth0]:5060", "REGISTER sip:acme.example SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP [fe80::1];rport;branch=z9hG4bKa7\r\n" +
		"From: <sip:7001@acme.example>;tag=x\r\nTo: <sip:7001@acme.example>\r\nCall-ID: c7\r\nCSeq: 1 REGISTER\r\n\r\n"},
	{"IPv4-mapped IPv6 Via host", "[::ffff:192.0.2.1]:5060", "REGISTER sip:acme.example SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP [::ffff:192.0.2.1]:5060;branch=z9hG4bKa8;rport\r\n" +
		"From: <sip:7001@acme.example>;tag=x\r\nTo: <sip:7001@acme.example>\r\nCall-ID: c8\r\nCSeq: 1 REGISTER\r\n\r\n"},
	{"compact forms and odd casing", "192.0.2.10:5060", "REGISTER sip:acme.example SIP/2.0\r\n" +
		"v: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa9;rport\r\n" +
		"VIA: SIP/2.0/UDP 192.0.2.11;branch=z9hG4bKa9b\r\n" +
		"f: <sip:7001@acme.example>;tag=x\r\nt: sip:7001@acme.example\r\ni: c9\r\ncseq: 3 REGISTER\r\n" +
		"m: <sip:7001@192.0.2.10>;expires=60, <sip:7001@192.0.2.99>\r\nCONTACT: <sip:7001@192.0.2.98>\r\nl: 0\r\n\r\n"},
	{"URIs with passwords, params, headers, IPv6 and other schemes", "192.0.2.10:5060", "REGISTER sip:acme.example SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKu1;rport\r\n" +
		"From: \"Bob\" <sips:bob:secret@[2001:db8::5]:5061;transport=tls;lr;x=1?subject=hi&p=1>;tag=y;z\r\n" +
		"To: <tel:+15551234;phone-context=example.com>\r\nCall-ID: u1\r\nCSeq: 1 REGISTER\r\n\r\n"},
	{"OPTIONS with Record-Route", "192.0.2.30:5060", "OPTIONS sip:acme.example SIP/2.0\r\n" +
		"Record-Route: <sip:p1.example;lr>, <sip:p2.example;lr;transport=tcp>\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKo1;rport\r\n" +
		"record-route: <sip:p3.example;lr>\r\n" +
		"From: <sip:7001@acme.example>;tag=1\r\nTo: <sip:acme.example>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\nAccept: application/sdp\r\n\r\n"},
	{"OPTIONS in a dialog keeps its To tag", "192.0.2.30:5060", "OPTIONS sip:acme.example SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bKo2\r\n" +
		"From: <sip:7001@acme.example>;tag=1\r\nTo: <sip:acme.example>;tag=theirs\r\nCall-ID: o2\r\nCSeq: 9 OPTIONS\r\n\r\n"},
}

// directExtras are the headers each fast-path answer appends after the
// ones taken from the request.
type directAnswer struct {
	code   int
	reason string
	extra  [][2]string
	bound  []location.Binding // 200 to REGISTER: one Contact each
}

var directAnswers = []directAnswer{
	{code: 401, reason: "Unauthorized", extra: [][2]string{
		{"WWW-Authenticate", `Digest realm="acme.example", nonce="AAAAAGZmZmZm", algorithm=MD5, qop="auth"`},
		{"WWW-Authenticate", `Digest realm="acme.example", nonce="AAAAAGZmZmZm", algorithm=SHA-256, qop="auth", stale=true`},
	}},
	{code: 200, reason: "OK", bound: []location.Binding{
		{Contact: "sip:7001@192.0.2.10:5060;transport=udp"},
		{Contact: "sip:7001@[2001:db8::1]:5060"},
		{Contact: "sip:7001@10.0.0.5:5062;transport=tcp", SIPInstance: "<urn:uuid:00000000-0000-1000-8000-000a95a0e128>", RegID: 2},
	}, extra: [][2]string{{"Date", "Mon, 07 Dec 2026 23:00:00 UTC"}}},
	{code: 200, reason: "OK", extra: [][2]string{{"Allow", allowed}, {"Accept", "application/sdp"}, {"Accept-Language", "en"}}},
}

// buildBoth answers req both ways: through a *sip.Response as the generic
// path (and statelessTx.Respond) serialises it, and directly.
func buildBoth(req *sip.Request, a directAnswer) (generic, direct []byte) {
	for _, tx := range []sip.ServerTransaction{newFakeTx(), &statelessTx{}} {
		r := newResponse(tx, req, a.code, a.reason)
		for i := range a.bound {
			r.addContact(&a.bound[i], 3600+i)
		}
		for _, h := range a.extra {
			r.add(h[0], h[1])
		}
		if r.buf == nil {
			r.res.AppendHeader(sip.NewHeader("Server", "switchboard"))
			var b bytes.Buffer
			r.res.StringWrite(&b)
			generic = b.Bytes()
			continue
		}
		direct = bytes.Clone(r.finish("switchboard"))
		responseBuffers.Put(r.buf)
	}
	return generic, direct
}

// toTag is the To tag of a serialised response.
func toTag(t testing.TB, b []byte) (*sip.Response, string) {
	t.Helper()
	msg, err := sip.NewParser().ParseSIP(b)
	if err != nil {
		t.Fatalf("response does not parse: %v\n%s", err, b)
	}
	res, ok := msg.(*sip.Response)
	if !ok {
		t.Fatalf("parsed a %T, want a response:\n%s", msg, b)
	}
	if res.To() == nil {
		return res, ""
	}
	tag, _ := res.To().Params.Get("tag")
	return res, tag
}

// TestDirectResponseMatchesSipgo: the fast path's directly written
// answers are the responses sipgo builds and serialises, header for
// header in the same order (Vias with received and rport included), once
// both are parsed again; and byte for byte, the random To tag aside.
func TestDirectResponseMatchesSipgo(t *testing.T) {
	for _, c := range directCases {
		for _, a := range directAnswers {
			t.Run(c.name+"/"+a.reason+a.extra[0][0], func(t *testing.T) {
				req := parseRequest(t, []byte(c.raw))
				req.SetSource(c.source)
				generic, direct := buildBoth(req, a)
				gres, gtag := toTag(t, generic)
				dres, dtag := toTag(t, direct)
				reqTag, had := req.To().Params.Get("tag")
				switch {
				case had && (gtag != reqTag || dtag != reqTag):
					t.Errorf("To tag: sipgo %q, direct %q; want the request's %q", gtag, dtag, reqTag)
				case !had && (gtag == "" || dtag == "" || gtag == dtag):
					t.Errorf("To tag: sipgo %q, direct %q; want a fresh one each", gtag, dtag)
				}
				if gres.StartLine() != dres.StartLine() {
					t.Errorf("status line %q, sipgo %q", dres.StartLine(), gres.StartLine())
				}
				gh, dh := gres.Headers(), dres.Headers()
				if len(gh) != len(dh) {
					t.Errorf("%d headers, sipgo %d:\n%s\nsipgo:\n%s", len(dh), len(gh), direct, generic)
				}
				for i := range min(len(gh), len(dh)) {
					gv, dv := gh[i].Value(), dh[i].Value()
					if !had && gh[i].Name() == "To" {
						gv, dv = strings.Replace(gv, gtag, "TAG", 1), strings.Replace(dv, dtag, "TAG", 1)
					}
					if gh[i].Name() != dh[i].Name() || gv != dv {
						t.Errorf("header %d: %s: %s\n  sipgo %s: %s", i, dh[i].Name(), dv, gh[i].Name(), gv)
					}
				}
				if !had {
					generic = bytes.Replace(generic, []byte(";tag="+gtag), []byte(";tag=TAG"), 1)
					direct = bytes.Replace(direct, []byte(";tag="+dtag), []byte(";tag=TAG"), 1)
				}
				if !bytes.Equal(generic, direct) {
					t.Errorf("bytes differ:\n%s\nsipgo:\n%s", direct, generic)
				}
			})
		}
	}
}

// TestDirectResponseVia: the cases above compare with sipgo; this pins
// what sipgo does, so that a change of it (or of the cases) is noticed.
func TestDirectResponseVia(t *testing.T) {
	for _, tt := range []struct{ source, via, want string }{
		{"192.0.2.10:5060", "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa;rport",
			"SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa;rport=5060;received=192.0.2.10"},
		{"203.0.113.9:5999", "SIP/2.0/UDP 10.0.0.5;received=1.1.1.1;rport;branch=z9hG4bKb",
			"SIP/2.0/UDP 10.0.0.5;received=203.0.113.9;rport=5999;branch=z9hG4bKb"},
		{"[2001:db8::1]:5060", "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKc;rport",
			"SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKc;rport=5060;received=2001:db8::1"},
		{"192.0.2.1:6000", "SIP/2.0/UDP 192.0.2.1:5060;rport=6000;branch=z9hG4bKd",
			"SIP/2.0/UDP 192.0.2.1:5060;rport=6000;branch=z9hG4bKd"},
	} {
		req := parseRequest(t, []byte("OPTIONS sip:acme.example SIP/2.0\r\nVia: "+tt.via+
			"\r\nFrom: <sip:a@acme.example>;tag=1\r\nTo: <sip:acme.example>\r\nCall-ID: v\r\nCSeq: 1 OPTIONS\r\n\r\n"))
		req.SetSource(tt.source)
		_, direct := buildBoth(req, directAnswers[2])
		if got := headerLine(string(direct), "Via"); got != tt.want {
			t.Errorf("Via %s from %s answered with\n  %s, want\n  %s", tt.via, tt.source, got, tt.want)
		}
	}
}

// withoutNewTag replaces the tag a response added to To (the last
// parameter of its To line) with "TAG".
func withoutNewTag(b []byte) []byte {
	i := bytes.Index(b, []byte("\r\nTo: "))
	if i < 0 {
		return b
	}
	end := bytes.Index(b[i+2:], []byte("\r\n"))
	if end < 0 {
		return b
	}
	end += i + 2
	t := bytes.LastIndex(b[i:end], []byte(";tag="))
	if t < 0 {
		return b
	}
	t += i + len(";tag=")
	return slices.Concat(b[:t], []byte("TAG"), b[end:])
}

// FuzzDirectResponse: for any request the fast path would answer, the
// direct writer does not panic and writes what sipgo builds, the To tag
// aside: so its answer parses whenever sipgo's does. (sipgo's own does
// not always: it accepts "Via: //" or "From: u:>" and prints them back
// as they came; the direct writer does the same rather than differ.)
func FuzzDirectResponse(f *testing.F) {
	for _, c := range directCases {
		f.Add([]byte(c.raw), c.source[0] == '[')
	}
	f.Fuzz(func(t *testing.T, raw []byte, v6 bool) {
		msg, err := sip.NewParser().ParseSIP(raw)
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok || req.Via() == nil {
			return // stateless leaves these to sipgo
		}
		req.SetSource("192.0.2.10:5060")
		if v6 {
			req.SetSource("[2001:db8::10]:5060")
		}
		if code, _, _ := check(req); code != 0 {
			return // answered with the generic path
		}
		_, had := req.To().Params.Get("tag")
		for _, a := range directAnswers {
			generic, direct := buildBoth(req, a)
			if _, err := sip.NewParser().ParseSIP(generic); err == nil {
				toTag(t, direct) // fails the test if it does not parse
			}
			if !had {
				generic, direct = withoutNewTag(generic), withoutNewTag(direct)
			}
			if !bytes.Equal(generic, direct) {
				t.Fatalf("bytes differ:\n%q\nsipgo:\n%q", direct, generic)
			}
		}
	})
}

// TestSourceString: the fast path's source string is the *net.UDPAddr's.
func TestSourceString(t *testing.T) {
	for _, a := range []*net.UDPAddr{
		{IP: net.IPv4(192, 0, 2, 10).To4(), Port: 5060},
		{IP: net.IPv4(192, 0, 2, 10), Port: 5060}, // v4-mapped, from a dual-stack socket
		{IP: net.ParseIP("2001:db8::1"), Port: 40000},
		{IP: net.ParseIP("fe80::1"), Port: 1, Zone: "eth0"},
		{IP: net.IPv4(127, 0, 0, 1).To4(), Port: 65535},
	} {
		if got, want := sourceString(a.AddrPort()), a.String(); got != want {
			t.Errorf("sourceString(%#v) = %q, want %q", a, got, want)
		}
	}
}
