package main

import "github.com/switchboard/switchboard/config"

// trunkNames lists the configured trunks' names, never nil, so the directory
// loader checks the tenants' trunks against them.
func trunkNames(cfg config.Config) []string {
	names := make([]string, 0, len(cfg.Trunks))
	for _, t := range cfg.Trunks {
		names = append(names, t.Name)
	}
	return names
}
