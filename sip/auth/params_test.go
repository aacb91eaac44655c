package auth

import (
	"errors"
	"testing"
)

func TestParseCredentials(t *testing.T) {
	want := credentials{
		username: "7001", realm: "acme.example", nonce: "abc", uri: "sip:acme.example",
		response: "6629fae49393a05397450978507c4ef1", algorithm: "MD5", cnonce: "0a4f113b", qop: "auth", nc: "00000001",
	}
	tests := []struct {
		name string
		in   string
		want credentials
	}{
		{"canonical", `Digest username="7001", realm="acme.example", nonce="abc", uri="sip:acme.example", response="6629fae49393a05397450978507c4ef1", algorithm=MD5, cnonce="0a4f113b", qop=auth, nc=00000001`, want},
		{"any order, no spaces", `Digest nc=00000001,qop=auth,cnonce="0a4f113b",algorithm=MD5,response="6629fae49393a05397450978507c4ef1",uri="sip:acme.example",nonce="abc",realm="acme.example",username="7001"`, want},
		{"odd spacing and tabs", "  DIGEST \t username = \"7001\" ,realm=\"acme.example\" ,\tnonce=\"abc\",  uri=\"sip:acme.example\" , response=\"6629fae49393a05397450978507c4ef1\", algorithm=MD5 ,cnonce=\"0a4f113b\", qop=auth, nc=00000001  ", want},
		{"uppercase names, quoted tokens", `digest USERNAME="7001", Realm="acme.example", Nonce="abc", URI="sip:acme.example", Response="6629fae49393a05397450978507c4ef1", Algorithm="MD5", CNonce="0a4f113b", QOP="auth", NC="00000001"`, want},
		{"unquoted uri and nonce", `Digest username="7001", realm="acme.example", nonce=abc, uri=sip:acme.example, response=6629fae49393a05397450978507c4ef1, algorithm=MD5, cnonce=0a4f113b, qop=auth, nc=00000001`, want},
		{"empty list elements and unknown params", `Digest ,username="7001", realm="acme.example",, nonce="abc", uri="sip:acme.example", response="6629fae49393a05397450978507c4ef1", algorithm=MD5, cnonce="0a4f113b", qop=auth, nc=00000001, foo="bar, baz", userhash=false,`, want},
		{"escaped quotes", `Digest username="a\"b\\c", realm="r\\", nonce="n", uri="u", response="r"`, credentials{username: `a"b\c`, realm: `r\`, nonce: "n", uri: "u", response: "r"}},
		{"utf-8 realm", `Digest username="u", realm="Ünïcode", nonce="n", uri="u", response="r"`, credentials{username: "u", realm: "Ünïcode", nonce: "n", uri: "u", response: "r"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCredentials(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("parseCredentials(%q) = %+v, %v, want %+v, nil", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseCredentialsMalformed(t *testing.T) {
	const ok = `username="u", realm="r", nonce="n", uri="u", response="r"`
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"scheme only", "Digest"},
		{"scheme and spaces", "Digest   "},
		{"no space after scheme", `Digestusername="u", realm="r", nonce="n", uri="u", response="r"`},
		{"basic", "Basic dXNlcjpwYXNz"},
		{"missing username", `Digest realm="r", nonce="n", uri="u", response="r"`},
		{"missing response", `Digest username="u", realm="r", nonce="n", uri="u"`},
		{"empty quoted username", `Digest username="", realm="r", nonce="n", uri="u", response="r"`},
		{"duplicate", "Digest " + ok + `, realm="r"`},
		{"duplicate differing case", "Digest " + ok + `, REALM="r"`},
		{"unterminated quote", "Digest " + ok + `, opaque="x`},
		{"trailing backslash", "Digest " + ok + `, opaque="x\`},
		{"no equals", "Digest " + ok + `, stale`},
		{"empty unquoted value", "Digest " + ok + `, opaque=, qop=auth`},
		{"missing comma", `Digest username="u" realm="r", nonce="n", uri="u", response="r"`},
		{"text after quoted value", `Digest username="u"x, realm="r", nonce="n", uri="u", response="r"`},
		{"control char in quotes", "Digest " + ok + ", opaque=\"a\x00b\""},
		{"CRLF in quotes", "Digest " + ok + ", opaque=\"a\r\nb\""},
		{"CR unquoted", "Digest " + ok + ", opaque=a\rb"},
		{"quote inside unquoted", "Digest " + ok + `, opaque=a"b"`},
		{"key not a token", "Digest " + ok + `, {x}=1`},
		{"too long", "Digest " + ok + `, opaque="` + string(make([]byte, maxHeaderLen)) + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := parseCredentials(tt.in); !errors.Is(err, ErrMalformed) {
				t.Errorf("parseCredentials(%q) = %+v, %v, want %v", tt.in, got, err, ErrMalformed)
			}
		})
	}
}

func TestUsername(t *testing.T) {
	for _, tc := range []struct{ h, want string }{
		{`Digest username="7001", realm="acme.example", nonce="n", uri="sip:acme.example", response="r"`, "7001"},
		{`Digest username=alice,realm=r,nonce=n,uri=u,response=x`, "alice"},
		{`Digest realm="r"`, ""},
		{`Basic dXNlcjpwYXNz`, ""},
	} {
		if got := Username(tc.h); got != tc.want {
			t.Errorf("Username(%q) = %q, want %q", tc.h, got, tc.want)
		}
	}
}
