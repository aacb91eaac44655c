package e2e

import (
	"bytes"
	"net/http"
	"os"
	"testing"
	"time"
)

// An admin uploads an MP3 as the main menu's greeting: callers hear it
// (a pure 440 Hz tone) instead of the built-in spoken welcome.
func TestAttendantPlaysUploadedGreeting(t *testing.T) {
	t.Parallel()
	e := newB2BEnvWith(t, options{Directory: b2bDirectory, AdminToken: vmToken})
	mp3, err := os.ReadFile("../media/testdata/tone440.mp3")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("PUT", "http://"+e.srv.HTTP+"/api/v1/tenants/acme.example/attendants/main/greeting", bytes.NewReader(mp3))
	req.Header.Set("Authorization", "Bearer "+vmToken)
	req.Header.Set("Content-Type", "audio/mpeg")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("upload: %d", res.StatusCode)
	}

	l := listen(e.pstn)
	e.pstn.call(mainNumber, pstnCaller, nil)
	e.pstn.waitFinal(200, 5*time.Second)
	pcm, _ := l.heard(t, 800*time.Millisecond, 0)
	// Skip the first 100 ms (the decoder's lead-in), then every 100 ms
	// window is the tone: 440 Hz far above 1 kHz, which the tone lacks and
	// speech would not.
	for at := 800; at+800 <= len(pcm); at += 800 {
		win := pcm[at : at+800]
		tone, off := goertzel(win, 440), goertzel(win, 1000)
		if tone < 1e4 || tone < 100*off {
			t.Fatalf("at %d ms: 440 Hz power %.0f, 1 kHz %.0f: not the uploaded greeting", at/8, tone, off)
		}
	}
	e.pstn.bye()
	e.wantIdle(t, nil)
}
