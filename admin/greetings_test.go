package admin

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/mailbox"
	"github.com/switchboard/switchboard/media"
)

func TestGreetingUpload(t *testing.T) {
	e := newAPIEnv(t)
	store := mailbox.NewMemory()
	e.api.voicemail = store
	base := "/api/v1/tenants/acme.example/attendants/main/greeting"
	send := func(method, path, ctype string, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		return rec
	}
	if rec := send("GET", base, "", nil); rec.Code != 404 {
		t.Errorf("GET before any upload: %d, want 404", rec.Code)
	}

	mp3, err := os.ReadFile("../media/testdata/tone440.mp3")
	if err != nil {
		t.Fatal(err)
	}
	rec := send("PUT", base, "audio/mpeg", mp3)
	var ans map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &ans); rec.Code != 200 || err != nil {
		t.Fatalf("PUT MP3: %d %s", rec.Code, rec.Body)
	}
	if d, _ := ans["duration_s"].(float64); d < 0.9 || d > 1.3 {
		t.Errorf("duration_s %v, want about 1 s", ans["duration_s"])
	}
	rec = send("GET", base, "", nil)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "audio/wav" {
		t.Fatalf("GET: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	pcm, err := media.ReadWAV(io.NopCloser(rec.Body))
	if err != nil || len(pcm) < 7000 {
		t.Fatalf("the kept greeting is not an 8 kHz mono WAV of a second: %d samples, %v", len(pcm), err)
	}
	stored, _ := store.Greeting(t.Context(), mailbox.AttendantBox("acme.example", "main"))
	if len(stored) == 0 {
		t.Error("the greeting is not in the attendant's box of the store")
	}

	tone := make([]int16, 8000)
	for i := range tone {
		tone[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	for _, tc := range []struct {
		name, path, ctype string
		body              []byte
		want              int
		reason            string
	}{
		{"text", base, "audio/wav", []byte("not audio at all"), 415, "not a WAV or MP3"},
		{"silence", base, "audio/wav", media.WAV(make([]int16, 8000)), 422, "silent"},
		{"not audio content type", base, "text/plain", media.WAV(tone), 415, "audio/wav or audio/mpeg"},
		{"unknown attendant", "/api/v1/tenants/acme.example/attendants/nope/greeting", "audio/wav", media.WAV(tone), 404, "nope"},
		{"user without voicemail", "/api/v1/tenants/acme.example/users/bob/voicemail/greeting", "audio/wav", media.WAV(tone), 404, "voicemail"},
	} {
		rec := send("PUT", tc.path, tc.ctype, tc.body)
		if rec.Code != tc.want || !strings.Contains(rec.Body.String(), tc.reason) {
			t.Errorf("%s: %d %s, want %d mentioning %q", tc.name, rec.Code, rec.Body, tc.want, tc.reason)
		}
	}
	// A refused upload leaves the greeting that was there.
	if rec := send("GET", base, "", nil); rec.Code != 200 || rec.Body.Len() < 14000 {
		t.Errorf("after refusals GET: %d, %d bytes; the MP3's greeting should stay", rec.Code, rec.Body.Len())
	}
}
