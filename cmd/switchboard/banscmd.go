package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"
	"time"
)

const bansUsage = `Usage:
  switchboard bans list [-server URL] [-token TOKEN] [-json]
  switchboard bans delete [-server URL] [-token TOKEN] SOURCE

list shows the live bans of the SIP edge; delete lifts every ban of the
source IP on every instance.
`

// bansCmd runs `switchboard bans list|delete SOURCE` against the admin API.
func bansCmd(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "list" && args[0] != "delete") {
		fmt.Fprint(stderr, bansUsage)
		return 2
	}
	verb := args[0]
	fs := flag.NewFlagSet("bans "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, bansUsage); fs.PrintDefaults() }
	var cf clientFlags
	cf.register(fs, environ)
	rest, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return 2
	}
	c, err := cf.client()
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return 1
	}
	switch verb {
	case "list":
		if len(rest) != 0 {
			fmt.Fprint(stderr, bansUsage)
			return 2
		}
		data, err := c.do(ctx, "GET", "/bans", nil, "")
		if err != nil {
			fmt.Fprintf(stderr, "switchboard: bans list: %v\n", err)
			return 1
		}
		if cf.json {
			printJSON(stdout, data)
			return 0
		}
		var bans []struct {
			Source, User, Reason string
			Until                time.Time
		}
		if err := json.Unmarshal(data, &bans); err != nil {
			fmt.Fprintf(stderr, "switchboard: bans list: %v\n", err)
			return 1
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SOURCE\tUSER\tREASON\tUNTIL")
		for _, b := range bans {
			user := b.User
			if user == "" {
				user = "(all)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", b.Source, user, b.Reason, b.Until.UTC().Format(time.RFC3339))
		}
		tw.Flush()
	case "delete":
		if len(rest) != 1 {
			fmt.Fprint(stderr, bansUsage)
			return 2
		}
		if _, err := c.do(ctx, "DELETE", "/bans/"+url.PathEscape(rest[0]), nil, ""); err != nil {
			fmt.Fprintf(stderr, "switchboard: bans delete %s: %v\n", rest[0], err)
			return 1
		}
		fmt.Fprintf(stdout, "bans of %s lifted\n", rest[0])
	}
	return 0
}
