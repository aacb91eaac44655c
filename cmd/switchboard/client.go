package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// client is a thin admin API client: one request, JSON in and out.
type client struct {
	base  string // "http://127.0.0.1:8080/api/v1"
	token string
	http  *http.Client
}

// clientFlags are the flags every admin client command takes.
type clientFlags struct {
	server, token string
	json          bool
}

// register adds -server, -token and -json to fs, defaulting from
// SWITCHBOARD_SERVER and SWITCHBOARD_TOKEN.
func (cf *clientFlags) register(fs *flag.FlagSet, environ []string) {
	server := envOf(environ, "SWITCHBOARD_SERVER")
	if server == "" {
		server = "http://127.0.0.1:8080"
	}
	fs.StringVar(&cf.server, "server", server, "admin API `URL` (env SWITCHBOARD_SERVER)")
	fs.StringVar(&cf.token, "token", envOf(environ, "SWITCHBOARD_TOKEN"), "admin bearer `token` (env SWITCHBOARD_TOKEN)")
	fs.BoolVar(&cf.json, "json", false, "print the API's JSON answer instead of a table")
}

func (cf *clientFlags) client() (*client, error) {
	if cf.token == "" {
		return nil, errors.New("no admin token: pass -token or set SWITCHBOARD_TOKEN")
	}
	u, err := url.Parse(cf.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("-server %q: want a URL such as http://127.0.0.1:8080", cf.server)
	}
	base := strings.TrimSuffix(strings.TrimSuffix(cf.server, "/"), "/api/v1")
	return &client{base: base + "/api/v1", token: cf.token, http: &http.Client{Timeout: 2 * time.Minute}}, nil
}

func envOf(environ []string, key string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// apiError is the API's error body.
type apiError struct {
	Status   int
	Message  string `json:"error"`
	Field    string `json:"field"`
	Problems []struct {
		Field string `json:"field"`
		Error string `json:"error"`
	} `json:"problems"`
}

func (e *apiError) Error() string {
	var b strings.Builder
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Message)
	fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	for _, p := range e.Problems[min(1, len(e.Problems)):] {
		b.WriteString("\n  " + p.Field + ": " + p.Error)
	}
	return b.String()
}

// do sends a request to path (below /api/v1, already escaped) and returns
// the raw JSON answer, or an *apiError for a non-2xx status.
func (c *client) do(ctx context.Context, method, path string, body io.Reader, contentType string) ([]byte, error) {
	res, err := c.send(ctx, method, path, body, contentType, "application/json")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	return data, nil
}

// send makes a request and returns a 2xx answer with its body unread; any
// other status becomes an *apiError.
func (c *client) send(ctx context.Context, method, path string, body io.Reader, contentType, accept string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", accept)
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode/100 == 2 {
		return res, nil
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	e := &apiError{Status: res.StatusCode}
	if json.Unmarshal(data, e) != nil || e.Message == "" {
		e.Message = strings.TrimSpace(string(data))
		if e.Message == "" {
			e.Message = http.StatusText(res.StatusCode)
		}
	}
	return nil, e
}

// doJSON sends v (nil for no body) as JSON.
func (c *client) doJSON(ctx context.Context, method, path string, v any) ([]byte, error) {
	var body io.Reader
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	return c.do(ctx, method, path, body, "application/json")
}

// printJSON writes an answer indented, for -json.
func printJSON(w io.Writer, data []byte) {
	var buf bytes.Buffer
	if json.Indent(&buf, data, "", "  ") != nil {
		buf.Reset()
		buf.Write(data)
	}
	if !bytes.HasSuffix(buf.Bytes(), []byte("\n")) {
		buf.WriteByte('\n')
	}
	buf.WriteTo(w)
}
