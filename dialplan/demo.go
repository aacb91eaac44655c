package dialplan

import (
	_ "embed"
	"fmt"
)

//go:embed demo.yaml
var demoYAML []byte

// Demo returns the embedded demo directory: tenant acme.example (Acme Inc)
// with users alice (7001, alias alice-support, direct +14155550101), bob
// (7002) and carol (7003), ring group sales (7100), attendant main on
// +14155550100. Defaults are applied and it is valid, but the passwords are
// kept in plaintext so that `switchboard serve` can print them; Store.Replace
// hashes them.
func Demo() (*Directory, error) {
	d, err := Parse(demoYAML, "demo.yaml", LoadOptions{KeepPasswords: true})
	if err != nil {
		return nil, fmt.Errorf("demo directory: %w", err)
	}
	return d, nil
}
