package dialplan

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"
)

// Voicemail is a user's own mailbox: calls nobody answers go there instead
// of ending in 480.
type Voicemail struct {
	Enabled bool `yaml:"enabled" json:"enabled"`
	// PIN is the plaintext from a file or API call (4-10 digits); HashPINs
	// turns it into PINHash and clears it.
	PIN     string   `yaml:"pin,omitempty" json:"pin,omitempty"`
	PINHash string   `yaml:"pin_hash,omitempty" json:"pin_hash,omitempty"`
	After   Duration `yaml:"after,omitempty" json:"after,omitempty"` // ring this long first (default 20s)
	// Greeting is a prompt name; "" = the built-in "the person at extension
	// … is not available" composed from prompts.
	Greeting string `yaml:"greeting,omitempty" json:"greeting,omitempty"`
}

// Mailbox is a tenant's shared mailbox ("general"), reached through a
// voicemail:ID target; the users in Notify see its messages on their
// message-waiting lamp.
type Mailbox struct {
	ID        string   `yaml:"id" json:"id"`
	Extension string   `yaml:"extension,omitempty" json:"extension,omitempty"` // what *98 asks for; default the id is not dialable
	PIN       string   `yaml:"pin,omitempty" json:"pin,omitempty"`
	PINHash   string   `yaml:"pin_hash,omitempty" json:"pin_hash,omitempty"`
	Greeting  string   `yaml:"greeting,omitempty" json:"greeting,omitempty"`
	Notify    []string `yaml:"notify,omitempty" json:"notify,omitempty"` // user ids
}

// TargetVoicemail is a target kind: "voicemail:general" (a tenant mailbox)
// or "voicemail:john" (a user's own mailbox).
const TargetVoicemail TargetKind = "voicemail"

// DefaultVoicemailAfter is how long a user with voicemail rings before the
// call goes to voicemail, when voicemail.after is not set.
const DefaultVoicemailAfter = Duration(20 * time.Second)

var pinPattern = regexp.MustCompile(`^[0-9]{4,10}$`)

// ValidPIN reports whether pin is a usable mailbox PIN (4-10 digits).
func ValidPIN(pin string) bool { return pinPattern.MatchString(pin) }

// HashPIN returns the stored form of a mailbox PIN. The tenant and mailbox
// salt it so equal PINs do not look equal; a 4-digit PIN stays guessable by
// anyone holding the hash, which is why the hash is never served by the API.
func HashPIN(tenant, box, pin string) string {
	h := sha256.Sum256([]byte("switchboard-pin\x00" + tenant + "\x00" + box + "\x00" + pin))
	return hex.EncodeToString(h[:])
}

// CheckPIN reports whether pin matches hash, in constant time.
func CheckPIN(tenant, box, pin, hash string) bool {
	if hash == "" {
		return false
	}
	want := HashPIN(tenant, box, pin)
	return subtle.ConstantTimeCompare([]byte(want), []byte(hash)) == 1
}

// hashPINs hashes the plaintext PINs of a tenant's mailboxes and users'
// voicemail, and clears them. A PIN that is not 4-10 digits is left as it
// is: the memory store hashes before it validates, and a hash would hide
// the bad PIN from Validate.
func hashPINs(t *Tenant) {
	for _, u := range t.Users {
		if u != nil && u.Voicemail != nil && u.Voicemail.PIN != "" && ValidPIN(u.Voicemail.PIN) {
			u.Voicemail.PINHash = HashPIN(t.Domain, "user:"+u.ID, u.Voicemail.PIN)
			u.Voicemail.PIN = ""
		}
	}
	for _, m := range t.Mailboxes {
		if m != nil && m.PIN != "" && ValidPIN(m.PIN) {
			m.PINHash = HashPIN(t.Domain, "mailbox:"+m.ID, m.PIN)
			m.PIN = ""
		}
	}
}

// Mailbox returns the tenant mailbox with this id (case-insensitive).
func (v *View) Mailbox(id string) (*Mailbox, bool) {
	for _, m := range v.Tenant.Mailboxes {
		if m.ID == id {
			return m, true
		}
	}
	return nil, false
}

// mailboxes checks the tenant's mailboxes and indexes their ids (pass 1);
// users must exist, so Notify is checked by mailboxNotify in pass 3.
func (c *checker) mailboxes(x *tenantIndex, t *Tenant, tp string) {
	for i, m := range t.Mailboxes {
		mp := fmt.Sprintf("%s.mailboxes[%s]", tp, label(i, mailboxID(m)))
		if m == nil {
			c.add(pos{t, "mailboxes", fmt.Sprint(i)}, mp, "empty mailbox")
			continue
		}
		if c.newID(pos{m, "id", ""}, mp+".id", "mailbox", m.ID, x.mailboxes[m.ID]) {
			x.mailboxes[m.ID] = true
		}
		c.pin(pos{m, "pin", ""}, mp+".pin", m.PIN, m.PINHash)
		if m.Extension != "" && !extPattern.MatchString(m.Extension) {
			c.add(pos{m, "extension", ""}, mp+".extension", "%q: an extension is 2-8 digits", m.Extension)
		}
		if m.Greeting != "" && !greetingPattern.MatchString(m.Greeting) {
			c.add(pos{m, "greeting", ""}, mp+".greeting", "%q: a prompt name uses only letters, digits, '_' and '-'", m.Greeting)
		}
	}
}

// mailboxRefs checks what mailboxes refer to, once users are known (pass 3).
func (c *checker) mailboxRefs(x *tenantIndex, t *Tenant, tp string) {
	for i, m := range t.Mailboxes {
		if m == nil {
			continue
		}
		mp := fmt.Sprintf("%s.mailboxes[%s]", tp, label(i, m.ID))
		if x.users[m.ID] != nil {
			c.conflict(pos{m, "id", ""}, mp+".id", "%q is already a user id (voicemail:%s would be ambiguous)", m.ID, m.ID)
		}
		if m.Extension != "" {
			if prev, taken := x.names[m.Extension]; taken {
				c.conflict(pos{m, "extension", ""}, mp+".extension", "%q is already %s", m.Extension, prev)
			}
		}
		for j, id := range m.Notify {
			if x.users[id] == nil {
				c.add(pos{m, "notify", fmt.Sprint(j)}, fmt.Sprintf("%s.notify[%d]", mp, j), "%q is not a user id of this tenant", id)
			}
		}
	}
}

// userVoicemail checks a user's voicemail settings.
func (c *checker) userVoicemail(u *User, up string) {
	v := u.Voicemail
	if v == nil {
		return
	}
	vp := up + ".voicemail"
	if v.Enabled {
		c.pin(pos{v, "pin", ""}, vp+".pin", v.PIN, v.PINHash)
	}
	if v.After < 0 {
		c.add(pos{v, "after", ""}, vp+".after", "%s: must not be negative", v.After)
	}
	if v.Greeting != "" && !greetingPattern.MatchString(v.Greeting) {
		c.add(pos{v, "greeting", ""}, vp+".greeting", "%q: a prompt name uses only letters, digits, '_' and '-'", v.Greeting)
	}
}

func (c *checker) pin(at pos, field, pin, hash string) {
	switch {
	case pin == "" && hash == "":
		c.add(at, field, "required (4-10 digits)")
	case pin != "" && !pinPattern.MatchString(pin):
		c.add(at, field, "want 4-10 digits")
	case pin == "" && !hexSHA256.MatchString(hash):
		c.add(at, field[:len(field)-len("pin")]+"pin_hash", "want 64 lowercase hex digits")
	}
}

// voicemailTarget reports whether voicemail:id names a mailbox: a tenant
// mailbox, or a user with voicemail enabled.
func (x *tenantIndex) voicemailTarget(id string) bool {
	if x.mailboxes[id] {
		return true
	}
	u := x.users[id]
	return u != nil && u.Voicemail != nil && u.Voicemail.Enabled
}

func mailboxID(m *Mailbox) string {
	if m == nil {
		return ""
	}
	return m.ID
}
