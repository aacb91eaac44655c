package admin

import (
	"net/http"

	"github.com/switchboard/switchboard/docs"
)

// serveOpenAPI answers the API's OpenAPI document, embedded from
// docs/openapi.yaml so it always matches the binary.
func serveOpenAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(docs.OpenAPI)
	return nil
}
