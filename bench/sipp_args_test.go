package main

import (
	"slices"
	"testing"
)

// TestSIPpNoDefaults: the overload curve's SIPp runs with -nd, so a failed
// REGISTER ends quietly instead of with an out-of-dialog BYE; the ladders
// keep SIPp's defaults.
func TestSIPpNoDefaults(t *testing.T) {
	r := sippRun{Scenario: "register.xml", LocalIP: "127.0.0.1", Port: 5070}
	if slices.Contains(r.args(), "-nd") {
		t.Errorf("ladder run has -nd: %v", r.args())
	}
	r.NoDefaults = true
	if !slices.Contains(r.args(), "-nd") {
		t.Errorf("NoDefaults run lacks -nd: %v", r.args())
	}
}
