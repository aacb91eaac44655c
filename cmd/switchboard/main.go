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

// commit is the VCS revision when the build could not stamp it itself (a
// container build without .git, or GOFLAGS=-buildvcs=false):
// go build -ldflags "-X main.commit=$(git rev-parse HEAD)".
var commit string

// version is the build, for `switchboard version` and the start-up log:
// module version (v1.2.3 from `go install …@v1.2.3`, "(devel)" from a
// checkout), the VCS commit and whether the tree was modified (stamped by
// `go build` in a git checkout), and the Go version.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if ok && commit != "" {
		bi.Settings = append(bi.Settings, debug.BuildSetting{Key: "vcs.revision", Value: commit})
	}
	if !ok {
		return "(unknown)"
	}
	return formatVersion(bi)
}

func formatVersion(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if rev == "" {
				rev = s.Value
			}
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " commit " + rev + modified
	}
	return v + " " + bi.GoVersion
}
