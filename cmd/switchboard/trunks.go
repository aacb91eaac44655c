package main

import (
	"fmt"

	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/resolve"
	"github.com/switchboard/switchboard/sip"
)

// trunkNames lists the configured trunks' names, never nil, so the directory
// loader checks the tenants' trunks against them.
func trunkNames(cfg config.Config) []string {
	names := make([]string, 0, len(cfg.Trunks))
	for _, t := range cfg.Trunks {
		names = append(names, t.Name)
	}
	return names
}

// sipTrunks converts the configured trunks, reading their password files.
func sipTrunks(cfg config.Config) ([]sip.Trunk, error) {
	var out []sip.Trunk
	for _, t := range cfg.Trunks {
		pw, err := t.Password()
		if err != nil {
			return nil, err
		}
		out = append(out, sip.Trunk{
			Name: t.Name, Address: t.Address, Transport: t.Transport, TLSCA: t.TLSCA,
			Username: t.Username, Password: pw,
			Register: t.Register, RegisterExpires: t.RegisterExpires,
			InboundFrom: t.Prefixes(), Priority: t.Priority, Weight: t.Weight,
			Probe: t.Probe, MaxCalls: t.MaxCalls, NumberFormat: t.NumberFormat,
			FailAfter: t.FailAfter, DIDFrom: t.DIDFrom, Private: t.Private,
		})
	}
	return out, nil
}

// newResolver builds the trunk address resolver of the dns: section.
func newResolver(cfg config.Config) (*resolve.Resolver, error) {
	r, err := resolve.New(resolve.Config{Servers: cfg.DNS.Servers, Timeout: cfg.DNS.Timeout})
	if err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	return r, nil
}
