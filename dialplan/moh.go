package dialplan

// MOH is a tenant's music on hold: what a caller hears while the engine
// holds its media — an attendant's transfer ringing (with wait: music), a
// screened forward being announced, a bridged call put on hold by the other
// side. Calls the proxy relays end to end keep the phones' own hold music.
type MOH struct {
	// Prompt names a prompt in media.prompts (e.g. "acme-hold" for
	// acme-hold.wav), played in a loop; "" = the built-in loop.
	Prompt string `yaml:"prompt,omitempty" json:"prompt,omitempty"`
}

// What an attendant's caller hears while the chosen target rings
// (Attendant.Wait).
const (
	WaitRingback = "ringback"
	WaitMusic    = "music"
)

func (c *checker) moh(t *Tenant, tp string) {
	if t.MOH == nil {
		return
	}
	if p := t.MOH.Prompt; p != "" && !greetingPattern.MatchString(p) {
		c.add(pos{t.MOH, "prompt", ""}, tp+".moh.prompt", "%q: a prompt name uses only letters, digits, '_' and '-' (the file name without .wav)", p)
	}
}

func (c *checker) wait(a *Attendant, ap string) {
	switch a.Wait {
	case "", WaitRingback, WaitMusic:
	default:
		c.add(pos{a, "wait", ""}, ap+".wait", "%q: want ringback or music", a.Wait)
	}
}
