package dialplan

import (
	"strings"
	"time"
)

// Defaults applied by SetDefaults (and, for DefaultRetries, by the decoders).
const (
	DefaultExtensionPolicy  = "7XXX"
	DefaultStrategy         = Simultaneous
	DefaultRing             = Duration(20 * time.Second)
	DefaultForwardAfter     = Duration(20 * time.Second)
	DefaultAttendantTimeout = Duration(5 * time.Second)
	// DefaultRetries is applied when the retries key is absent from YAML or
	// JSON; an explicit 0 means no retry, so SetDefaults cannot apply it.
	DefaultRetries = 2
)

// SetDefaults fills in what a directory may leave out and normalises what is
// case-insensitive. Validate does not call it (it accepts both the empty and
// the filled-in forms); Parse and Store.Replace call it before validating.
//
//   - tenant domain: trimmed and lowercased; extension_policy: 7XXX
//   - user name: first_name/last_name split from name, name joined from them
//   - user caller_id: main when the tenant has a main_number, else direct when
//     the user has a direct_number, else left empty (no caller-ID override)
//   - forward.after: 20s when forwarding on no_answer
//   - group strategy: simultaneous; ring: 20s
//   - attendant timeout: 5s (retries: see DefaultRetries)
//
// Direct numbers are not copied into Tenant.Numbers here; Compile routes them.
func SetDefaults(d *Directory) {
	for _, t := range d.Tenants {
		if t == nil {
			continue
		}
		t.Domain = strings.ToLower(strings.TrimSpace(t.Domain))
		if t.ExtensionPolicy == "" {
			t.ExtensionPolicy = DefaultExtensionPolicy
		}
		for _, u := range t.Users {
			if u == nil {
				continue
			}
			u.SyncName()
			if u.CallerID == "" {
				switch {
				case t.MainNumber != "":
					u.CallerID = CallerIDMain
				case u.DirectNumber != "":
					u.CallerID = CallerIDDirect
				}
			}
			if f := u.Forward; f != nil && f.When == ForwardNoAnswer && f.After == 0 {
				f.After = DefaultForwardAfter
			}
		}
		for _, g := range t.Groups {
			if g == nil {
				continue
			}
			if g.Strategy == "" {
				g.Strategy = DefaultStrategy
			}
			if g.Ring == 0 {
				g.Ring = DefaultRing
			}
		}
		for _, a := range t.Attendants {
			if a != nil && a.Timeout == 0 {
				a.Timeout = DefaultAttendantTimeout
			}
		}
	}
}
