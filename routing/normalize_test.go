package routing

import (
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name      string
		dialled   string
		cc        string
		want      string
		emergency bool
		ok        bool
	}{
		{"E.164", "+14085551234", "1", "+14085551234", false, true},
		{"E.164 other country", "+442071234567", "1", "+442071234567", false, true},
		{"E.164 with separators", "+1 (408) 555-1234", "1", "+14085551234", false, true},
		{"E.164 dots", "+44.20.7123.4567", "44", "+442071234567", false, true},
		{"E.164 shortest", "+1234567", "1", "+1234567", false, true},
		{"E.164 longest", "+123456789012345", "1", "+123456789012345", false, true},
		{"E.164 too short", "+123456", "1", "", false, false},
		{"E.164 too long", "+1234567890123456", "1", "", false, false},
		{"E.164 leading zero", "+0441234567", "1", "", false, false},
		{"plus alone", "+", "1", "", false, false},
		{"plus inside", "1+4085551234", "1", "", false, false},
		{"00 international", "00442071234567", "1", "+442071234567", false, true},
		{"00 international non-NANP", "0033142685300", "44", "+33142685300", false, true},
		{"000", "000442071234567", "44", "", false, false},
		{"NANP 011", "011442071234567", "1", "+442071234567", false, true},
		{"NANP 10 digits", "4085551234", "1", "+14085551234", false, true},
		{"NANP 10 digits separators", "(408) 555-1234", "1", "+14085551234", false, true},
		{"NANP 10 digits starting 1", "1085551234", "1", "", false, false},
		{"NANP 10 digits starting 0", "0185551234", "1", "", false, false},
		{"00 before NANP 10 digits", "0085551234", "1", "+85551234", false, true},
		{"NANP 11 digits", "14085551234", "1", "+14085551234", false, true},
		{"NANP 11 digits bad area code", "11085551234", "1", "", false, false},
		{"NANP 7 digits local", "5551234", "1", "", false, false},
		{"NANP default country code", "4085551234", "", "+14085551234", false, true},
		{"NANP 0 national is not a rule", "04085551234", "1", "", false, false},
		{"UK national", "02071234567", "44", "+442071234567", false, true},
		{"UK national spaces", "020 7123 4567", "44", "+442071234567", false, true},
		{"UK without 0", "2071234567", "44", "", false, false},
		{"UK 011 is national, too long", "011442071234567", "44", "", false, false},
		{"bad country code", "02071234567", "4a", "", false, false},
		{"country code with zero", "02071234567", "044", "", false, false},
		{"emergency 911", "911", "1", "911", true, true},
		{"emergency 112", "112", "44", "112", true, true},
		{"emergency 999", "999", "44", "999", true, true},
		{"emergency 933", "933", "1", "933", true, true},
		{"emergency with separators", "9-1-1", "1", "911", true, true},
		{"not emergency 9111", "9111", "1", "", false, false},
		{"extension", "7001", "1", "", false, false},
		{"name", "bob", "1", "", false, false},
		{"star code", "*72", "1", "", false, false},
		{"hash", "4085551234#", "1", "", false, false},
		{"empty", "", "1", "", false, false},
		{"only separators", " - ", "1", "", false, false},
		{"very long", "+1234567890123456789012345678901234567890", "1", "", false, false},
		{"very long with separators", "+1 234 567 890 123 456 789 012 345 678 901 234 567 890", "1", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, emergency, ok := Normalize(tt.dialled, tt.cc)
			if got != tt.want || emergency != tt.emergency || ok != tt.ok {
				t.Errorf("Normalize(%q, %q) = %q, %v, %v, want %q, %v, %v",
					tt.dialled, tt.cc, got, emergency, ok, tt.want, tt.emergency, tt.ok)
			}
		})
	}
}

func TestNormalizeAllocs(t *testing.T) {
	for _, d := range []string{"+14085551234", "7001", "bob", "911"} {
		if n := testing.AllocsPerRun(100, func() { Normalize(d, "1") }); n != 0 {
			t.Errorf("Normalize(%q) allocates %v times, want 0", d, n)
		}
	}
}

// FuzzNormalize checks that Normalize never panics, that what it accepts is
// an emergency code or E.164, and that E.164 normalises to itself.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+14085551234", "4085551234", "14085551234", "011442071234567",
		"00442071234567", "02071234567", "911", "(408) 555-1234", "bob", "", "+", "0", "00"} {
		f.Add(s, "1")
		f.Add(s, "44")
	}
	f.Fuzz(func(t *testing.T, dialled, cc string) {
		got, emergency, ok := Normalize(dialled, cc)
		switch {
		case !ok:
			if got != "" || emergency {
				t.Fatalf("Normalize(%q, %q) = %q, %v, false: want zero values when !ok", dialled, cc, got, emergency)
			}
		case emergency:
			if got != "911" && got != "112" && got != "999" && got != "933" {
				t.Fatalf("Normalize(%q, %q) = %q, emergency: not an emergency code", dialled, cc, got)
			}
		default:
			if !isE164(got) {
				t.Fatalf("Normalize(%q, %q) = %q: not E.164", dialled, cc, got)
			}
			if again, _, ok := Normalize(got, cc); !ok || again != got {
				t.Fatalf("Normalize(%q) = %q, %v: E.164 must normalise to itself", got, again, ok)
			}
		}
	})
}
