// Package admin serves switchboard's HTTP surface: the ops endpoints
// (/metrics, /healthz, /readyz) today, and the admin API under /api/v1/ as it
// grows. It only reads what it is given through small interfaces; it never
// reaches into the SIP stack or the stores directly.
package admin
