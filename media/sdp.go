package media

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Errors of the offer/answer functions; sip maps ErrNoCommonCodec to 488 Not
// Acceptable Here and ErrMalformed to 400 Bad Request.
var (
	ErrNoCommonCodec = errors.New("media: no common codec")
	ErrMalformed     = errors.New("media: malformed SDP")
)

// Ptime is the packetisation interval switchboard sends and advertises.
const Ptime = 20 // ms

// DefaultDTMFPayloadType is the telephone-event payload type of our offers.
const DefaultDTMFPayloadType = 101

// Direction is an SDP media direction attribute (RFC 3264 §5.1).
type Direction uint8

// The four directions; the zero value is SendRecv.
const (
	SendRecv Direction = iota
	SendOnly
	RecvOnly
	Inactive
)

// String returns the attribute name, e.g. "sendrecv".
func (d Direction) String() string {
	switch d {
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	}
	return "sendrecv"
}

// Reverse returns the direction the other side of a stream sees: the answer
// to a sendonly offer is recvonly, and so on.
func (d Direction) Reverse() Direction {
	switch d {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	}
	return d
}

// Sends reports whether the direction lets this side send.
func (d Direction) Sends() bool { return d == SendRecv || d == SendOnly }

// Receives reports whether the direction lets this side receive.
func (d Direction) Receives() bool { return d == SendRecv || d == RecvOnly }

// Local describes our end of a stream: what we put in an offer or answer.
type Local struct {
	Addr      netip.Addr // c= and o= address
	Port      int        // our RTP port
	SessionID uint64     // o= session id, fixed for a dialog
	Version   uint64     // o= session version; increase it with every new offer or answer in a dialog
	// Codecs are the codecs we accept, in our order of preference for
	// offers; nil means PCMU, PCMA. In an answer the offerer's order wins.
	Codecs []Codec
	// DTMFPayloadType is the telephone-event payload type of our offers;
	// 0 means DefaultDTMFPayloadType. Answers echo the offerer's.
	DTMFPayloadType uint8
	// Direction is the direction of our offers (SendOnly puts the peer on hold).
	Direction Direction
}

func (l Local) codecs() []Codec {
	if len(l.Codecs) == 0 {
		return []Codec{PCMU, PCMA}
	}
	return l.Codecs
}

func (l Local) dtmfPT() uint8 {
	if l.DTMFPayloadType == 0 {
		return DefaultDTMFPayloadType
	}
	return l.DTMFPayloadType
}

// Negotiated is the outcome of an offer/answer exchange: how to send to the
// peer and what to expect from it.
type Negotiated struct {
	RemoteRTP       netip.AddrPort // where the SDP says to send RTP
	PayloadType     uint8          // payload type of Codec on this stream
	Codec           Codec
	DTMFPayloadType uint8 // telephone-event payload type; 0 = none
	// Direction is what this side may do. It is the direction of our answer
	// (or the reverse of the answer to our offer), further limited when the
	// peer's address is 0.0.0.0 (the RFC 2543 way of holding a call): we
	// cannot send there.
	Direction Direction
	// OnHold reports that the peer put the stream on hold: it offered
	// sendonly or inactive, or the address 0.0.0.0.
	OnHold bool
}

// Sends reports whether this side should send RTP.
func (n Negotiated) Sends() bool { return n.Direction.Sends() && n.RemoteRTP.IsValid() }

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// Negotiate answers an SDP offer (RFC 3264). It accepts the first audio
// stream over RTP/AVP that carries PCMU or PCMA among local.Codecs, picking
// the first of them in the offer's order, plus telephone-event/8000 when
// offered (its payload type echoed); every other stream is refused with port
// 0. A sendonly offer gets a recvonly answer (hold), recvonly a sendonly one.
// Errors wrap ErrMalformed (unparsable, no c= for the chosen stream) or
// ErrNoCommonCodec.
func Negotiate(offer []byte, local Local) (answer []byte, sess Negotiated, err error) {
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(offer); err != nil {
		return nil, Negotiated{}, malformed("%v", err)
	}
	ans := newDescription(local)
	chosen := false
	for _, md := range sd.MediaDescriptions {
		if !chosen && isRTPAudio(md) {
			f := formatsOf(md)
			if pt, codec, ok := f.pick(local.codecs()); ok {
				n, err := remoteOf(&sd, md)
				if err != nil {
					return nil, Negotiated{}, err
				}
				n.PayloadType, n.Codec, n.DTMFPayloadType = pt, codec, f.dtmf
				offered := directionOf(&sd, md)
				n.OnHold = offered == SendOnly || offered == Inactive || n.RemoteRTP.Addr().IsUnspecified()
				dir := offered.Reverse()
				n.Direction = dir
				if n.RemoteRTP.Addr().IsUnspecified() {
					n.RemoteRTP = netip.AddrPort{}
					n.Direction = limitToReceive(dir)
				}
				ans.MediaDescriptions = append(ans.MediaDescriptions, audioMedia(local.Port, []uint8{pt}, codec, f.dtmf, dir))
				sess, chosen = n, true
				continue
			}
		}
		ans.MediaDescriptions = append(ans.MediaDescriptions, rejectedMedia(md))
	}
	if !chosen {
		return nil, Negotiated{}, ErrNoCommonCodec
	}
	out, err := ans.Marshal()
	if err != nil {
		return nil, Negotiated{}, fmt.Errorf("marshal answer: %w", err)
	}
	return out, sess, nil
}

// Offer returns our SDP offer: one audio stream with local.Codecs and
// telephone-event, ptime 20, local.Direction.
func Offer(local Local) []byte {
	d := newDescription(local)
	var pts []uint8
	for _, c := range local.codecs() {
		pts = append(pts, c.PayloadType())
	}
	d.MediaDescriptions = []*sdp.MediaDescription{audioMedia(local.Port, pts, 0, local.dtmfPT(), local.Direction)}
	out, err := d.Marshal()
	if err != nil {
		panic(err) // cannot happen: every field is ours
	}
	return out
}

// ParseAnswer reads the answer to Offer(offered). The first audio stream
// with a non-zero port is ours; its first format that we offered is the
// codec. A refused stream or an answer without any of our codecs is
// ErrNoCommonCodec; an unparsable one ErrMalformed.
func ParseAnswer(answer []byte, offered Local) (Negotiated, error) {
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(answer); err != nil {
		return Negotiated{}, malformed("%v", err)
	}
	for _, md := range sd.MediaDescriptions {
		if !isRTPAudio(md) {
			continue
		}
		f := formatsOf(md)
		pt, codec, ok := f.pick(offered.codecs())
		if !ok {
			return Negotiated{}, ErrNoCommonCodec
		}
		n, err := remoteOf(&sd, md)
		if err != nil {
			return Negotiated{}, err
		}
		n.PayloadType, n.Codec, n.DTMFPayloadType = pt, codec, f.dtmf
		theirs := directionOf(&sd, md)
		n.OnHold = theirs == SendOnly || theirs == Inactive || n.RemoteRTP.Addr().IsUnspecified()
		n.Direction = theirs.Reverse()
		if n.RemoteRTP.Addr().IsUnspecified() {
			n.RemoteRTP = netip.AddrPort{}
			n.Direction = limitToReceive(n.Direction)
		}
		return n, nil
	}
	return Negotiated{}, ErrNoCommonCodec
}

func limitToReceive(d Direction) Direction {
	if d.Receives() {
		return RecvOnly
	}
	return Inactive
}

func isRTPAudio(md *sdp.MediaDescription) bool {
	proto := strings.Join(md.MediaName.Protos, "/")
	return md.MediaName.Media == "audio" && md.MediaName.Port.Value != 0 &&
		(proto == "RTP/AVP" || proto == "RTP/AVPF")
}

// formats is what an m= line offers, in its order.
type formats struct {
	codecs []uint8 // payload types of PCMU/PCMA, in order
	byPT   map[uint8]Codec
	dtmf   uint8
}

func formatsOf(md *sdp.MediaDescription) formats {
	maps := map[uint8]string{}
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		ptText, enc, ok := strings.Cut(strings.TrimSpace(a.Value), " ")
		pt, err := strconv.ParseUint(ptText, 10, 7)
		if !ok || err != nil {
			continue
		}
		maps[uint8(pt)] = strings.ToLower(strings.TrimSpace(enc))
	}
	f := formats{byPT: map[uint8]Codec{}}
	for _, s := range md.MediaName.Formats {
		v, err := strconv.ParseUint(s, 10, 7)
		if err != nil {
			continue
		}
		pt := uint8(v)
		enc, mapped := maps[pt]
		switch {
		case !mapped && pt == 0, enc == "pcmu/8000", enc == "pcmu/8000/1":
			f.codecs, f.byPT[pt] = append(f.codecs, pt), PCMU
		case !mapped && pt == 8, enc == "pcma/8000", enc == "pcma/8000/1":
			f.codecs, f.byPT[pt] = append(f.codecs, pt), PCMA
		case enc == "telephone-event/8000" || enc == "telephone-event/8000/1":
			if f.dtmf == 0 {
				f.dtmf = pt
			}
		}
	}
	return f
}

func (f formats) pick(ours []Codec) (uint8, Codec, bool) {
	for _, pt := range f.codecs {
		if c := f.byPT[pt]; slices.Contains(ours, c) {
			return pt, c, true
		}
	}
	return 0, 0, false
}

// remoteOf returns the stream's RTP address: its own c= line, else the
// session's.
func remoteOf(sd *sdp.SessionDescription, md *sdp.MediaDescription) (Negotiated, error) {
	ci := md.ConnectionInformation
	if ci == nil {
		ci = sd.ConnectionInformation
	}
	if ci == nil || ci.Address == nil {
		return Negotiated{}, malformed("missing c= line")
	}
	if ci.NetworkType != "IN" || (ci.AddressType != "IP4" && ci.AddressType != "IP6") {
		return Negotiated{}, malformed("c= %s %s: want IN IP4 or IN IP6", ci.NetworkType, ci.AddressType)
	}
	addr, err := netip.ParseAddr(ci.Address.Address)
	if err != nil {
		return Negotiated{}, malformed("c= address %q is not an IP address", ci.Address.Address)
	}
	port := md.MediaName.Port.Value
	if port <= 0 || port > 65535 {
		return Negotiated{}, malformed("m= port %d out of range", port)
	}
	return Negotiated{RemoteRTP: netip.AddrPortFrom(addr.Unmap(), uint16(port))}, nil
}

func directionOf(sd *sdp.SessionDescription, md *sdp.MediaDescription) Direction {
	for _, attrs := range [][]sdp.Attribute{md.Attributes, sd.Attributes} {
		for _, a := range attrs {
			switch a.Key {
			case "sendrecv":
				return SendRecv
			case "sendonly":
				return SendOnly
			case "recvonly":
				return RecvOnly
			case "inactive":
				return Inactive
			}
		}
	}
	return SendRecv
}

func newDescription(l Local) *sdp.SessionDescription {
	addrType := "IP4"
	if l.Addr.Is6() && !l.Addr.Is4In6() {
		addrType = "IP6"
	}
	addr := l.Addr.Unmap().String()
	return &sdp.SessionDescription{
		Origin: sdp.Origin{
			Username: "switchboard", SessionID: l.SessionID, SessionVersion: l.Version,
			NetworkType: "IN", AddressType: addrType, UnicastAddress: addr,
		},
		SessionName:           "switchboard",
		ConnectionInformation: &sdp.ConnectionInformation{NetworkType: "IN", AddressType: addrType, Address: &sdp.Address{Address: addr}},
		TimeDescriptions:      []sdp.TimeDescription{{}},
	}
}

// audioMedia builds our audio m= section. codec is the codec of a single
// answered pt; 0 means the pts are our offered codecs in Local order.
func audioMedia(port int, pts []uint8, codec Codec, dtmf uint8, dir Direction) *sdp.MediaDescription {
	md := &sdp.MediaDescription{MediaName: sdp.MediaName{Media: "audio", Port: sdp.RangedPort{Value: port}, Protos: []string{"RTP", "AVP"}}}
	for _, pt := range pts {
		c := codec
		if c == 0 {
			c = PCMU
			if pt == 8 {
				c = PCMA
			}
		}
		md.MediaName.Formats = append(md.MediaName.Formats, strconv.Itoa(int(pt)))
		md.Attributes = append(md.Attributes, sdp.Attribute{Key: "rtpmap", Value: fmt.Sprintf("%d %s/8000", pt, c)})
	}
	if dtmf != 0 {
		md.MediaName.Formats = append(md.MediaName.Formats, strconv.Itoa(int(dtmf)))
		md.Attributes = append(md.Attributes,
			sdp.Attribute{Key: "rtpmap", Value: fmt.Sprintf("%d telephone-event/8000", dtmf)},
			sdp.Attribute{Key: "fmtp", Value: fmt.Sprintf("%d 0-16", dtmf)})
	}
	md.Attributes = append(md.Attributes,
		sdp.Attribute{Key: "ptime", Value: strconv.Itoa(Ptime)},
		sdp.Attribute{Key: dir.String()})
	return md
}

// rejectedMedia refuses a stream: same media, proto and formats, port 0.
func rejectedMedia(md *sdp.MediaDescription) *sdp.MediaDescription {
	formats := md.MediaName.Formats
	if len(formats) == 0 {
		formats = []string{"0"}
	}
	protos := md.MediaName.Protos
	if len(protos) == 0 {
		protos = []string{"RTP", "AVP"}
	}
	media := md.MediaName.Media
	if media == "" {
		media = "audio"
	}
	return &sdp.MediaDescription{MediaName: sdp.MediaName{Media: media, Protos: protos, Formats: formats}}
}
