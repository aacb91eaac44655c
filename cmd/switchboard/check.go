package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/dialplan"
)

// check validates the config and directory files and lists every problem.
func check(args, environ []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := config.FromArgs(fs, args, environ)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	failed := false
	if err != nil {
		fmt.Fprintln(stderr, err)
		failed = true
	}
	var dir *dialplan.Directory
	if cfg.Directory != "" {
		d, derr := dialplan.Load(cfg.Directory, dialplan.LoadOptions{Realm: cfg.SIP.Realm, Trunks: trunkNames(cfg)})
		if derr != nil {
			fmt.Fprintln(stderr, derr)
			failed = true
		}
		dir = d
	}
	if failed {
		return 1
	}
	if cfg.File == "" {
		fmt.Fprintln(stderr, "check: no -config given; the built-in defaults are valid")
	}
	tenants, users, groups, attendants, numbers := 0, 0, 0, 0, 0
	if dir != nil {
		for _, t := range dir.Tenants {
			tenants++
			users += len(t.Users)
			groups += len(t.Groups)
			attendants += len(t.Attendants)
			numbers += len(t.Numbers)
		}
	}
	fmt.Fprintf(stdout, "%s: OK (%d tenants, %d users, %d groups, %d attendants, %d numbers, %d trunks)\n",
		displayName(cfg.File), tenants, users, groups, attendants, numbers, len(cfg.Trunks))
	return 0
}

func displayName(file string) string {
	if file == "" {
		return "defaults"
	}
	return file
}
