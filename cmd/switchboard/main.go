// Command switchboard is the hosted-PBX engine: `switchboard serve` runs it,
// `switchboard check` validates a configuration, `switchboard import` and
// `switchboard users|numbers|tenants|groups|attendants …` are clients of the
// admin API, `switchboard version` prints the build.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

const usage = `switchboard — hosted-PBX call-routing engine

Usage:
  switchboard serve [-config FILE] [flags]   run the PBX (no -config: the embedded demo)
  switchboard check -config FILE             validate the config and directory files
  switchboard import -tenant DOMAIN FILE.csv bulk-import users through the admin API
  switchboard users|numbers|tenants|groups|attendants list|get|add|set|delete …
                                             manage the directory through the admin API
  switchboard bans list|delete SOURCE        list or lift SIP edge bans through the admin API
  switchboard directory import|export -config FILE [-force]
                                             move the directory between its file and Redis
  switchboard version                        print the version

Run "switchboard serve -h" for the flags; SWITCHBOARD_* environment variables
override the config file and flags override both. The admin client commands
take -server URL and -token TOKEN (or SWITCHBOARD_SERVER, SWITCHBOARD_TOKEN)
and -json; "switchboard users -h" lists their flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

func run(args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return serve(ctx, args[1:], environ, stdout, stderr)
	case "check":
		return check(args[1:], environ, stdout, stderr)
	case "directory":
		return directory(context.Background(), args[1:], environ, stdout, stderr)
	case "import":
		return importCSV(context.Background(), args[1:], environ, stdout, stderr)
	case "users", "numbers", "tenants", "groups", "attendants":
		return runNoun(context.Background(), findNoun(args[0]), args[1:], environ, stdout, stderr)
	case "bans":
		return bansCmd(context.Background(), args[1:], environ, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "switchboard", version())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "switchboard: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v + " " + bi.GoVersion
}
