// Package dialplan owns the directory switchboard routes by: tenants (SIP
// domains) with their users, extensions, aliases, numbers, ring groups and
// auto-attendant menus.
//
// It owns, from file to call path:
//
//   - the model (Directory, Tenant, User, …), the shape of the directory YAML
//     file and of the admin API's JSON bodies;
//   - loading: Load/Parse decode YAML with line numbers, reject unknown keys
//     and report every problem at once as "file:line: field: reason" (Problems);
//   - SetDefaults and Validate, which also check directories that did not
//     come from a file (the admin API);
//   - HashPasswords and HA1: plaintext passwords become digest HA1 values
//     (MD5 and SHA-256) per digest username and are then forgotten;
//   - Compile: a validated directory becomes a Snapshot of immutable
//     per-tenant Views, indexed for the lookups of every call and REGISTER
//     (a SIP name to an Entry, a digest username to a Credential, a number to
//     a Target);
//   - the Reader and Store interfaces and MemoryStore, the embedded store
//     that swaps Snapshots atomically so that reads never lock or allocate;
//   - RedisStore, the directory shared by several instances in Redis, with a
//     bounded in-process cache of compiled Views invalidated over pub/sub
//     (docs/redis.md); package storetest holds the conformance suite every
//     Store passes;
//   - Demo, the embedded demo directory.
//
// The flow is:
//
//	YAML or JSON ─▶ Directory ─SetDefaults─▶ Validate ─▶ HashPasswords ─▶ Compile ─▶ Snapshot{View…}
//	                                          (Problems)                                  ▲ atomic swap
//	                               Store.Replace does all of this on a copy ──────────────┘
//
// Names in SIP: within a tenant, user ids, extensions (of users and groups)
// and alias names share one namespace, so View.Lookup resolves any of them; a
// user's registrations are stored under Entry.AOR, its id-based
// address-of-record, whichever name the phone used.
package dialplan
