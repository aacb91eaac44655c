package sip

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

// TestURIStringMatchesSipgo: uriString prints every URI as sipgo does.
func TestURIStringMatchesSipgo(t *testing.T) {
	for _, in := range []string{
		"sip:acme.example",
		"sip:7001@192.0.2.10:5060",
		"sip:7001@192.0.2.10:5060;transport=udp;ob",
		"sips:alice:secret@acme.example:5061;lr?Subject=hi&Priority=urgent",
		"sip:bob@[2001:db8::1]:5070;transport=tcp",
		"sip:[2001:db8::1]",
		"sip:bob@[::ffff:192.0.2.1]",
		"sip:alice@acme.example;maddr=\"a b\"",
		"sip:+14085551234@trunk.example;user=phone",
		"tel:+14085551234;phone-context=example.com",
		"urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
		"sip:%61lice@atlanta.com;transport=TCP",
		"SIP:UPPER@Example.COM:0",
	} {
		t.Run(in, func(t *testing.T) {
			var u sip.Uri
			if err := sip.ParseUri(in, &u); err != nil {
				t.Fatalf("sipgo does not parse this case any more: %v", err)
			}
			if got, want := uriString(&u), u.String(); got != want {
				t.Errorf("uriString(%q) = %q, want %q (sipgo)", in, got, want)
			}
		})
	}
	lr := sip.NewParams()
	lr.Add("lr", "")
	built := []sip.Uri{
		{Host: "acme.example"}, // no scheme
		{Scheme: "sip", User: "7001", Host: "2001:db8::2", Port: 5060},
		{Scheme: "sip", Host: "h", HierarhicalSlashes: true, UriParams: lr},
	}
	for _, u := range built {
		if got, want := uriString(&u), u.String(); got != want {
			t.Errorf("uriString(%+v) = %q, want %q (sipgo)", u, got, want)
		}
	}
}

func BenchmarkURIString(b *testing.B) {
	var u sip.Uri
	if err := sip.ParseUri("sip:7001@192.0.2.10:5060;transport=udp", &u); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = uriString(&u)
	}
}

// FuzzURIString: for whatever sipgo parses as a URI, uriString prints
// what sipgo prints.
func FuzzURIString(f *testing.F) {
	f.Add("sip:7001@192.0.2.10:5060;transport=udp?h=v")
	f.Add("sip:[2001:db8::1]:5060")
	f.Add("tel:+1408")
	f.Fuzz(func(t *testing.T, in string) {
		var u sip.Uri
		if sip.ParseUri(in, &u) != nil {
			return
		}
		if got, want := uriString(&u), u.String(); got != want {
			t.Errorf("uriString(%q) = %q, want %q (sipgo)", in, got, want)
		}
	})
}
