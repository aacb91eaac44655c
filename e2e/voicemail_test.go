package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/media"
)

// vmDirectory: vic has voicemail (PIN 1234, the 0.4 s "short" greeting)
// and no phone; his direct number is +14155550120.
const vmDirectory = `tenants:
  - domain: acme.example
    name: Acme Inc
    users:
      - {id: alice, name: Alice Anders, extensions: ["7001"], password: alice7001}
      - id: vic
        name: Vic Voicemail
        extensions: ["7020"]
        password: vic7020
        direct_number: "+14155550120"
        voicemail: {enabled: true, pin: "1234", greeting: short, after: 2s}
`

var vic = user{"vic", "7020", "vic7020"}

const vmToken = "vm-test-token"

// toneFreq is the tone the caller leaves as its message.
const toneFreq = 1200.0

// sendTone sends d of a toneFreq sine as PCMU frames, paced at 20 ms.
func sendTone(p *mediaPhone, d time.Duration) {
	pcm := make([]int16, 160)
	n := 0
	for range int(d / (20 * time.Millisecond)) {
		for i := range pcm {
			pcm[i] = int16(6000 * math.Sin(2*math.Pi*toneFreq*float64(n)/8000))
			n++
		}
		p.send(0, false, media.PCMU.Encode(nil, pcm), nil)
		time.Sleep(20 * time.Millisecond)
	}
}

// goertzel is the power of freq in pcm (8 kHz), normalised by length.
func goertzel(pcm []int16, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/8000)
	var s1, s2 float64
	for _, v := range pcm {
		s := float64(v) + k*s1 - s2
		s2, s1 = s1, s
	}
	return (s1*s1 + s2*s2 - k*s1*s2) / float64(len(pcm)*len(pcm))
}

// callAs places a call from the media phone as user u (answering the
// proxy's digest challenge).
func (p *mediaPhone) callAs(number string, u user, hdrs ...sip.Header) {
	p.t.Helper()
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: number, Host: domain})
	req.SetDestination(p.srv.Addr)
	req.SetTransport("UDP")
	f := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: u.ext, Host: domain}, Params: sip.NewParams()}
	f.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(f)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: number, Host: domain}, Params: sip.NewParams()})
	cid := sip.CallIDHeader(fmt.Sprintf("media-%s-%d@e2e", p.name, time.Now().UnixNano()))
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<sip:%s@%s>", u.ext, p.addr)))
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(p.sdp())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.client.Do(ctx, req)
	if err != nil || res.StatusCode != 407 {
		p.t.Fatalf("%s: INVITE %s: %v %v, want 407", p.name, number, res, err)
	}
	tx, err := p.client.TransactionDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: u.ext, Password: u.password})
	if err != nil {
		p.t.Fatalf("%s: INVITE with credentials: %v", p.name, err)
	}
	p.mu.Lock()
	p.invite, p.ok, p.local, p.cseq, p.resps, p.hungUp = req, nil, true, req.CSeq().SeqNo, nil, false
	p.mu.Unlock()
	go p.follow(tx)
}

// api calls the admin API of srv.
func api(t *testing.T, srv *server, method, path, accept string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+srv.HTTP+"/api/v1"+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+vmToken)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

type vmMessage struct {
	ID       string  `json:"id"`
	From     string  `json:"from"`
	To       string  `json:"to"`
	Duration float64 `json:"duration_s"`
	New      bool    `json:"new"`
}

// waitSummary waits for a NOTIFY of the subscription whose body says
// Voice-Message: want.
func waitSummary(t *testing.T, s *subscription, want string, within time.Duration) {
	t.Helper()
	waitUntil(t, within, "NOTIFY Voice-Message: "+want, func() bool {
		ns := s.notifies()
		return len(ns) > 0 && strings.Contains(string(ns[len(ns)-1].Body()), "Voice-Message: "+want+"\r\n")
	})
}

func vmServer(t *testing.T, redisURL, carrier, prompts string, portBase int) *server {
	return start(t, options{Directory: vmDirectory, Trunk: carrier, TrunkFrom: "127.0.0.2/32", Redis: redisURL, AdminToken: vmToken,
		Media: fmt.Sprintf("  address: 127.0.0.1\n  ports: \"%d-%d\"\n  prompts: %q\n  inactivity: 5s\n", portBase, portBase+2*b2bPorts-1, prompts)})
}

// TestVoicemailAcrossInstances: a carrier call to vic (no phone) is
// answered by instance A and its tone recorded; the API on B lists it and
// serves a WAV holding that tone; vic's lamp, subscribed on B, goes to 1/0;
// *97 on B with the PIN plays the tone back, 7 deletes it and the lamp goes
// to 0/0.
func TestVoicemailAcrossInstances(t *testing.T) {
	r := startRedis(t)
	pstn := newMediaPhone(t, nil, "pstn", "127.0.0.2", 0x11)
	carrier := newMediaPhone(t, nil, "carrier", "127.0.0.2", 0x22)
	prompts := t.TempDir()
	writeTone(t, filepath.Join(prompts, "short.wav"), 400*time.Millisecond)
	base := 21000 + 100*int(b2bPortBase.Add(2))
	a := vmServer(t, r.URL(), carrier.addr, prompts, base)
	b := vmServer(t, r.URL(), carrier.addr, prompts, base+100)
	pstn.srv, carrier.srv = a, a

	lampPhone := newPeer(t, b, "vic-lamp", "127.0.0.1", "UDP")
	sub, res := lampPhone.subscribe("7020", "message-summary", vic, 600)
	if res.StatusCode != 200 {
		t.Fatalf("SUBSCRIBE message-summary = %d, want 200", res.StatusCode)
	}
	waitSummary(t, sub, "0/0", 5*time.Second)
	b.waitMetric(t, "switchboard_mwi_subscriptions_active", 1, 5*time.Second)

	// Leave a message: greeting (0.4 s) and beep (0.4 s), then 2 s of tone, then #.
	pstn.mute.Store(true)
	pstn.call("+14155550120", "+14085551234", nil)
	pstn.waitFinal(200, 5*time.Second)
	waitUntil(t, 5*time.Second, "greeting and beep", func() bool { return pstn.received(0) >= 40 })
	time.Sleep(300 * time.Millisecond)
	sendTone(pstn, 2*time.Second)
	pstn.pressRTP('#')
	a.waitMetric(t, `switchboard_voicemail_messages_total{result="saved"}`, 1, 5*time.Second)
	pstn.bye()

	// Any instance serves any message.
	code, body := api(t, b, "GET", "/tenants/acme.example/users/vic/voicemail", "", nil)
	var msgs []vmMessage
	if code != 200 || json.Unmarshal(body, &msgs) != nil || len(msgs) != 1 {
		t.Fatalf("GET voicemail on B = %d %s, want one message", code, body)
	}
	m := msgs[0]
	if !m.New || m.From != "+14085551234" || m.Duration < 1.5 || m.Duration > 4 {
		t.Errorf("message = %+v, want new, from +14085551234, about 2 s", m)
	}
	code, wav := api(t, b, "GET", "/tenants/acme.example/users/vic/voicemail/"+m.ID, "audio/wav", nil)
	if code != 200 {
		t.Fatalf("GET wav = %d %s", code, wav)
	}
	pcm, err := media.ReadWAV(bytes.NewReader(wav))
	if err != nil {
		t.Fatalf("recorded WAV: %v", err)
	}
	if on, off := goertzel(pcm, toneFreq), goertzel(pcm, 700); on < 50*off || on < 1e4 {
		t.Errorf("recording: power at %v Hz %.0f, at 700 Hz %.0f: the tone is not in it", toneFreq, on, off)
	}
	waitSummary(t, sub, "1/0", 5*time.Second)
	if n := sub.notifies(); !strings.Contains(string(n[len(n)-1].Body()), "Messages-Waiting: yes") {
		t.Errorf("NOTIFY body %q, want Messages-Waiting: yes", n[len(n)-1].Body())
	}

	// *97 on B: PIN, 1 plays the tone back, 7 deletes the message.
	vicPhone := newMediaPhone(t, b, "vic", "127.0.0.1", 0x33)
	vicPhone.callAs("*97", vic)
	vicPhone.waitFinal(200, 5*time.Second)
	time.Sleep(500 * time.Millisecond)
	vicPhone.pressRTPKeys("1234#")
	// "You have 1 new messages" then the menu: 1 plays at once (barge-in).
	time.Sleep(1500 * time.Millisecond)
	before := vicPhone.received(0)
	vicPhone.pressRTP('1')
	waitSummary(t, sub, "0/1", 10*time.Second) // heard: no longer new
	if got := vicPhone.received(0) - before; got < 50 {
		t.Errorf("%d packets after 1, want the 2 s message", got)
	}
	vicPhone.pressRTP('7')
	waitSummary(t, sub, "0/0", 5*time.Second)
	if code, body := api(t, a, "GET", "/tenants/acme.example/users/vic/voicemail", "", nil); code != 200 || string(bytes.TrimSpace(body)) != "[]" {
		t.Errorf("after 7: GET voicemail = %d %s, want []", code, body)
	}
	vicPhone.pressRTP('*')
	waitUntil(t, 10*time.Second, "BYE after *", vicPhone.gotBye)
}

// TestVoicemailWrongPINHangsUp: three wrong PINs end the call.
func TestVoicemailWrongPINHangsUp(t *testing.T) {
	carrier := newMediaPhone(t, nil, "carrier", "127.0.0.2", 0x22)
	prompts := t.TempDir()
	writeTone(t, filepath.Join(prompts, "short.wav"), 400*time.Millisecond)
	base := 21000 + 100*int(b2bPortBase.Add(1))
	srv := vmServer(t, "", carrier.addr, prompts, base)
	p := newMediaPhone(t, srv, "vic", "127.0.0.1", 0x33)
	p.callAs("*97", vic)
	p.waitFinal(200, 5*time.Second)
	time.Sleep(500 * time.Millisecond)
	for range 3 {
		p.pressRTPKeys("9999#")
		time.Sleep(2500 * time.Millisecond) // "That PIN is not correct", then the PIN prompt again
	}
	waitUntil(t, 15*time.Second, "BYE after three wrong PINs", p.gotBye)
	srv.wantMetrics(t, map[string]float64{"switchboard_media_sessions_active": 0, "switchboard_rtp_ports_available": b2bPorts, callsActive: 0}, 10*time.Second)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
