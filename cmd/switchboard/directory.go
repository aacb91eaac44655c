package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/dialplan"
)

const directoryUsage = `Usage:
  switchboard directory import -config FILE [-force]   load the directory file into Redis
  switchboard directory export -config FILE            print the directory held in Redis as YAML

import refuses to overwrite a Redis that already holds a directory unless
-force is given; every running instance sees the change within a second.
export writes credentials as ha1_md5/ha1_sha256 of the user id (never
plaintext): re-imported, such users authenticate with their id only.
`

// directory runs `switchboard directory import|export`, which move the
// directory between the file and Redis (store.redis) explicitly.
func directory(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "import" && args[0] != "export") {
		fmt.Fprint(stderr, directoryUsage)
		return 2
	}
	verb := args[0]
	fs := flag.NewFlagSet("directory "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	force := false
	if verb == "import" {
		fs.BoolVar(&force, "force", false, "replace the directory Redis holds")
	}
	cfg, err := config.FromArgs(fs, args[1:], environ)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: invalid configuration:\n%v\n", err)
		return 1
	}
	if cfg.Store.Redis == "" {
		fmt.Fprintln(stderr, "switchboard: store.redis is not set: the embedded memory store loads the directory file at start")
		return 1
	}
	// Not the call path: give Redis time, no SIP deadline applies.
	cfg.Store.Timeout = max(cfg.Store.Timeout, 2*time.Second)
	rdb, err := openRedis(cfg, nil)
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return 1
	}
	defer rdb.Close()
	store := dialplan.NewRedisStore(rdb, dialplan.RedisOptions{Prefix: rdb.KeyPrefix(), Realm: cfg.SIP.Realm})
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	if verb == "export" {
		d, err := store.Export(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "switchboard: %v\n", err)
			return 1
		}
		enc := yaml.NewEncoder(stdout)
		enc.SetIndent(2)
		if err := enc.Encode(d); err != nil {
			fmt.Fprintf(stderr, "switchboard: %v\n", err)
			return 1
		}
		return 0
	}

	if cfg.Directory == "" {
		fmt.Fprintln(stderr, "switchboard: no directory file in the configuration (directory:)")
		return 1
	}
	d, err := dialplan.Load(cfg.Directory, dialplan.LoadOptions{Realm: cfg.SIP.Realm})
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: invalid directory:\n%v\n", err)
		return 1
	}
	if force {
		err = store.Replace(ctx, d)
	} else {
		var imported bool
		imported, err = store.Seed(ctx, d)
		if err == nil && !imported {
			fmt.Fprintln(stderr, "switchboard: redis already holds a directory; not overwritten (use -force to replace it)")
			return 1
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "imported %d tenants from %s\n", len(d.Tenants), cfg.Directory)
	return 0
}
