package dialplan

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// base is a valid tenant; rows append lines from line 8 on.
const base = `tenants:
  - domain: acme.example
    main_number: "+14155550100"
    users:
      - id: alice
        extensions: ["7001"]
        password: secret
`

func TestParseProblems(t *testing.T) {
	const (
		tp    = "tenants[acme.example]"
		alice = tp + ".users[alice]"
	)
	tests := []struct {
		name      string
		yaml      string // appended to base unless it starts with "tenants:"
		wantLine  int
		wantField string
		wantIn    string // a substring of the reason
	}{
		// decoding
		{"unknown key", "        pasword: x\n", 8, alice + ".pasword", `did you mean "password"`},
		{"duplicate key", "        password: again\n", 8, alice + ".password", "duplicate key (first at line 7)"},
		{"list wanted", "        aliases: alice-2\n", 8, alice + ".aliases", "want a list"},
		{"bool wanted", "        forward: {number: \"+14085551234\", when: busy, screening: maybe}\n", 8, alice + ".forward.screening", "want true or false"},
		{"bad duration", "        forward: {number: \"+14085551234\", when: no_answer, after: soon}\n", 8, alice + ".forward.after", "invalid duration"},
		{"number listed twice", "    numbers:\n      \"+14155550100\": user:alice\n      \"+14155550100\": user:alice\n", 10, tp + ".numbers[+14155550100]", "listed twice (first at line 9)"},
		{"tenant not a mapping", "  - just-a-string\n", 8, "tenants[1]", "want a mapping"},

		// tenant
		{"domain missing", "tenants:\n  - name: Nameless\n    users: []\n", 2, "tenants[0].domain", "required"},
		{"domain not a hostname", "tenants:\n  - domain: acme_example!\n", 2, "tenants[acme_example!].domain", "not a hostname"},
		{"domain twice", "  - domain: ACME.example\n", 8, tp + ".domain", "already the domain of tenants[acme.example]"},
		{"main number not e164", "tenants:\n  - domain: acme.example\n    main_number: \"4155550100\"\n", 3, tp + ".main_number", "not an E.164 number"},
		{"bad extension policy", "tenants:\n  - domain: acme.example\n    extension_policy: \"7ABC\"\n", 3, tp + ".extension_policy", "7XXX"},

		// users
		{"user id missing", "      - name: Nobody\n        password: x\n", 8, tp + ".users[1].id", "required"},
		{"user id uppercase", "      - id: Bob\n        password: x\n", 8, tp + ".users[Bob].id", "lowercase"},
		{"user id twice", "      - id: alice\n        password: x\n", 8, alice + ".id", `duplicate user id "alice"`},
		{"password missing", "      - id: bob\n        extensions: [\"7002\"]\n", 8, tp + ".users[bob].password", "required"},
		{"ha1_md5 not hex", "      - id: bob\n        ha1_md5: 939E7578ED9E3C518A452ACEE763BCE9\n", 9, tp + ".users[bob].ha1_md5", "32 lowercase hex"},
		{"ha1_sha256 short", "      - id: bob\n        ha1_sha256: abcd\n", 9, tp + ".users[bob].ha1_sha256", "64 lowercase hex"},
		{"extension not digits", "      - id: bob\n        password: x\n        extensions: [\"70a2\"]\n", 10, tp + ".users[bob].extensions[0]", "2-8 digits"},
		{"extension too short", "      - id: bob\n        password: x\n        extensions: [\"7\"]\n", 10, tp + ".users[bob].extensions[0]", "2-8 digits"},
		{"extension taken by user", "      - id: bob\n        password: x\n        extensions: [\"7002\", \"7001\"]\n", 10, tp + ".users[bob].extensions[1]", "already user alice's extension"},
		{"user id is an extension", "      - id: \"7001\"\n        password: x\n", 8, tp + ".users[7001].id", "already user alice's extension"},
		{"alias is a user id", "        aliases: [\"alice\"]\n", 8, alice + ".aliases[0]", "already user alice's id"},
		{"alias is an extension", "        aliases: [\"7001\"]\n", 8, alice + ".aliases[0]", "already user alice's extension"},
		{"alias uppercase", "        aliases: [\"Alice-Sales\"]\n", 8, alice + ".aliases[0]", "lowercase"},
		{"alias is a group id", "        aliases: [\"sales\"]\n    groups:\n      - {id: sales, extension: \"7100\", members: [alice]}\n", 8, alice + ".aliases[0]", "already a group id"},
		{"alias twice", "        aliases: [\"a1\"]\n      - id: bob\n        password: x\n        aliases: [\"a1\"]\n", 11, tp + ".users[bob].aliases[0]", "already an alias of user alice"},
		{"caller_id unknown", "        caller_id: boss\n", 8, alice + ".caller_id", "want main or direct"},
		{"caller_id direct without number", "        caller_id: direct\n", 8, alice + ".caller_id", "needs the user's direct_number"},
		{"caller_id main without main number", "tenants:\n  - domain: acme.example\n    users:\n      - id: alice\n        password: x\n        caller_id: main\n", 6, alice + ".caller_id", "needs the tenant's main_number"},
		{"direct number not e164", "        direct_number: \"555-0101\"\n", 8, alice + ".direct_number", "not an E.164 number"},
		{"direct number is the main number", "        direct_number: \"+14155550100\"\n", 8, alice + ".direct_number", "main_number"},
		{"direct number twice", "        direct_number: \"+14155550101\"\n      - id: bob\n        password: x\n        direct_number: \"+14155550101\"\n", 11, tp + ".users[bob].direct_number", "already user alice's direct number"},
		{"direct number routed elsewhere", "        direct_number: \"+14155550101\"\n      - id: bob\n        password: x\n    numbers:\n      \"+14155550101\": user:bob\n", 12, tp + ".numbers[+14155550101]", "must route to user:alice"},
		{"forward without number", "        forward: {when: busy}\n", 8, alice + ".forward.number", "required"},
		{"forward number not e164", "        forward: {number: \"408\", when: busy}\n", 8, alice + ".forward.number", "not an E.164 number"},
		{"forward when unknown", "        forward: {number: \"+14085551234\", when: sometimes}\n", 8, alice + ".forward.when", "want always, no_answer, busy or unregistered"},
		{"forward when missing", "        forward: {number: \"+14085551234\"}\n", 8, alice + ".forward.when", "required"},
		{"forward after negative", "        forward: {number: \"+14085551234\", when: no_answer, after: -5s}\n", 8, alice + ".forward.after", "negative"},
		{"email without at", "        email: alice.acme.example\n", 8, alice + ".email", "not an email address"},
		{"mobile not e164", "        mobile: \"0612345678\"\n", 8, alice + ".mobile", "not an E.164 number"},

		// groups
		{"group id missing", "    groups:\n      - extension: \"7100\"\n        members: [alice]\n", 9, tp + ".groups[0].id", "required"},
		{"group id twice", "    groups:\n      - {id: sales, extension: \"7100\", members: [alice]}\n      - {id: sales, extension: \"7101\", members: [alice]}\n", 10, tp + ".groups[sales].id", "duplicate group id"},
		{"group extension missing", "    groups:\n      - id: sales\n        members: [alice]\n", 9, tp + ".groups[sales].extension", "required"},
		{"group extension not digits", "    groups:\n      - {id: sales, extension: sales, members: [alice]}\n", 9, tp + ".groups[sales].extension", "2-8 digits"},
		{"group extension taken", "    groups:\n      - {id: sales, extension: \"7001\", members: [alice]}\n", 9, tp + ".groups[sales].extension", "already user alice's extension"},
		{"group without members", "    groups:\n      - {id: sales, extension: \"7100\"}\n", 9, tp + ".groups[sales].members", "at least one member"},
		{"group member unknown", "    groups:\n      - id: sales\n        extension: \"7100\"\n        members: [alice, dave]\n", 11, tp + ".groups[sales].members[1]", `"dave" is not a user id or alias`},
		{"group member with kind", "    groups:\n      - {id: sales, extension: \"7100\", members: [\"user:alice\"]}\n", 9, tp + ".groups[sales].members[0]", "without a kind prefix"},
		{"group member twice", "    groups:\n      - {id: sales, extension: \"7100\", members: [alice, alice]}\n", 9, tp + ".groups[sales].members[1]", "listed twice"},
		{"group strategy unknown", "    groups:\n      - {id: sales, extension: \"7100\", members: [alice], strategy: random}\n", 9, tp + ".groups[sales].strategy", "want simultaneous or sequential"},
		{"group ring negative", "    groups:\n      - {id: sales, extension: \"7100\", members: [alice], ring: -1s}\n", 9, tp + ".groups[sales].ring", "negative"},

		// attendants
		{"attendant id bad", "    attendants:\n      - id: Main!\n", 9, tp + ".attendants[Main!].id", "lowercase"},
		{"attendant id twice", "    attendants:\n      - id: main\n      - id: main\n", 10, tp + ".attendants[main].id", "duplicate attendant id"},
		{"attendant greeting bad", "    attendants:\n      - id: main\n        greeting: \"../etc/passwd\"\n", 10, tp + ".attendants[main].greeting", "prompt name"},
		{"attendant option key", "    attendants:\n      - id: main\n        options:\n          \"10\": user:alice\n", 11, tp + ".attendants[main].options[10]", "one key: 0-9, * or #"},
		{"attendant option target kind", "    attendants:\n      - id: main\n        options:\n          \"1\": person:alice\n", 11, tp + ".attendants[main].options[1]", `unknown kind "person"`},
		{"attendant option target missing", "    attendants:\n      - id: main\n        options:\n          \"1\": group:sales\n", 11, tp + ".attendants[main].options[1]", `no group "sales"`},
		{"attendant option ext missing", "    attendants:\n      - id: main\n        options:\n          \"#\": ext:7999\n", 11, tp + ".attendants[main].options[#]", `no ext "7999"`},
		{"attendant option no colon", "    attendants:\n      - id: main\n        options:\n          \"2\": alice\n", 11, tp + ".attendants[main].options[2]", "want kind:id"},
		{"attendant timeout negative", "    attendants:\n      - id: main\n        timeout: -5s\n", 10, tp + ".attendants[main].timeout", "negative"},
		{"attendant retries negative", "    attendants:\n      - id: main\n        retries: -1\n", 10, tp + ".attendants[main].retries", "negative"},
		{"attendant retries not a number", "    attendants:\n      - id: main\n        retries: twice\n", 10, tp + ".attendants[main].retries", "want a whole number"},
		{"attendant fallback missing", "    attendants:\n      - id: main\n        fallback: alias:nobody\n", 10, tp + ".attendants[main].fallback", `no alias "nobody"`},

		// trunks
		{"tenant trunk unknown", "    trunks: [carrier-a, carrier-x]\n", 8, tp + ".trunks[1]", `unknown trunk "carrier-x"`},
		{"tenant trunk twice", "    trunks:\n      - carrier-a\n      - carrier-a\n", 10, tp + ".trunks[1]", "listed twice"},

		// numbers
		{"number not e164", "    numbers:\n      \"14155550100\": user:alice\n", 9, tp + ".numbers[14155550100]", "not an E.164 number"},
		{"number target missing", "    numbers:\n      \"+14155550100\": attendant:main\n", 9, tp + ".numbers[+14155550100]", `no attendant "main"`},
		{"number of two tenants", "  - domain: beta.example\n    numbers:\n      \"+14155550100\": user:bob\n    users:\n      - {id: bob, password: x}\n", 10, "tenants[beta.example].numbers[+14155550100]", "already owned by tenant acme.example"},
		{"main number of two tenants", "  - domain: beta.example\n    main_number: \"+14155550100\"\n", 9, "tenants[beta.example].main_number", "already owned by tenant acme.example"},
		{"direct number of another tenant", "  - domain: beta.example\n    users:\n      - {id: bob, password: x, direct_number: \"+14155550100\"}\n", 10, "tenants[beta.example].users[bob].direct_number", "already owned by tenant acme.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.yaml
			if !strings.HasPrefix(doc, "tenants:") {
				doc = base + doc
			}
			d, err := Parse([]byte(doc), "case.yaml", LoadOptions{Trunks: []string{"carrier-a"}})
			if d != nil {
				t.Errorf("Parse returned a directory despite problems")
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Parse error = %v, want Problems", err)
			}
			for _, p := range ps {
				if p.Line == tt.wantLine && p.Field == tt.wantField && strings.Contains(p.Reason, tt.wantIn) {
					if p.File != "case.yaml" {
						t.Errorf("File = %q, want case.yaml", p.File)
					}
					return
				}
			}
			t.Errorf("got problems:\n%v\nwant one at line %d, field %s, reason containing %q", err, tt.wantLine, tt.wantField, tt.wantIn)
		})
	}
}

func TestParseValidBase(t *testing.T) {
	if _, err := Parse([]byte(base), "base.yaml", LoadOptions{}); err != nil {
		t.Fatalf("Parse(base) = %v, want no error", err)
	}
}

func TestLoadMultipleProblems(t *testing.T) {
	const (
		f     = "testdata/multi.yaml"
		tp    = "tenants[acme.example]"
		alice = tp + ".users[alice]"
		bob   = tp + ".users[bob]"
	)
	_, err := Load(f, LoadOptions{})
	var got Problems
	if !errors.As(err, &got) {
		t.Fatalf("Load(%s) error = %v, want Problems", f, err)
	}
	want := Problems{
		{File: f, Line: 3, Field: tp + ".main_number", Reason: `"+1415" is not an E.164 number (want + and 7-15 digits, e.g. +14155550100)`, Conflict: false},
		{File: f, Line: 6, Field: alice + ".extensions[1]", Reason: `"x7": an extension is 2-8 digits`, Conflict: false},
		{File: f, Line: 8, Field: alice + ".caller_id", Reason: "direct needs the user's direct_number", Conflict: false},
		{File: f, Line: 9, Field: bob + ".password", Reason: "required (or ha1_md5 / ha1_sha256)", Conflict: false},
		{File: f, Line: 10, Field: bob + ".extensions[0]", Reason: `"7001" is already user alice's extension`, Conflict: true},
		{File: f, Line: 11, Field: bob + ".emial", Reason: `unknown key "emial" (did you mean "email"?)`, Conflict: false},
		{File: f, Line: 15, Field: tp + ".groups[sales].members[1]", Reason: `"user:bob": write the user id or alias name alone, without a kind prefix`, Conflict: false},
		{File: f, Line: 15, Field: tp + ".groups[sales].members[2]", Reason: `"dave" is not a user id or alias of this tenant`, Conflict: false},
		{File: f, Line: 16, Field: tp + ".groups[sales].strategy", Reason: `"random": want simultaneous or sequential`, Conflict: false},
		{File: f, Line: 19, Field: tp + ".attendants[main].options[12]", Reason: `"12": an option is one key: 0-9, * or #`, Conflict: false},
		{File: f, Line: 19, Field: tp + ".attendants[main].options[3]", Reason: `group:support: no group "support" in this tenant`, Conflict: false},
		{File: f, Line: 20, Field: tp + ".attendants[main].retries", Reason: "-1: must not be negative", Conflict: false},
		{File: f, Line: 23, Field: tp + ".numbers[0800]", Reason: `"0800" is not an E.164 number (want + and 7-15 digits, e.g. +14155550100)`, Conflict: false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load(%s) problems mismatch (-want +got):\n%s", f, diff)
	}
	if first := strings.SplitN(err.Error(), "\n", 2)[0]; first != "testdata/multi.yaml:3: "+tp+".main_number: "+want[0].Reason {
		t.Errorf("first line of Error() = %q, want file:line: field: reason", first)
	}
}

func TestLoadUnknownKey(t *testing.T) {
	_, err := Load("testdata/unknown_key.yaml", LoadOptions{})
	want := `testdata/unknown_key.yaml:5: tenants[acme.example].users[alice].pasword: unknown key "pasword" (did you mean "password"?)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Load(unknown_key.yaml) error = %v, want it to contain %q", err, want)
	}
}

func TestLoadSyntaxError(t *testing.T) {
	_, err := Load("testdata/syntax.yaml", LoadOptions{})
	var ps Problems
	// Line 4 holds the "- id" that cannot stand in the flow list opened on
	// line 3 (the YAML parser itself counts that line from 0 and says 3).
	if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Line != 4 || !strings.Contains(ps[0].Reason, "invalid YAML") {
		t.Errorf("Load(syntax.yaml) error = %#v, want one invalid YAML problem at line 4", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/nope.yaml", LoadOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "load directory testdata/nope.yaml: ") {
		t.Errorf("Load(nope.yaml) error = %v, want load directory testdata/nope.yaml: …", err)
	}
}

func TestParseEmpty(t *testing.T) {
	d, err := Parse(nil, "empty.yaml", LoadOptions{})
	if err != nil || d == nil || len(d.Tenants) != 0 {
		t.Errorf("Parse(empty) = %v, %v; want an empty directory", d, err)
	}
}

func TestLoadValidDefaults(t *testing.T) {
	d, err := Load("testdata/valid.yaml", LoadOptions{})
	if err != nil {
		t.Fatalf("Load(valid.yaml) = %v", err)
	}
	acme := d.Tenants[0]
	tests := []struct {
		name      string
		got, want any
	}{
		{"domain lowercased", acme.Domain, "acme.example"},
		{"extension policy", acme.ExtensionPolicy, "7XXX"},
		{"explicit strategy kept", acme.Groups[0].Strategy, Sequential},
		{"explicit ring kept", acme.Groups[0].Ring, Duration(15e9)},
		{"default strategy", acme.Groups[1].Strategy, Simultaneous},
		{"default ring", acme.Groups[1].Ring, Duration(20e9)},
		{"default forward after", acme.Users[1].Forward.After, Duration(20e9)},
		{"default caller id", acme.Users[1].CallerID, CallerIDMain},
		{"default timeout", acme.Attendants[1].Timeout, Duration(5e9)},
		{"default retries", acme.Attendants[0].Retries, 2},
		{"explicit zero retries", acme.Attendants[1].Retries, 0},
		{"no caller id without numbers", d.Tenants[1].Users[0].CallerID, CallerID("")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestValidateWithoutFile(t *testing.T) {
	d := &Directory{Tenants: []*Tenant{{
		Domain: "acme.example",
		Users:  []*User{{ID: "alice", Extensions: []string{"7001"}}},
	}}}
	got := Validate(d)
	want := Problems{{Field: "tenants[acme.example].users[alice].password", Reason: "required (or ha1_md5 / ha1_sha256)"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Validate mismatch (-want +got):\n%s", diff)
	}
	if s := got[0].String(); s != "tenants[acme.example].users[alice].password: required (or ha1_md5 / ha1_sha256)" {
		t.Errorf("String() = %q, want field: reason", s)
	}
}
