// Package docs embeds the documents the binary serves: the admin API's
// OpenAPI description (GET /api/v1/openapi.yaml).
package docs

import _ "embed"

// OpenAPI is docs/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
