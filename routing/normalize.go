package routing

// DefaultCountryCode is the country calling code used when a tenant sets none:
// North America (NANP).
const DefaultCountryCode = "1"

// Emergency short codes. They are recognised whatever the tenant's country
// code and always leave through a trunk as dialled.
var emergencyCodes = [...]string{"911", "112", "999", "933"}

// Normalize turns what a tenant's user dials into an E.164 number ("+" and
// 7–15 digits, the first not 0). countryCode is the tenant's country calling
// code, digits without "+"; "" means DefaultCountryCode. The rules, in order:
//
//  1. Visual separators (space, '-', '.', '(', ')') are removed; any other
//     character except a leading '+' makes it not a number.
//  2. An emergency short code (911, 112, 999, 933) is returned as is with
//     emergency set.
//  3. "+" and digits: as is.
//  4. "00" and digits: "+" and the digits.
//  5. Country code 1 (NANP): "011" and digits → "+" and the digits; 10 digits
//     starting 2–9 → "+1" and the digits; 11 digits "1" then 2–9 → "+" and the
//     digits.
//  6. Other country codes: one leading "0" then the national number →
//     "+", the country code and the national number.
//
// The result must then be "+" and 7–15 digits not starting with 0; anything
// else returns ok=false.
func Normalize(dialled, countryCode string) (e164 string, emergency bool, ok bool) {
	if countryCode == "" {
		countryCode = DefaultCountryCode
	}
	// Fast path: already clean (the common case allocates nothing).
	s := dialled
	if !clean(s) {
		var buf [32]byte
		b := buf[:0]
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '\t':
			case c == '+' && len(b) == 0, '0' <= c && c <= '9':
				if len(b) == 32 {
					return "", false, false
				}
				b = append(b, c)
			default:
				return "", false, false
			}
		}
		s = string(b)
	}
	if s == "" || s == "+" {
		return "", false, false
	}
	for _, code := range emergencyCodes {
		if s == code {
			return s, true, true
		}
	}
	switch {
	case s[0] == '+':
		e164 = s
	case len(s) > 2 && s[:2] == "00":
		e164 = "+" + s[2:]
	case countryCode == "1":
		switch {
		case len(s) > 3 && s[:3] == "011":
			e164 = "+" + s[3:]
		case len(s) == 10 && s[0] >= '2':
			e164 = "+1" + s
		case len(s) == 11 && s[0] == '1' && s[1] >= '2':
			e164 = "+" + s
		}
	case len(s) > 1 && s[0] == '0' && s[1] != '0' && digits(countryCode):
		e164 = "+" + countryCode + s[1:]
	}
	if !isE164(e164) {
		return "", false, false
	}
	return e164, false, true
}

// clean reports whether s is an optional '+' followed by digits only.
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || c == '+' && i == 0) {
			return false
		}
	}
	return true
}

// digits reports whether s is 1–3 digits not starting with 0, a country code.
func digits(s string) bool {
	if len(s) == 0 || len(s) > 3 || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isE164 reports whether s is "+" and 7–15 digits, the first not 0.
func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
