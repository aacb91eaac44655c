package media

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pion/sdp/v3"
)

var update = flag.Bool("update", false, "rewrite golden files")

var testLocal = Local{Addr: netip.MustParseAddr("203.0.113.5"), Port: 20000, SessionID: 42, Version: 1}

func TestNegotiate(t *testing.T) {
	alice := netip.MustParseAddrPort("198.51.100.7:30000")
	tests := []struct {
		offer string // testdata/sdp/NAME.offer
		local Local
		want  Negotiated
		err   error
	}{
		{"pcmu-only", testLocal, Negotiated{RemoteRTP: alice, PayloadType: 0, Codec: PCMU}, nil},
		{"pcma-only", testLocal, Negotiated{RemoteRTP: alice, PayloadType: 8, Codec: PCMA}, nil},
		{"pcmu-pcma-te101", testLocal, Negotiated{RemoteRTP: alice, PayloadType: 0, Codec: PCMU, DTMFPayloadType: 101}, nil},
		{"pcma-pcmu-te96", testLocal, Negotiated{RemoteRTP: netip.MustParseAddrPort("198.51.100.7:30002"), PayloadType: 8, Codec: PCMA, DTMFPayloadType: 96}, nil},
		{"pcma-pcmu-te96", Local{Addr: testLocal.Addr, Port: 20000, Codecs: []Codec{PCMU}},
			Negotiated{RemoteRTP: netip.MustParseAddrPort("198.51.100.7:30002"), PayloadType: 0, Codec: PCMU, DTMFPayloadType: 96}, nil},
		{"unsupported", testLocal, Negotiated{}, ErrNoCommonCodec},
		{"hold-sendonly", testLocal, Negotiated{RemoteRTP: alice, Codec: PCMU, DTMFPayloadType: 101, Direction: RecvOnly, OnHold: true}, nil},
		{"hold-zero-address", testLocal, Negotiated{Codec: PCMU, Direction: RecvOnly, OnHold: true}, nil},
		{"hold-inactive", testLocal, Negotiated{RemoteRTP: alice, Codec: PCMU, Direction: Inactive, OnHold: true}, nil},
		{"recvonly", testLocal, Negotiated{RemoteRTP: alice, Codec: PCMU, Direction: SendOnly}, nil},
		{"missing-c", testLocal, Negotiated{}, ErrMalformed},
		{"media-level-c", testLocal, Negotiated{RemoteRTP: netip.MustParseAddrPort("[2001:db8::7]:30000"), PayloadType: 8, Codec: PCMA}, nil},
		{"audio-video", testLocal, Negotiated{RemoteRTP: alice, Codec: PCMU, DTMFPayloadType: 101}, nil},
		{"video-first", testLocal, Negotiated{RemoteRTP: netip.MustParseAddrPort("198.51.100.7:30004"), PayloadType: 8, Codec: PCMA}, nil},
		{"srtp-only", testLocal, Negotiated{}, ErrNoCommonCodec},
		{"garbage", testLocal, Negotiated{}, ErrMalformed},
		{"no-media", testLocal, Negotiated{}, ErrNoCommonCodec},
		{"hostname-c", testLocal, Negotiated{}, ErrMalformed},
		{"dynamic-pcmu", testLocal, Negotiated{RemoteRTP: alice, PayloadType: 97, Codec: PCMU}, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v", tt.offer, tt.local.Codecs), func(t *testing.T) {
			offer := readTestdata(t, "sdp/"+tt.offer+".offer")
			answer, got, err := Negotiate(offer, tt.local)
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("Negotiate(%s) error = %v, want %v", tt.offer, err, tt.err)
			}
			if got != tt.want {
				t.Errorf("Negotiate(%s) = %+v, want %+v", tt.offer, got, tt.want)
			}
			if err != nil {
				return
			}
			// The answer has one m= line per offered one, in order (RFC 3264 §6).
			var o, a sdp.SessionDescription
			if err := o.Unmarshal(offer); err != nil {
				t.Fatal(err)
			}
			if err := a.Unmarshal(answer); err != nil {
				t.Fatalf("answer does not parse: %v\n%s", err, answer)
			}
			if len(a.MediaDescriptions) != len(o.MediaDescriptions) {
				t.Fatalf("answer has %d m= lines, offer %d", len(a.MediaDescriptions), len(o.MediaDescriptions))
			}
			for i, md := range a.MediaDescriptions {
				if md.MediaName.Media != o.MediaDescriptions[i].MediaName.Media {
					t.Errorf("answer m= line %d is %s, offer's is %s", i, md.MediaName.Media, o.MediaDescriptions[i].MediaName.Media)
				}
			}
		})
	}
}

// TestNegotiateGolden compares each answer (or error) with
// testdata/sdp/NAME.answer; go test -run Golden -update rewrites them.
func TestNegotiateGolden(t *testing.T) {
	offers, _ := filepath.Glob("testdata/sdp/*.offer")
	if len(offers) == 0 {
		t.Fatal("no testdata/sdp/*.offer")
	}
	for _, path := range offers {
		name := strings.TrimSuffix(filepath.Base(path), ".offer")
		t.Run(name, func(t *testing.T) {
			offer, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := Negotiate(offer, testLocal)
			if err != nil {
				got = []byte("error: " + err.Error() + "\n")
			}
			golden := strings.TrimSuffix(path, ".offer") + ".answer"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run Golden -update)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("answer to %s mismatch (-want +got):\n%s", name, diff)
			}
		})
	}
}

func TestOfferAndParseAnswer(t *testing.T) {
	local := Local{Addr: netip.MustParseAddr("203.0.113.5"), Port: 20002, SessionID: 7}
	offer := Offer(local)
	want := "m=audio 20002 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
	if !bytes.HasSuffix(offer, []byte(want)) || !bytes.Contains(offer, []byte("c=IN IP4 203.0.113.5\r\n")) {
		t.Errorf("Offer() =\n%s\nwant it to end with\n%s", offer, want)
	}

	// The far end answers our offer with Negotiate: both sides agree.
	far := Local{Addr: netip.MustParseAddr("198.51.100.9"), Port: 40000, Codecs: []Codec{PCMA}}
	answer, farNeg, err := Negotiate(offer, far)
	if err != nil {
		t.Fatal(err)
	}
	if farNeg.RemoteRTP != netip.MustParseAddrPort("203.0.113.5:20002") || farNeg.Codec != PCMA || farNeg.DTMFPayloadType != 101 {
		t.Errorf("far end negotiated %+v", farNeg)
	}
	got, err := ParseAnswer(answer, local)
	if err != nil {
		t.Fatal(err)
	}
	wantNeg := Negotiated{RemoteRTP: netip.MustParseAddrPort("198.51.100.9:40000"), PayloadType: 8, Codec: PCMA, DTMFPayloadType: 101}
	if got != wantNeg {
		t.Errorf("ParseAnswer() = %+v, want %+v", got, wantNeg)
	}

	tests := []struct {
		name, answer string
		want         Negotiated
		err          error
	}{
		{"hold", "v=0\r\no=b 1 1 IN IP4 198.51.100.9\r\ns=-\r\nc=IN IP4 198.51.100.9\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=recvonly\r\n",
			Negotiated{RemoteRTP: netip.MustParseAddrPort("198.51.100.9:40000"), Codec: PCMU, Direction: SendOnly}, nil},
		{"rejected", "v=0\r\no=b 1 1 IN IP4 198.51.100.9\r\ns=-\r\nc=IN IP4 198.51.100.9\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n", Negotiated{}, ErrNoCommonCodec},
		{"codec we did not offer", "v=0\r\no=b 1 1 IN IP4 198.51.100.9\r\ns=-\r\nc=IN IP4 198.51.100.9\r\nt=0 0\r\nm=audio 40000 RTP/AVP 18\r\n", Negotiated{}, ErrNoCommonCodec},
		{"garbage", "v=0\r\nnonsense", Negotiated{}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAnswer([]byte(tt.answer), local)
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("ParseAnswer error = %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("ParseAnswer() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDirection(t *testing.T) {
	for _, tt := range []struct {
		d               Direction
		name            string
		reverse         Direction
		sends, receives bool
	}{
		{SendRecv, "sendrecv", SendRecv, true, true},
		{SendOnly, "sendonly", RecvOnly, true, false},
		{RecvOnly, "recvonly", SendOnly, false, true},
		{Inactive, "inactive", Inactive, false, false},
	} {
		if tt.d.String() != tt.name || tt.d.Reverse() != tt.reverse || tt.d.Sends() != tt.sends || tt.d.Receives() != tt.receives {
			t.Errorf("%v: String %q Reverse %v Sends %v Receives %v", tt.d, tt.d.String(), tt.d.Reverse(), tt.d.Sends(), tt.d.Receives())
		}
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
