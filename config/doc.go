// Package config turns a YAML file, SWITCHBOARD_* environment variables and
// command-line flags into one validated Config.
//
// The layers are applied in a fixed order, each overriding the one before:
//
//	Default() → file (Load) → environment (ApplyEnv) → flags (BindFlags) → Validate
//
// FromArgs runs the whole sequence for a subcommand that takes a -config flag.
//
// Every value remembers where it came from: a file and line, an environment
// variable or a flag. Problems found while decoding (YAML syntax, unknown keys,
// wrong types) and while validating name that origin, so `switchboard check`
// can print every problem at once as
//
//	switchboard.yaml:12: sip.listen[1]: unknown scheme "udpp" (want udp, tcp, tls, ws or wss)
//
// The package only reads files (the config file, TLS certificate and key to
// check they exist, the admin token file); it opens no sockets. Parsed views
// other packages need — Listeners, PortRange, Prefixes — live next to the
// fields they parse.
package config
