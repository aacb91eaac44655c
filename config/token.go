package config

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// tokenRead remembers the admin token read from a file, so a token that came
// from HTTP.AdminTokenFile is told apart from one set explicitly.
type tokenRead struct {
	file, value string
}

// tokenFromFile reports whether HTTP.AdminToken holds the content of HTTP.AdminTokenFile.
func (c *Config) tokenFromFile() bool {
	return c.token.file != "" && c.token.file == c.HTTP.AdminTokenFile && c.token.value == c.HTTP.AdminToken
}

// readAdminToken fills HTTP.AdminToken from HTTP.AdminTokenFile. It leaves
// the token alone when it was set explicitly (a conflict Validate reports)
// and when the file cannot be read or is empty (Validate reports that too).
// A token read from a file that is no longer configured is dropped.
func (c *Config) readAdminToken() {
	if c.token.file != "" && !c.tokenFromFile() {
		if c.HTTP.AdminToken == c.token.value {
			c.HTTP.AdminToken = ""
		}
		c.token = tokenRead{}
	}
	if c.HTTP.AdminTokenFile == "" || c.HTTP.AdminToken != "" {
		return
	}
	tok, err := readToken(c.HTTP.AdminTokenFile)
	if err != nil || tok == "" {
		return
	}
	c.HTTP.AdminToken = tok
	c.token = tokenRead{file: c.HTTP.AdminTokenFile, value: tok}
}

// maxTokenFile bounds the size of an admin token file.
const maxTokenFile = 4 << 10

// readToken reads a token file: a regular file (or a link to one) of at most
// maxTokenFile bytes, so a path like /dev/zero or a FIFO cannot hang loading.
func readToken(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("not a regular file")
	}
	if fi.Size() > maxTokenFile {
		return "", fmt.Errorf("larger than %d bytes", maxTokenFile)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxTokenFile {
		return "", fmt.Errorf("larger than %d bytes", maxTokenFile)
	}
	return strings.TrimSpace(string(b)), nil
}
