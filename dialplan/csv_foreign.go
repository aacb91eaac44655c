package dialplan

import (
	"crypto/rand"
	"strings"
	"unicode"
)

// Files customers bring when they move from another hosted-phone service.
// Neither has our id column or passwords, so a file in one of these layouts
// gets ids made from each person's email (or name, or number) and a SIP
// password generated for every new user, returned once in the report. The
// layouts are recognised by their header row alone:
//
//   - iPlum's bulk-upload template: four columns, the login type
//     ("phone" or "email"), the phone number (Excel users are told to type
//     '+14081231234 to keep the plus), the email and the name.
//   - MultiLine's accounts: the batch template (First Name, Last Name, Email,
//     Assigned Number, …) or the accounts download (Name, Device #,
//     Assigned Number, MultiLine, …). Columns we have no use for are skipped.

// Pseudo-columns of a foreign layout, beyond our own.
const (
	colIgnore   = -1 // a column we skip
	colFullName = -2 // one "name" cell, split into first and last
	colNumber2  = -3 // a second number column, used when direct_number is blank
)

// foreignFormat maps a provider's header names onto our columns.
type foreignFormat struct {
	name string
	// column maps a normalised header name to our column or a pseudo-column.
	column func(name string) int
	// matches reports whether a normalised header row is this layout.
	matches func(names map[string]bool) bool
}

var foreignFormats = []foreignFormat{
	{
		name: "iplum",
		matches: func(h map[string]bool) bool {
			return h["email"] && h["name"] && hasAny(h, iplumLoginType) && hasAny(h, phoneColumns)
		},
		column: func(n string) int {
			switch {
			case n == "email":
				return colEmail
			case n == "name":
				return colFullName
			case iplumLoginType[n]:
				return colIgnore // phone|email: how iPlum logs the person in; SIP uses the id
			case phoneColumns[n]:
				return colDirectNumber
			}
			return colIgnore
		},
	},
	{
		name: "multiline",
		matches: func(h map[string]bool) bool {
			batch := h["first name"] && h["last name"]
			download := h["name"] && (h["multiline status"] || h["device #"]) && h["assigned number"]
			return !h["id"] && (batch || download)
		},
		column: func(n string) int {
			switch n {
			case "first name":
				return colFirstName
			case "last name":
				return colLastName
			case "name":
				return colFullName
			case "email", "email or device #", "email address":
				return colEmail
			case "assigned number", "number", "phone number":
				return colDirectNumber
			case "multiline", "multiline number":
				return colNumber2
			case "extension":
				return colExtension
			}
			return colIgnore
		},
	},
}

var (
	iplumLoginType = map[string]bool{"login type": true, "iplum id (phone/email)": true, "iplum id": true, "phone/email": true, "login id": true}
	phoneColumns   = map[string]bool{"phone number": true, "phone #": true, "phone": true}
)

func hasAny(h, names map[string]bool) bool {
	for n := range names {
		if h[n] {
			return true
		}
	}
	return false
}

// normHeader is a header cell as the layouts name it: lower case, single
// spaces, no spreadsheet BOM.
func normHeader(s string) string {
	s = strings.TrimPrefix(s, "\ufeff")
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// detectForeign returns the layout a header row is in, or nil for ours.
func detectForeign(header []string) *foreignFormat {
	names := map[string]bool{}
	for _, h := range header {
		names[normHeader(h)] = true
	}
	for i := range foreignFormats {
		if foreignFormats[i].matches(names) {
			return &foreignFormats[i]
		}
	}
	return nil
}

// foreignRow holds the cells of a row that have no column of ours.
type foreignRow struct {
	fullName string
	number2  string
}

// finishForeign turns the rows of a foreign file into rows of ours: names
// split, numbers cleaned, ids made.
func finishForeign(f *csvFile, extra []foreignRow) {
	f.has[colID] = true
	f.has[colFirstName], f.has[colLastName] = true, true
	for i := range f.rows {
		r := &f.rows[i]
		x := extra[i]
		if r.cells[colFirstName] == "" && r.cells[colLastName] == "" && x.fullName != "" {
			r.cells[colFirstName], r.cells[colLastName] = SplitName(x.fullName)
		}
		if r.cells[colDirectNumber] == "" {
			r.cells[colDirectNumber] = x.number2
		}
		r.cells[colDirectNumber] = cleanNumber(r.cells[colDirectNumber])
		if r.cells[colID] == "" {
			r.cells[colID] = foreignID(r)
		}
	}
}

// cleanNumber undoes what spreadsheets do to phone numbers: the leading
// apostrophe that keeps Excel from eating the plus, spaces, dashes, dots
// and brackets.
func cleanNumber(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "'")
	var b strings.Builder
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case c == '+' && i == 0:
			b.WriteRune(c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return s // not a number we understand: the row reports it
		}
	}
	return b.String()
}

// foreignID makes a user id from what a foreign row has: the email's local
// part, else the name as first.last, else the number's digits. The same
// person gets the same id on every upload, so a fixed file uploaded again
// updates rather than duplicates.
func foreignID(r *csvRow) string {
	if email := r.cells[colEmail]; email != "" {
		local, _, _ := strings.Cut(email, "@")
		if id := foreignIDPart(local); id != "" {
			return id
		}
	}
	if id := foreignIDPart(JoinName(r.cells[colFirstName], r.cells[colLastName])); id != "" {
		return id
	}
	if n := strings.TrimPrefix(r.cells[colDirectNumber], "+"); n != "" {
		return foreignIDPart("u" + n)
	}
	return ""
}

// foreignIDPart lowers s and keeps what an id may hold, a space becoming a dot.
func foreignIDPart(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(strings.TrimSpace(s)) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
			b.WriteRune(c)
		case unicode.IsSpace(c):
			b.WriteByte('.')
		}
	}
	return strings.Trim(b.String(), ".-_")
}

// generatedPassword is a SIP password for a new user of a foreign file.
func generatedPassword() string { return rand.Text() }
