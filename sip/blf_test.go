package sip

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestRenderDialogInfo(t *testing.T) {
	out, err := renderDialogInfo(3, "sip:7002@acme.example", []dialogEvent{
		{ID: "a1", State: "confirmed", Direction: "recipient", Remote: `sip:7001@acme.example;x="<&>"`},
		{ID: "b2", State: "terminated"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		XMLName xml.Name
		Version string `xml:"version,attr"`
		State   string `xml:"state,attr"`
		Entity  string `xml:"entity,attr"`
		Dialogs []struct {
			ID, Direction string `xml:",attr"`
			State         string `xml:"state"`
			Remote        string `xml:"remote>identity"`
		} `xml:"dialog"`
	}
	if err := xml.Unmarshal(out, &got); err != nil {
		t.Fatalf("output does not parse: %v\n%s", err, out)
	}
	if got.XMLName.Space != "urn:ietf:params:xml:ns:dialog-info" || got.XMLName.Local != "dialog-info" {
		t.Errorf("root %v, want dialog-info in the RFC 4235 namespace", got.XMLName)
	}
	if got.Version != "3" || got.State != "full" || got.Entity != "sip:7002@acme.example" {
		t.Errorf("attributes = %q %q %q, want 3 full sip:7002@acme.example", got.Version, got.State, got.Entity)
	}
	if len(got.Dialogs) != 2 || got.Dialogs[0].State != "confirmed" || got.Dialogs[0].Remote != `sip:7001@acme.example;x="<&>"` ||
		got.Dialogs[1].State != "terminated" || got.Dialogs[1].Remote != "" {
		t.Errorf("dialogs = %+v", got.Dialogs)
	}
	if !strings.HasPrefix(string(out), "<?xml") {
		t.Errorf("no XML declaration:\n%s", out)
	}
	empty, _ := renderDialogInfo(0, "sip:bob@acme.example", nil)
	if strings.Contains(string(empty), "<dialog ") {
		t.Errorf("idle user renders a dialog:\n%s", empty)
	}
}

func TestDialogIDStable(t *testing.T) {
	if dialogID("c1", "t/bob") != dialogID("c1", "t/bob") || dialogID("c1", "t/bob") == dialogID("c1", "t/alice") {
		t.Error("dialogID must be stable per (call, user) and differ between users")
	}
	if strings.Contains(dialogID("secret-call-id", "t/bob"), "secret") {
		t.Error("dialogID leaks the Call-ID")
	}
}
