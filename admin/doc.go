// Package admin serves switchboard's HTTP surface: the ops endpoints
// (/metrics, /healthz, /readyz) and, when an admin token is configured, the
// admin API under /api/v1/ (api.go): tenants, users, numbers, groups,
// attendants, CSV import, registrations and calls, documented in
// docs/openapi.yaml.
//
// A request flows: bearer-token check (API.ServeHTTP) → ServeMux route →
// handler, which reads through dialplan.Reader and writes through one
// dialplan.Writer.UpdateTenant per change (the directory's validation is the
// one rule book) → errorFor maps any error to its status and JSON body.
// Users, groups and attendants share one generic CRUD (resource.go) with
// per-kind hooks. It only reads what it is given through small interfaces;
// it never reaches into the SIP stack or the stores directly.
package admin
