package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/switchboard/switchboard/dialplan"
)

// Request body limits.
const (
	maxJSONBody = 1 << 20  // 1 MiB
	maxCSVBody  = 20 << 20 // 20 MiB
)

// apiError is the JSON body of every error answer: {"error", "field"}, and
// for a directory that does not validate, every problem.
type apiError struct {
	Error    string        `json:"error"`
	Field    string        `json:"field,omitempty"`
	Problems []problemJSON `json:"problems,omitempty"`
	status   int           // not sent
}

type problemJSON struct {
	Field string `json:"field,omitempty"`
	Error string `json:"error"`
}

// requestError is a problem with the request itself, with its status.
type requestError struct {
	status int
	field  string
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(field, format string, args ...any) error {
	return &requestError{status: http.StatusBadRequest, field: field, msg: fmt.Sprintf(format, args...)}
}

// conflict is a 409 about field.
func conflict(field, format string, args ...any) error {
	return &requestError{status: http.StatusConflict, field: field, msg: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, dialplan.ErrNotFound)...)
}

// errorFor maps an error to its status code and body: the one place that
// decides statuses.
//
//   - a malformed request (JSON, query, path) → its own status, usually 400
//   - a body over the limit → 413
//   - dialplan.Problems → 400, or 409 when every problem is a conflict
//     (a duplicate id, extension, alias, domain or number)
//   - dialplan.ErrNotFound → 404; ErrExists, ErrNotEmpty → 409
//   - anything else → 500, logged, with no detail to the client
func errorFor(err error) apiError {
	var (
		re   *requestError
		mbe  *http.MaxBytesError
		ps   dialplan.Problems
		body apiError
	)
	switch {
	case errors.As(err, &re):
		return apiError{status: re.status, Error: re.msg, Field: re.field}
	case errors.As(err, &mbe):
		return apiError{status: http.StatusRequestEntityTooLarge, Error: fmt.Sprintf("request body is larger than %d bytes", mbe.Limit)}
	case errors.As(err, &ps) && len(ps) > 0:
		body = apiError{status: http.StatusBadRequest, Error: ps[0].Reason, Field: ps[0].Field}
		if ps.Conflict() {
			body.status = http.StatusConflict
		}
		if len(ps) > 1 {
			for _, p := range ps {
				body.Problems = append(body.Problems, problemJSON{Field: p.Field, Error: p.Reason})
			}
		}
		return body
	case errors.Is(err, dialplan.ErrNotFound):
		return apiError{status: http.StatusNotFound, Error: trimSentinel(err, dialplan.ErrNotFound, "not found")}
	case errors.Is(err, dialplan.ErrExists):
		return apiError{status: http.StatusConflict, Error: trimSentinel(err, dialplan.ErrExists, "already exists")}
	case errors.Is(err, dialplan.ErrNotEmpty):
		return apiError{status: http.StatusConflict, Error: trimSentinel(err, dialplan.ErrNotEmpty, "is not empty")}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apiError{status: http.StatusServiceUnavailable, Error: "request cancelled or timed out"}
	}
	return apiError{status: http.StatusInternalServerError, Error: "internal error"}
}

// trimSentinel turns "tenant x: dialplan: not found" into "tenant x: not found".
func trimSentinel(err, sentinel error, plain string) string {
	return strings.ReplaceAll(err.Error(), sentinel.Error(), plain)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// decodeJSON reads a JSON object of at most maxJSONBody bytes into v,
// refusing unknown fields and trailing data.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := readBody(w, r, maxJSONBody)
	if err != nil {
		return err
	}
	return strictUnmarshal(body, v)
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	return b, nil
}

// strictUnmarshal decodes one JSON value into v with unknown fields refused,
// turning decoder errors into 400s that name the field.
func strictUnmarshal(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return badRequest("", "request body is empty (want a JSON object)")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("", "invalid JSON: more data after the object")
	}
	return nil
}

func jsonError(err error) error {
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &se):
		return badRequest("", "invalid JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		if te.Field == "" {
			return badRequest("", "invalid JSON: want an object, got %s", te.Value)
		}
		return badRequest(te.Field, "%s: got a JSON %s, want %s", te.Field, te.Value, jsonType(te.Type.Kind().String()))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "invalid JSON: unexpected end of body")
	}
	// encoding/json has no typed error for these two; its messages are stable.
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return badRequest(name, "unknown field %q", name)
	}
	return badRequest("", "invalid JSON: %s", strings.TrimPrefix(msg, "json: "))
}

func jsonType(kind string) string {
	switch kind {
	case "slice", "array":
		return "a list"
	case "map", "struct", "ptr":
		return "an object"
	case "bool":
		return "true or false"
	case "int", "int64", "uint", "float64":
		return "a number"
	}
	return "a " + kind
}
