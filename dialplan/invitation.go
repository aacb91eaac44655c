package dialplan

import "time"

// Invitation is an emailed invitation to sign in to the console: the link
// carries a random token, and only its SHA-256 (Hash, hex) is stored, with
// the user, so it travels with the directory to every instance and store.
// Accepting it sets the user's portal password and removes it; inviting
// again replaces it, so an older link stops working. An Invitation is
// replaced, never changed in place: clones of a directory share it.
type Invitation struct {
	Hash    string    `yaml:"hash" json:"hash,omitempty"`
	Sent    time.Time `yaml:"sent" json:"sent"`
	Expires time.Time `yaml:"expires" json:"expires"`
}

// User statuses as the admin API and console show them.
const (
	UserInvited = "invited" // an invitation is pending
	UserExpired = "invite_expired"
	UserActive  = "active" // signs in to the console with a portal password
)

// SignInStatus is the user's sign-in status at now: "" when they were never
// invited and have no portal password.
func (u *User) SignInStatus(now time.Time) string {
	switch {
	case u.Invitation != nil && u.Invitation.Expires.After(now):
		return UserInvited
	case u.PortalHash != "":
		return UserActive
	case u.Invitation != nil:
		return UserExpired
	}
	return ""
}
