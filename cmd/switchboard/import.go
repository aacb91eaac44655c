package main

import (
	"bufio"
	"bytes"
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
	file, err := os.ReadFile(files[0]) // the API takes at most 20 MiB
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return 1
	}
	path := "/tenants/" + url.PathEscape(*tenant) + "/users/import"
	var data []byte
	if rows := bytes.Count(file, []byte("\n")); rows > progressRows {
		data, err = importWithProgress(ctx, c, path, file, stderr)
	} else {
		data, err = c.do(ctx, "POST", path, bytes.NewReader(file), "text/csv")
	}
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

// progressRows is the file size, in lines, above which the CLI asks for and
// prints the import's progress.
const progressRows = 2000

// importWithProgress uploads a large file asking for the NDJSON progress
// stream (admin/imports.go), prints each step to stderr, and returns the
// final report as the plain request would have.
func importWithProgress(ctx context.Context, c *client, path string, file []byte, stderr io.Writer) ([]byte, error) {
	res, err := c.send(ctx, "POST", path, bytes.NewReader(file), "text/csv", "application/x-ndjson")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var l struct {
			Phase  string          `json:"phase"`
			Done   int             `json:"done"`
			Total  int             `json:"total"`
			Rate   float64         `json:"rate"`
			Report json.RawMessage `json:"report"`
			Status int             `json:"status"`
			Error  string          `json:"error"`
			Field  string          `json:"field"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("progress line %q: %w", sc.Text(), err)
		}
		switch l.Phase {
		case "reading":
			fmt.Fprintf(stderr, "read %d rows\n", l.Done)
		case "applying":
			fmt.Fprintf(stderr, "applied %d/%d rows (%.0f rows/s)\n", l.Done, l.Total, l.Rate)
		case "saving":
			fmt.Fprintf(stderr, "saving %d rows\n", l.Total)
		case "done":
			return l.Report, nil
		case "failed":
			return nil, &apiError{Status: l.Status, Message: l.Error, Field: l.Field}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read progress: %w", err)
	}
	return nil, errors.New("the answer ended before the import's report")
}
