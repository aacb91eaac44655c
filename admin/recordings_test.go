package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/switchboard/switchboard/mailbox"
	"github.com/switchboard/switchboard/media"
)

func TestRecordingsAPI(t *testing.T) {
	e := newAPIEnv(t)
	store := mailbox.NewMemory()
	e.api.voicemail = store
	ctx := context.Background()

	if code, _ := e.do(t, "PATCH", "/api/v1/tenants/acme.example/users/bob", `{"record":true}`); code != 200 {
		t.Fatalf("PATCH record: %d", code)
	}
	if !e.user(t, "bob").Record {
		t.Fatal("record: true did not reach the directory")
	}

	pcm := make([]int16, 16000)
	for i := range pcm {
		pcm[i] = int16(1000 * (i%16 - 8))
	}
	started := time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC)
	m, err := store.Save(ctx, mailbox.RecordingBox("acme.example", "bob"),
		mailbox.Message{From: "+14085550100", To: "+14155550101", Received: started, Duration: 2}, media.WAV(pcm), mailbox.RecordingLimits)
	if err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/tenants/acme.example/users/bob/recordings"

	send := func(method, path, accept string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		return rec
	}
	get := func(path, accept string) *httptest.ResponseRecorder { return send("GET", path, accept) }
	rec := get(base, "")
	var list []map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &list); rec.Code != 200 || err != nil || len(list) != 1 {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	if list[0]["id"] != m.ID || list[0]["from"] != "+14085550100" || list[0]["duration_s"] != 2.0 || list[0]["started"] != "2026-12-07T13:00:00Z" {
		t.Errorf("list entry: %v", list[0])
	}
	if _, ok := list[0]["new"]; ok {
		t.Errorf("a recording has no new flag: %v", list[0])
	}

	rec = get(base+"/"+m.ID, "audio/wav")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "audio/wav" {
		t.Fatalf("audio: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	got, err := media.ReadWAV(rec.Body)
	if err != nil || len(got) != len(pcm) || got[3] != pcm[3] {
		t.Fatalf("audio: %d samples, %v", len(got), err)
	}

	// Voicemail of bob is another box: the recording is not a message there.
	if n, _ := store.List(ctx, mailbox.Box{Tenant: "acme.example", Name: "user:bob"}); len(n) != 0 {
		t.Errorf("recording shows as voicemail: %v", n)
	}

	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/api/v1/tenants/acme.example/users/nobody/recordings", 404},
		{"GET", base + "/nope", 404},
		{"DELETE", base + "/" + m.ID, 204},
		{"DELETE", base + "/" + m.ID, 404},
	} {
		if rec := send(c.method, c.path, ""); rec.Code != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, rec.Code, c.want)
		}
	}
	if rec := get(base, ""); rec.Code != 200 || rec.Body.String() != "[]\n" && rec.Body.String() != "[]" {
		t.Errorf("after delete: %d %q", rec.Code, rec.Body)
	}
}

func TestRecordingsNotConfigured(t *testing.T) {
	e := newAPIEnv(t)
	req := httptest.NewRequest("GET", "/api/v1/tenants/acme.example/users/bob/recordings", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Fatalf("without a store: %d", rec.Code)
	}
}
