package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"
)

//go:embed kamailio/kamailio.cfg
var kamailioFS embed.FS

// kamailioModules is where Debian's kamailio package installs its modules.
const kamailioModules = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"

// kamailioOptions start one Kamailio.
type kamailioOptions struct {
	Bin      string
	Dir      string // scratch folder: kamailio.cfg, db/, run/
	Pop      population
	CPU      int // taskset CPU; -1 none
	Children int // UDP worker processes
	ShmMB    int // -m: shared memory in MB
}

// kamailioConfig is the data of bench/kamailio/kamailio.cfg.
type kamailioConfig struct {
	Children   int
	Listen     string
	ModulesDir string
	DBDir      string
	TrunkIP    string
	HashBits   int
	MaxRows    int // db_text max_result_rows: its default (100,000) truncates the scale curve's credentials
	Secret     string
}

// renderKamailioConfig fills the shipped config template.
func renderKamailioConfig(c kamailioConfig) (string, error) {
	src, err := kamailioFS.ReadFile("kamailio/kamailio.cfg")
	if err != nil {
		return "", err
	}
	t, err := template.New("kamailio.cfg").Option("missingkey=error").Parse(string(src))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, c); err != nil {
		return "", err
	}
	return b.String(), nil
}

// hashBits sizes a hash table of n entries: log2 rounded up, 4..20.
func hashBits(n int) int {
	b := 4
	for 1<<b < n && b < 20 {
		b++
	}
	return b
}

// startKamailio writes the config and credential tables and starts Kamailio
// in the foreground (-DD) with its log on stderr (-E).
func startKamailio(ctx context.Context, o kamailioOptions) (*server, error) {
	dbDir := filepath.Join(o.Dir, "db")
	runDir := filepath.Join(o.Dir, "run")
	for _, d := range []string{dbDir, runDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := o.Pop.writeKamailioDB(dbDir); err != nil {
		return nil, fmt.Errorf("kamailio tables: %w", err)
	}
	port, err := freePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	secret := make([]byte, 16)
	rand.Read(secret)
	cfg, err := renderKamailioConfig(kamailioConfig{
		Children: o.Children, Listen: addr, ModulesDir: kamailioModules, DBDir: dbDir,
		TrunkIP: trunkIP, HashBits: hashBits(o.Pop.total() + o.Pop.Tenants),
		MaxRows: max(100000, o.Pop.total()+o.Pop.Tenants+1), Secret: hex.EncodeToString(secret),
	})
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(o.Dir, "kamailio.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	name, argv := pinned(o.CPU, o.Bin, "-f", cfgPath, "-DD", "-E",
		"-m", strconv.Itoa(o.ShmMB), "-M", "16", "-Y", runDir, "-w", o.Dir)
	cmd := exec.Command(name, argv...)
	cmd.Dir = o.Dir
	return startServer(ctx, "kamailio", addr, cmd, true, startTimeout(time.Minute, o.Pop))
}

// kamailioVersion is the first line of `kamailio -v`.
func kamailioVersion(bin string) string {
	out, err := exec.Command(bin, "-v").Output()
	if err != nil {
		return "unknown"
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(strings.TrimPrefix(first, "version:"))
}
