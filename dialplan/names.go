package dialplan

import "strings"

// A user's name is kept as first and last name, as the seeds' forms and CSV
// files have it; the single name field of older directories and clients
// keeps working: when only name is given it is split on its last space, and
// name is always written as first and last joined.

// SplitName splits a full name on its last space: "Mary Ann Lee" is
// ("Mary Ann", "Lee"); a single word is a first name.
func SplitName(name string) (first, last string) {
	name = strings.Join(strings.Fields(name), " ")
	i := strings.LastIndexByte(name, ' ')
	if i < 0 {
		return name, ""
	}
	return name[:i], name[i+1:]
}

// JoinName is the full name of a first and a last name.
func JoinName(first, last string) string {
	return strings.TrimSpace(strings.TrimSpace(first) + " " + strings.TrimSpace(last))
}

// Names returns the user's first and last name, split from Name when the
// user was written with a name only.
func (u *User) Names() (first, last string) {
	if u.FirstName != "" || u.LastName != "" {
		return u.FirstName, u.LastName
	}
	return SplitName(u.Name)
}

// SyncName makes Name, FirstName and LastName agree: first and last win
// when either is set, otherwise they are split from Name.
func (u *User) SyncName() {
	u.FirstName, u.LastName = u.Names()
	u.FirstName, u.LastName = strings.TrimSpace(u.FirstName), strings.TrimSpace(u.LastName)
	u.Name = JoinName(u.FirstName, u.LastName)
}
