package main

import (
	"embed"
	"os"
	"path/filepath"
)

//go:embed scenarios/*.xml
var scenarioFS embed.FS

// scenario is one kind of load the bench offers.
type scenario struct {
	Name    string // register, call, did
	What    string // one line for the report
	UAC     string // scenario file against a server
	UAS     string // SIPp UAS scenario for the server's callee; "" none
	Direct  string // SIPp UAS standing in for the server in the load-generator baseline
	Inf     string // injection file name
	LocalIP string // the UAC's address
	RTD     int    // the response time reported
	Unit    string // what one operation is
}

var scenarios = []scenario{
	{Name: "register", What: "REGISTER → 401 → REGISTER with digest → 200, unique users",
		UAC: "register.xml", Direct: "uas_register.xml", Inf: "register.csv", LocalIP: "127.0.0.1", RTD: 2, Unit: "registrations"},
	{Name: "call", What: "INVITE → 407 → ACK, INVITE with digest → 100/180 → 200 → ACK, BYE → 200, record-routed to a registered SIPp UAS",
		UAC: "uac_call.xml", UAS: "uas.xml", Direct: "uas_auth.xml", Inf: "call.csv", LocalIP: "127.0.0.1", RTD: 1, Unit: "calls"},
	{Name: "did", What: "INVITE to a tenant number from the trunk address 127.0.0.2 (no challenge) → 180 → 200 → ACK, BYE",
		UAC: "uac_did.xml", UAS: "uas.xml", Direct: "uas.xml", Inf: "did.csv", LocalIP: trunkIP, RTD: 1, Unit: "calls"},
}

func scenarioByName(name string) (scenario, bool) {
	for _, s := range scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return scenario{}, false
}

// writeScenarios copies the embedded scenario files into dir.
func writeScenarios(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := scenarioFS.ReadDir("scenarios")
	if err != nil {
		return err
	}
	for _, e := range entries {
		b, err := scenarioFS.ReadFile("scenarios/" + e.Name())
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeInjection writes the injection files of every scenario, plus the
// callees' registration file, into dir.
func writeInjection(dir string, p population) error {
	files := map[string]func(f *os.File) error{
		"register.csv": func(f *os.File) error { return p.writeRegisterCSV(f) },
		"callees.csv":  func(f *os.File) error { return p.writeCalleeCSV(f) },
		"call.csv":     func(f *os.File) error { return p.writeCallCSV(f) },
		"did.csv":      func(f *os.File) error { return p.writeDIDCSV(f) },
	}
	for name, write := range files {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if err := write(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}
