// Package pgcluster initialises, starts and stops a private PostgreSQL cluster with the
// server packages' initdb and pg_ctl. Tests use it when DATABASE_URL is unset, and
// `posimport up` uses it for a laptop or small install. PostgreSQL refuses to run as root, so
// as root the commands run as the postgres user through runuser.
//
// The cluster trusts no one: its superuser has a random password, kept in the cluster's
// directory (mode 0600), and both its socket and its TCP port (127.0.0.1 only) require it
// (SCRAM). pg_hba.conf is written at every start, so a cluster made by an earlier version,
// which trusted every local user, gets a password (set in single-user mode, with the server
// down) and loses its trust lines.
package pgcluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ErrNotInstalled says the PostgreSQL server packages are missing, and what to install.
var ErrNotInstalled = errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found: " +
	"install the PostgreSQL server packages (Debian/Ubuntu: apt-get install postgresql; " +
	"macOS: brew install postgresql) or set DATABASE_URL")

// Options configures a cluster.
type Options struct {
	// Dir holds the cluster: data/ (the data directory), run/ (the socket) and postgres.log.
	Dir string
	// Port to listen on (127.0.0.1 only); 0 picks a free one.
	Port int
	// Fast trades durability for speed (fsync off): for throwaway test clusters only.
	Fast bool
	// Settings are further server settings, "name=value" each (a benchmark's
	// shared_preload_libraries, say).
	Settings []string
}

// Cluster is a running PostgreSQL cluster owned by this process.
type Cluster struct {
	opts     Options
	binDir   string
	port     int
	runAs    string // "postgres" when running as root, else ""
	password string // the postgres role's
}

// passwordFile holds the postgres role's password, under Options.Dir.
const passwordFile = "password"

// hba is the cluster's pg_hba.conf: a password on the socket and on 127.0.0.1, nothing else.
const hba = `# posimport's private cluster, written at each start: the superuser's password (SCRAM) on
# the socket and on 127.0.0.1, and nothing else.
local   all   all                  scram-sha-256
host    all   all   127.0.0.1/32   scram-sha-256
`

// Start initialises the cluster in opts.Dir if it has no data yet, then starts it and waits
// until it accepts connections. Data is kept between runs.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	binDir, err := findBinDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, binDir: binDir, port: opts.Port}
	if os.Geteuid() == 0 {
		c.runAs = "postgres"
		if _, err := user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("running as root needs the postgres user (created by the PostgreSQL server packages): %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Join(opts.Dir, "run"), 0o700); err != nil {
		return nil, err
	}
	_, err = os.Stat(filepath.Join(c.dataDir(), "PG_VERSION"))
	fresh := errors.Is(err, os.ErrNotExist)
	set, err := c.loadPassword()
	if err != nil {
		return nil, err
	}
	if err := c.chown(opts.Dir); err != nil {
		return nil, err
	}
	switch {
	case fresh:
		args := []string{"-D", c.dataDir(), "-U", "postgres", "-A", "scram-sha-256",
			"--pwfile", filepath.Join(opts.Dir, passwordFile), "-E", "UTF8", "--locale=C"}
		if opts.Fast {
			args = append(args, "--no-sync")
		}
		if out, err := c.run(ctx, "initdb", args...); err != nil {
			return nil, fmt.Errorf("initdb: %w: %s", err, out)
		}
	case set:
		// A cluster of an earlier version: give the superuser the new password while the
		// server is down, before it ever starts without trust.
		if out, err := c.runInput(ctx, "ALTER ROLE postgres PASSWORD '"+c.password+"'\n",
			"postgres", "--single", "-D", c.dataDir(), "postgres"); err != nil {
			return nil, fmt.Errorf("set the postgres role's password: %w: %s", err, out)
		}
	}
	if err := c.writeHBA(); err != nil {
		return nil, err
	}
	if c.port == 0 {
		if c.port, err = freePort(); err != nil {
			return nil, err
		}
	}
	settings := []string{
		"-p " + strconv.Itoa(c.port),
		"-c listen_addresses=127.0.0.1",
		"-c unix_socket_directories=" + filepath.Join(opts.Dir, "run"),
		"-c max_connections=300",
	}
	if opts.Fast {
		settings = append(settings, "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")
	}
	for _, s := range opts.Settings {
		settings = append(settings, "-c "+s)
	}
	if out, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-l", filepath.Join(opts.Dir, "postgres.log"),
		"-o", strings.Join(settings, " "), "-w", "-t", "60", "start"); err != nil {
		return nil, fmt.Errorf("pg_ctl start: %w: %s (see %s)", err, out, filepath.Join(opts.Dir, "postgres.log"))
	}
	return c, nil
}

// URL is the connection string of the cluster's postgres database, with the password.
func (c *Cluster) URL() string { return c.DatabaseURL("postgres") }

// DatabaseURL is the connection string of one database of the cluster, with the password.
func (c *Cluster) DatabaseURL(db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword("postgres", c.password),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// loadPassword reads the cluster's password, making one when there is none; set reports
// that it was made now.
func (c *Cluster) loadPassword() (set bool, err error) {
	path := filepath.Join(c.opts.Dir, passwordFile)
	b, err := os.ReadFile(path)
	if err == nil {
		if c.password = strings.TrimSpace(string(b)); c.password == "" {
			return false, fmt.Errorf("%s: empty", path)
		}
		return false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	raw := make([]byte, 24)
	_, _ = rand.Read(raw) // crypto/rand never fails on supported platforms
	c.password = hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(c.password+"\n"), 0o600); err != nil {
		return false, fmt.Errorf("write the cluster's password: %w", err)
	}
	return true, nil
}

// writeHBA replaces the cluster's pg_hba.conf with hba.
func (c *Cluster) writeHBA() error {
	path := filepath.Join(c.dataDir(), "pg_hba.conf")
	if err := os.WriteFile(path, []byte(hba), 0o600); err != nil {
		return fmt.Errorf("write pg_hba.conf: %w", err)
	}
	return c.chown(path)
}

// Port is the TCP port the cluster listens on.
func (c *Cluster) Port() int { return c.port }

// Stop shuts the cluster down. mode is "fast" (clean) or "immediate" (a crash, for fault tests).
func (c *Cluster) Stop(ctx context.Context, mode string) error {
	if out, err := c.run(ctx, "pg_ctl", "-D", c.dataDir(), "-m", mode, "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %w: %s", err, out)
	}
	return nil
}

// Restart starts a stopped cluster again on the same port.
func (c *Cluster) Restart(ctx context.Context) error {
	_, err := Start(ctx, Options{Dir: c.opts.Dir, Port: c.port, Fast: c.opts.Fast})
	return err
}

func (c *Cluster) dataDir() string { return filepath.Join(c.opts.Dir, "data") }

func (c *Cluster) run(ctx context.Context, tool string, args ...string) (string, error) {
	return c.runInput(ctx, "", tool, args...)
}

// runInput runs tool with input on its standard input.
func (c *Cluster) runInput(ctx context.Context, input, tool string, args ...string) (string, error) {
	bin := filepath.Join(c.binDir, tool)
	var cmd *exec.Cmd
	if c.runAs != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.runAs, "--", bin}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, bin, args...)
	}
	// The server must outlive a cancelled start context only via pg_ctl's own daemonising.
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if input != "" {
		cmd.Stdin = strings.NewReader(input)
	}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// chown hands the cluster directory to the postgres user when running as root.
func (c *Cluster) chown(dir string) error {
	if c.runAs == "" {
		return nil
	}
	u, err := user.Lookup(c.runAs)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// findBinDir finds initdb and pg_ctl: on PATH, or in Debian's versioned directories (newest first).
func findBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	candidates, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	candidates = append(candidates, "/usr/local/pgsql/bin/initdb", "/opt/homebrew/bin/initdb", "/usr/local/bin/initdb")
	sort.Slice(candidates, func(i, j int) bool { return versionOf(candidates[i]) > versionOf(candidates[j]) })
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return filepath.Dir(c), nil
		}
	}
	return "", ErrNotInstalled
}

func versionOf(path string) int {
	parts := strings.Split(path, string(filepath.Separator))
	for _, p := range parts {
		if v, err := strconv.Atoi(p); err == nil {
			return v
		}
	}
	return 0
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WaitReady polls until the cluster accepts connections or ctx ends.
func WaitReady(ctx context.Context, dial func(context.Context) error) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if err := dial(ctx); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
