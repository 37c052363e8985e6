package pgcluster_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/posimport/posimport/pkg/platform/pgcluster"
)

// connects reports whether a connection with dsn is accepted.
func connects(t *testing.T, dsn string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return false
	}
	_ = conn.Close(ctx)
	return true
}

// TestClusterNeedsItsPassword: the private cluster accepts its superuser with the password
// it made, and nobody without it, on TCP or on its socket; a cluster made by an earlier
// version, which trusted every local user, gets a password at its next start and keeps its
// data.
func TestClusterNeedsItsPassword(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		// The postgres user must reach the cluster's directory.
		if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background(), "immediate") })

	u, err := url.Parse(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	password, ok := u.User.Password()
	if !ok || len(password) < 32 {
		t.Fatalf("URL %s has no strong password", u.Redacted())
	}
	socket := filepath.Join(dir, "run")
	refused := map[string]string{
		"TCP without password":    strings.Replace(c.URL(), ":"+password+"@", "@", 1),
		"TCP with wrong password": strings.Replace(c.URL(), password, "wrong", 1),
		"socket without password": "host=" + socket + " port=" + u.Port() + " user=postgres dbname=postgres",
		"other user on socket":    "host=" + socket + " port=" + u.Port() + " user=nobody dbname=postgres",
	}
	check := func(when string) {
		t.Helper()
		if !connects(t, c.URL()) {
			t.Errorf("%s: the cluster refuses its own URL", when)
		}
		if !connects(t, "host="+socket+" port="+u.Port()+" user=postgres dbname=postgres password="+password) {
			t.Errorf("%s: the socket refuses the password", when)
		}
		for name, dsn := range refused {
			if connects(t, dsn) {
				t.Errorf("%s: %s was accepted", when, name)
			}
		}
		hba, err := os.ReadFile(filepath.Join(dir, "data", "pg_hba.conf"))
		if err != nil || strings.Contains(string(hba), "trust") {
			t.Errorf("%s: pg_hba.conf %q, %v", when, hba, err)
		}
		if st, err := os.Stat(filepath.Join(dir, "password")); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: password file %v %v, want mode 0600", when, st, err)
		}
	}
	check("new cluster")

	// Make it what an earlier version left: no password file, every local user trusted.
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)
	if err := c.Stop(ctx, "fast"); err != nil {
		t.Fatal(err)
	}
	trust := "local all all trust\nhost all all 127.0.0.1/32 trust\n"
	if err := os.WriteFile(filepath.Join(dir, "data", "pg_hba.conf"), []byte(trust), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "password")); err != nil {
		t.Fatal(err)
	}
	if c, err = pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Port: c.Port(), Fast: true}); err != nil {
		t.Fatal(err)
	}
	u, _ = url.Parse(c.URL())
	if p, _ := u.User.Password(); p == password {
		t.Fatal("the old password survived the password file")
	}
	password, _ = u.User.Password()
	refused["TCP with the old password"] = refused["TCP with wrong password"]
	check("upgraded cluster")
	conn, err = pgx.Connect(ctx, c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var v int
	if err := conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != 42 {
		t.Errorf("data after the upgrade: %d, %v", v, err)
	}
}
