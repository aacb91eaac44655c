package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"text/tabwriter"

	"github.com/switchboard/switchboard/dialplan"
)

// importCSV runs `switchboard import -server URL -token TOKEN -tenant DOMAIN
// FILE.csv`: it uploads the file, prints the per-row report and exits 1 when
// any row failed (or the whole file was refused).
func importCSV(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs, environ)
	tenant := fs.String("tenant", envOf(environ, "SWITCHBOARD_TENANT"), "tenant `domain` to import into (env SWITCHBOARD_TENANT)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage:\n  switchboard import -server URL -token TOKEN -tenant DOMAIN FILE.csv\n\n"+
			"Columns (header required, any order): %s\n\nFlags:\n", joinColumns())
		fs.PrintDefaults()
	}
	files, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if len(files) != 1 || *tenant == "" {
		fs.Usage()
		return 2
	}
	c, err := cf.client()
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return 2
	}
	f, err := os.Open(files[0])
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return 1
	}
	defer f.Close()
	data, err := c.do(ctx, "POST", "/tenants/"+url.PathEscape(*tenant)+"/users/import", f, "text/csv")
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: import %s: %v\n", files[0], err)
		return 1
	}
	var rep dialplan.ImportReport
	if err := json.Unmarshal(data, &rep); err != nil {
		fmt.Fprintf(stderr, "switchboard: import %s: unexpected answer: %v\n", files[0], err)
		return 1
	}
	if cf.json {
		printJSON(stdout, data)
	} else {
		printReport(stdout, &rep)
	}
	if rep.Failed > 0 {
		fmt.Fprintf(stderr, "switchboard: %d of %d rows failed; fix them and upload the file again (rows that landed are updated, not duplicated)\n",
			rep.Failed, len(rep.Rows))
		return 1
	}
	return 0
}

func printReport(w io.Writer, rep *dialplan.ImportReport) {
	generated := false // a file from another provider: new users got SIP passwords
	for _, r := range rep.Rows {
		generated = generated || r.Password != ""
	}
	if rep.Format != "" {
		fmt.Fprintf(w, "recognised as %s's layout\n", rep.Format)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if generated {
		fmt.Fprintln(tw, "ROW\tID\tSTATUS\tSIP PASSWORD\tERROR")
	} else {
		fmt.Fprintln(tw, "ROW\tID\tSTATUS\tERROR")
	}
	for _, r := range rep.Rows {
		msg := r.Error
		if r.Field != "" {
			msg = r.Field + ": " + msg
		}
		if msg == "" {
			msg = "-"
		}
		if generated {
			pw := r.Password
			if pw == "" {
				pw = "-"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", r.Row, r.ID, r.Status, pw, msg)
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", r.Row, r.ID, r.Status, msg)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d created, %d updated, %d failed\n", rep.Created, rep.Updated, rep.Failed)
	if generated {
		fmt.Fprintln(w, "the generated SIP passwords are shown only here: hand them out now (switchboard keeps only their digests)")
	}
}

func joinColumns() string {
	s := ""
	for i, c := range dialplan.CSVColumns {
		if i > 0 {
			s += ","
		}
		s += c
	}
	return s
}
