package auth

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the seed corpus in testdata/fuzz/FuzzVerify")

// fuzzSeeds are valid and broken headers for nonces issued at testEpoch with
// testSecret, so they stay valid in the committed corpus.
func fuzzSeeds() [][2]string {
	a, _ := New(Config{Secret: testSecret, Algorithms: []Algorithm{MD5, SHA256}})
	p := defaultPhone()
	md5ch := challenge{realm: testRealm, nonce: fixedNonce(a, testEpoch, 7, testRealm), algorithm: "MD5"}
	shach := challenge{realm: testRealm, nonce: fixedNonce(a, testEpoch, 8, testRealm), algorithm: "SHA-256"}
	valid := p.answer(md5ch)
	noQOP := p
	noQOP.noQOP = true
	return [][2]string{
		{valid, p.uri},
		{p.answer(shach), p.uri},
		{noQOP.answer(md5ch), p.uri},
		{strings.ReplaceAll(valid, ", ", ",\t "), "SIP:ACME.example;transport=tcp"},
		{strings.ReplaceAll(strings.ReplaceAll(valid, `"`, ""), "Digest", "DIGEST"), p.uri},
		{`Digest username="a\"b", realm="acme.example", nonce="x", uri="sip:[::1]:5060", response="00"`, "sip:[::1]:5060"},
		{`Digest username="7001", realm="acme.example", nonce="` + md5ch.nonce + `", uri="sip:7001@acme.example:5060;lr?x=y", response="0123456789abcdef0123456789abcdef", qop=auth, nc=ffffffff, cnonce=x`, "sip:7001@acme.example:5060"},
		{`Digest username="7001", realm="acme.example", nonce=, uri="sip:acme.example"`, p.uri},
		{`Digest username="7001", username="7001"`, p.uri},
		{`Digest realm="unterminated`, p.uri},
		{"Digest \x00\xff", p.uri},
		{"Basic dXNlcjpwYXNz", p.uri},
		{"", ""},
	}
}

func FuzzVerify(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, header, uri string) {
		// A fresh Authenticator each time: replay state would make the
		// outcome depend on earlier inputs.
		a, err := New(Config{Secret: testSecret, Algorithms: []Algorithm{MD5, SHA256}, Now: func() time.Time { return testEpoch }})
		if err != nil {
			t.Fatal(err)
		}
		user, err := a.Verify(Request{Method: "REGISTER", URI: uri, Realm: testRealm, Header: header}, testDirectory)
		switch {
		case err == nil && user != "7001" && user != "john":
			t.Errorf("Verify(%q) = %q, nil: not a directory user", header, user)
		case err != nil && (user != "" || Reason(err) == "other"):
			t.Errorf("Verify(%q) = %q, %v: want no user and a sentinel", header, user, err)
		}

		// What parses prints and parses back the same.
		c, err := parseCredentials(header)
		if err == nil {
			printed := formatCredentials(c)
			if again, err := parseCredentials(printed); err != nil || again != c {
				t.Errorf("parseCredentials(%q) = %+v; printed %q parses to %+v, %v", header, c, printed, again, err)
			}
			if uriMatch(c.uri, uri) != uriMatch(uri, c.uri) {
				t.Errorf("uriMatch(%q, %q) is not symmetric", c.uri, uri)
			}
		}
	})
}

// formatCredentials prints c with every value quoted, as a phone would.
func formatCredentials(c credentials) string {
	var b strings.Builder
	b.WriteString("Digest ")
	for i, kv := range [][2]string{
		{"username", c.username}, {"realm", c.realm}, {"nonce", c.nonce}, {"uri", c.uri}, {"response", c.response},
		{"algorithm", c.algorithm}, {"cnonce", c.cnonce}, {"qop", c.qop}, {"nc", c.nc}, {"opaque", c.opaque},
	} {
		if kv[1] == "" {
			continue
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(kv[0] + "=")
		writeQuoted(&b, kv[1])
	}
	return b.String()
}

// TestFuzzSeedCorpus keeps testdata/fuzz/FuzzVerify in step with fuzzSeeds;
// run with -update to rewrite it.
func TestFuzzSeedCorpus(t *testing.T) {
	// The first three seeds must succeed, so the fuzzer starts from the
	// deepest path.
	for i, s := range fuzzSeeds()[:3] {
		a, _ := New(Config{Secret: testSecret, Algorithms: []Algorithm{MD5, SHA256}, Now: func() time.Time { return testEpoch }})
		if _, err := a.Verify(Request{Method: "REGISTER", URI: s[1], Realm: testRealm, Header: s[0]}, testDirectory); err != nil {
			t.Errorf("seed %d: Verify(%q) = %v, want nil", i, s[0], err)
		}
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzVerify")
	for i, s := range fuzzSeeds() {
		name := filepath.Join(dir, fmt.Sprintf("seed-%02d", i))
		want := fmt.Sprintf("go test fuzz v1\nstring(%q)\nstring(%q)\n", s[0], s[1])
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(name)
		if err != nil || string(got) != want {
			t.Errorf("%s is out of date (err %v); run go test -run TestFuzzSeedCorpus -update", name, err)
		}
	}
}
