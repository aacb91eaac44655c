package admin

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/dialplan"
)

// importStream posts csv asking for progress and returns the lines.
func importStream(t *testing.T, e *apiEnv, csv string) []progressLine {
	t.Helper()
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/tenants/acme.example/users/import", strings.NewReader(csv))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Accept", "application/x-ndjson")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != ndjson {
		t.Fatalf("answer %d %s, want 200 %s", res.StatusCode, res.Header.Get("Content-Type"), ndjson)
	}
	var lines []progressLine
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var l progressLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	return lines
}

func TestImportProgressStream(t *testing.T) {
	e := newAPIEnv(t)
	var b strings.Builder
	b.WriteString("id,first_name,last_name,extension,password\n")
	const n = 10000
	for i := range n {
		fmt.Fprintf(&b, "bulk%05d,Bulk,User%05d,%d,pw-%d-secret\n", i, i, 100000+i, i)
	}
	lines := importStream(t, e, b.String())
	if len(lines) < 3 {
		t.Fatalf("%d lines, want progress before the report: %+v", len(lines), lines)
	}
	last := lines[len(lines)-1]
	if last.Phase != "done" || last.Report == nil || last.Report.Created+last.Report.Failed != n {
		t.Fatalf("last line %+v, want done with a report of %d rows", last, n)
	}
	if last.Report.Created != n {
		t.Errorf("%d created, want %d (first failure: %+v)", last.Report.Created, n, firstFailed(last.Report.Rows))
	}
	seen := map[string]bool{}
	prev := map[string]int{}
	for _, l := range lines[:len(lines)-1] {
		seen[l.Phase] = true
		if l.Done < prev[l.Phase] {
			t.Errorf("progress went back: %+v after %d", l, prev[l.Phase])
		}
		prev[l.Phase] = l.Done
		if l.Phase == "applying" && l.Total != n {
			t.Errorf("applying line %+v, want total %d", l, n)
		}
	}
	if !seen["reading"] || !seen["applying"] || !seen["saving"] {
		t.Errorf("phases seen %v, want reading, applying and saving", seen)
	}
	if strings.Contains(e.logs.String(), "pw-1-secret") || !strings.Contains(e.logs.String(), "action=user.import") {
		t.Error("import audit line missing, or it carries a password")
	}
}

// A file refused as a whole ends the stream with the status the plain
// request would have had.
func TestImportProgressStreamRefused(t *testing.T) {
	e := newAPIEnv(t)
	lines := importStream(t, e, "id,department\nx,sales\n")
	if len(lines) != 1 || lines[0].Phase != "failed" || lines[0].Status != 400 || !strings.Contains(lines[0].Error, "department") {
		t.Fatalf("lines %+v, want one failed line with 400 about the unknown column", lines)
	}
}

func firstFailed(rows []dialplan.ImportRow) any {
	for _, r := range rows {
		if r.Status == "failed" {
			return r
		}
	}
	return nil
}
