// Package mailbox stores voicemail: each mailbox's messages (8 kHz mono
// 16-bit WAV plus metadata) and its recorded greeting, with a per-mailbox
// cap on count and bytes. Memory serves one instance; Redis serves several,
// so any instance plays any message.
//
// Every change is announced to the Watch callbacks of every instance (Redis
// pub/sub on <prefix>vm:changed), which is how message-waiting lamps follow
// messages left, heard or deleted anywhere — a call, the admin API, another
// instance. The store knows nothing of SIP or the directory: a Box is a
// tenant domain and a mailbox name ("user:vic", "mailbox:general").
package mailbox
