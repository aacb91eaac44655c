package admin

import (
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard/switchboard/dialplan"
)

// A large import reports its progress when the client asks for NDJSON
// (Accept: application/x-ndjson): the answer is 200 at once, then one JSON
// object per line — {"phase":"reading","done":N}, {"phase":"applying",
// "done":N,"total":T,"rate":R}, {"phase":"saving",…} — and last the outcome,
// {"phase":"done","report":{…}} or {"phase":"failed","status":400,
// "error":"…","field":"…"} with the status the plain request would have
// answered. Progress lives in the request, so it needs no job store and
// works on whichever instance took the upload.

const ndjson = "application/x-ndjson"

// wantsProgress reports whether the client asked for a progress stream.
func wantsProgress(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == ndjson {
			return true
		}
	}
	return false
}

// progressLine is one line of the stream.
type progressLine struct {
	Phase  string                 `json:"phase"`
	Done   int                    `json:"done,omitempty"`
	Total  int                    `json:"total,omitempty"`
	Rate   float64                `json:"rate,omitempty"` // rows per second since the upload began
	Report *dialplan.ImportReport `json:"report,omitempty"`
	Status int                    `json:"status,omitempty"`
	Error  string                 `json:"error,omitempty"`
	Field  string                 `json:"field,omitempty"`
}

// streamImport runs run while writing its progress to w. The import runs in
// its own goroutine, which this handler waits for: Progress is called under
// the store's write lock and must never wait on a slow client, so updates go
// through a one-slot channel where a newer one replaces an unsent one.
func (a *API) streamImport(w http.ResponseWriter, r *http.Request, run func(dialplan.ImportOptions) (*dialplan.ImportReport, error), o dialplan.ImportOptions) {
	// The file is still being read while progress goes out: HTTP/1.1
	// allows that only when asked for.
	_ = http.NewResponseController(w).EnableFullDuplex()
	w.Header().Set("Content-Type", ndjson)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	flush := func() {}
	if f, ok := w.(http.Flusher); ok {
		flush = f.Flush
	}
	enc := json.NewEncoder(w)
	started := time.Now()
	updates := make(chan dialplan.ImportProgress, 1)
	o.Progress = func(p dialplan.ImportProgress) {
		for {
			select {
			case updates <- p:
				return
			default:
				select { // drop the stale update the writer has not taken yet
				case <-updates:
				default:
				}
			}
		}
	}
	type outcome struct {
		rep *dialplan.ImportReport
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		rep, err := run(o)
		done <- outcome{rep, err}
	}()
	write := func(l progressLine) {
		_ = enc.Encode(l)
		flush()
	}
	for {
		select {
		case p := <-updates:
			l := progressLine{Phase: p.Phase, Done: p.Done, Total: p.Total}
			if secs := time.Since(started).Seconds(); secs > 0 {
				l.Rate = float64(int(float64(p.Done)/secs*10)) / 10
			}
			write(l)
		case out := <-done:
			if out.err != nil {
				e := errorFor(out.err)
				if e.status >= 500 {
					a.log.Error("admin api", "method", r.Method, "path", r.URL.Path, "error", out.err)
				}
				write(progressLine{Phase: "failed", Status: e.status, Error: e.Error, Field: e.Field})
				return
			}
			write(progressLine{Phase: "done", Done: len(out.rep.Rows), Total: len(out.rep.Rows), Report: out.rep})
			return
		}
	}
}
