package main

import (
	"strings"
	"testing"

	"github.com/switchboard/switchboard/dialplan"
)

func TestPrintReportShowsGeneratedPasswords(t *testing.T) {
	var b strings.Builder
	printReport(&b, &dialplan.ImportReport{Format: "iplum", Created: 1, Failed: 1, Rows: []dialplan.ImportRow{
		{Row: 2, ID: "pat.park", Status: dialplan.ImportCreated, Password: "S3CRETGENERATED"},
		{Row: 3, ID: "quinn", Status: dialplan.ImportFailed, Field: "direct_number", Error: "bad"},
	}})
	out := b.String()
	for _, want := range []string{"recognised as iplum's layout", "SIP PASSWORD", "S3CRETGENERATED", "direct_number: bad", "shown only here"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	printReport(&b, &dialplan.ImportReport{Created: 1, Rows: []dialplan.ImportRow{{Row: 2, ID: "a", Status: dialplan.ImportCreated}}})
	if strings.Contains(b.String(), "PASSWORD") {
		t.Errorf("a native file's report has a password column:\n%s", b.String())
	}
}
