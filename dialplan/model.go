package dialplan

import (
	"fmt"
	"strings"
	"time"
)

// Directory is everything switchboard routes by: the tenants with their users,
// groups, attendants and numbers. It is the shape of the directory YAML file and
// of the admin API's JSON bodies.
type Directory struct {
	Tenants []*Tenant `yaml:"tenants" json:"tenants"`
}

// Tenant is one company: a SIP domain with its users, groups, attendants and numbers.
type Tenant struct {
	Domain     string `yaml:"domain" json:"domain"`
	Name       string `yaml:"name" json:"name"`
	MainNumber string `yaml:"main_number,omitempty" json:"main_number,omitempty"`
	// CountryCode is the E.164 country calling code (digits, no "+") that
	// users' national dialling is read in; "" means "1" (NANP), applied by
	// routing.
	CountryCode string `yaml:"country_code,omitempty" json:"country_code,omitempty"`
	// ExtensionPolicy is the pattern new extensions are drawn from, e.g. "7XXX"
	// (4 digits starting with 7, the default).
	ExtensionPolicy string `yaml:"extension_policy,omitempty" json:"extension_policy,omitempty"`
	// Trunks names the tenant's own trunks (config trunks[].name), tried in
	// this order before the provider's shared trunks (bring-your-own-carrier).
	Trunks []string `yaml:"trunks,omitempty" json:"trunks,omitempty"`
	// Limits are the toll-fraud limits (limits.go); nil = the defaults.
	Limits *Limits `yaml:"limits,omitempty" json:"limits,omitempty"`
	// MOH is what callers the engine holds hear (moh.go); nil = the
	// built-in loop.
	MOH        *MOH              `yaml:"moh,omitempty" json:"moh,omitempty"`
	Users      []*User           `yaml:"users,omitempty" json:"users,omitempty"`
	Groups     []*Group          `yaml:"groups,omitempty" json:"groups,omitempty"`
	Attendants []*Attendant      `yaml:"attendants,omitempty" json:"attendants,omitempty"`
	Numbers    map[string]string `yaml:"numbers,omitempty" json:"numbers,omitempty"` // E.164 -> target ("user:john"); "" = available

	// Reserved are the numbers held for someone (E.164 -> note), each also
	// in Numbers with no target. In YAML they are written inside numbers:
	// "+1…": {status: reserved, note: "…"} (see inventory.go).
	Reserved  map[string]string `yaml:"-" json:"reserved,omitempty"`
	Mailboxes []*Mailbox        `yaml:"mailboxes,omitempty" json:"mailboxes,omitempty"` // shared voicemail (voicemail.go)
}

// User is a person with a phone: extensions, SIP credentials, aliases and
// call-handling settings.
type User struct {
	ID string `yaml:"id" json:"id"`
	// Name is FirstName and LastName joined (names.go); a directory or API
	// call that gives only name has it split on its last space.
	Name       string   `yaml:"name,omitempty" json:"name,omitempty"`
	FirstName  string   `yaml:"first_name,omitempty" json:"first_name,omitempty"`
	LastName   string   `yaml:"last_name,omitempty" json:"last_name,omitempty"`
	Extensions []string `yaml:"extensions,omitempty" json:"extensions,omitempty"`
	// Password is the plaintext from a file or API call; it is turned into HA1
	// digests by HashPasswords and then cleared, never stored.
	Password     string     `yaml:"password,omitempty" json:"password,omitempty"`
	HA1MD5       string     `yaml:"ha1_md5,omitempty" json:"ha1_md5,omitempty"`
	HA1SHA256    string     `yaml:"ha1_sha256,omitempty" json:"ha1_sha256,omitempty"`
	DirectNumber string     `yaml:"direct_number,omitempty" json:"direct_number,omitempty"`
	Aliases      []string   `yaml:"aliases,omitempty" json:"aliases,omitempty"`
	CallerID     CallerID   `yaml:"caller_id,omitempty" json:"caller_id,omitempty"`
	Forward      *Forward   `yaml:"forward,omitempty" json:"forward,omitempty"`
	Email        string     `yaml:"email,omitempty" json:"email,omitempty"`
	Mobile       string     `yaml:"mobile,omitempty" json:"mobile,omitempty"`
	Voicemail    *Voicemail `yaml:"voicemail,omitempty" json:"voicemail,omitempty"` // voicemail.go
	// PortalHash is the argon2id hash of the password the user signs in to
	// the console with (self-service); set only through the admin API.
	PortalHash string `yaml:"portal_password_hash,omitempty" json:"portal_password_hash,omitempty"`
	// Invitation is the user's pending emailed invitation (invitation.go).
	Invitation *Invitation `yaml:"invitation,omitempty" json:"invitation,omitempty"`
	// Status is SignInStatus(now) as the admin API shows it; never stored.
	Status string `yaml:"-" json:"status,omitempty"`
	// Record: the calls switchboard anchors with this user as a party are
	// recorded (apps/record.go); proxied calls have end-to-end media.
	Record bool `yaml:"record,omitempty" json:"record,omitempty"`

	// Credentials are the HA1 digests per digest username (the id and every
	// extension), computed by HashPasswords. Not part of the file format.
	Credentials []Credential `yaml:"-" json:"-"`
}

// Credential is what digest verification needs for one username: the HA1
// values for each algorithm, already bound to the realm.
type Credential struct {
	Username  string
	Realm     string
	HA1MD5    string // hex; empty when unknown
	HA1SHA256 string // hex; empty when unknown
}

// CallerID selects what outbound calls of a user present.
type CallerID string

// Caller-ID choices.
const (
	CallerIDMain   CallerID = "main"
	CallerIDDirect CallerID = "direct"
)

// ForwardWhen is the condition under which a user's calls are forwarded.
type ForwardWhen string

// Forwarding conditions.
const (
	ForwardAlways       ForwardWhen = "always"
	ForwardNoAnswer     ForwardWhen = "no_answer"
	ForwardBusy         ForwardWhen = "busy"
	ForwardUnregistered ForwardWhen = "unregistered"
)

// Forward sends a user's calls to one external number.
type Forward struct {
	Number    string      `yaml:"number" json:"number"`
	When      ForwardWhen `yaml:"when" json:"when"`
	After     Duration    `yaml:"after,omitempty" json:"after,omitempty"`
	Screening bool        `yaml:"screening,omitempty" json:"screening,omitempty"`
}

// Strategy is how a ring group rings its members.
type Strategy string

// Ring group strategies.
const (
	Simultaneous Strategy = "simultaneous"
	Sequential   Strategy = "sequential"
)

// Group is a ring group reachable by its extension.
type Group struct {
	ID        string   `yaml:"id" json:"id"`
	Extension string   `yaml:"extension" json:"extension"`
	Members   []string `yaml:"members" json:"members"` // user ids or alias names
	Strategy  Strategy `yaml:"strategy,omitempty" json:"strategy,omitempty"`
	Ring      Duration `yaml:"ring,omitempty" json:"ring,omitempty"`
}

// Attendant is an auto-attendant menu.
type Attendant struct {
	ID              string            `yaml:"id" json:"id"`
	Greeting        string            `yaml:"greeting,omitempty" json:"greeting,omitempty"`
	Options         map[string]string `yaml:"options,omitempty" json:"options,omitempty"` // digit -> target
	DialByExtension bool              `yaml:"dial_by_extension,omitempty" json:"dial_by_extension,omitempty"`
	Timeout         Duration          `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Retries         int               `yaml:"retries,omitempty" json:"retries,omitempty"`
	Fallback        string            `yaml:"fallback,omitempty" json:"fallback,omitempty"`
	// Wait is what the caller hears while the chosen target rings:
	// ringback (the default, "") or music (the tenant's music on hold).
	Wait string `yaml:"wait,omitempty" json:"wait,omitempty"`
}

// TargetKind names what a Target points at.
type TargetKind string

// Target kinds, as written before the colon of a target.
const (
	TargetUser      TargetKind = "user"
	TargetAlias     TargetKind = "alias"
	TargetGroup     TargetKind = "group"
	TargetAttendant TargetKind = "attendant"
	TargetExt       TargetKind = "ext"
)

// Target is a parsed routing target such as "group:sales".
type Target struct {
	Kind TargetKind
	ID   string
}

// ParseTarget parses "kind:id".
func ParseTarget(s string) (Target, error) {
	kind, id, ok := strings.Cut(s, ":")
	if !ok || id == "" {
		return Target{}, fmt.Errorf("target %q: want kind:id (user:, alias:, group:, attendant:, ext:, voicemail:)", s)
	}
	switch k := TargetKind(kind); k {
	case TargetUser, TargetAlias, TargetGroup, TargetAttendant, TargetExt, TargetVoicemail:
		return Target{Kind: k, ID: id}, nil
	}
	return Target{}, fmt.Errorf("target %q: unknown kind %q (want user, alias, group, attendant, ext or voicemail)", s, kind)
}

// String writes the target back as "kind:id".
func (t Target) String() string { return string(t.Kind) + ":" + t.ID }

// Duration is a time.Duration written as "20s" in YAML and JSON.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats the duration as time.Duration does, e.g. "20s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes the duration as "20s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads "20s", "1m30s" or a bare number of seconds.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if v, err := time.ParseDuration(s); err == nil {
		*d = Duration(v)
		return nil
	}
	var secs int
	if _, err := fmt.Sscanf(s, "%d", &secs); err == nil && fmt.Sprint(secs) == s {
		*d = Duration(time.Duration(secs) * time.Second)
		return nil
	}
	return fmt.Errorf("invalid duration %q (want e.g. 20s)", s)
}
