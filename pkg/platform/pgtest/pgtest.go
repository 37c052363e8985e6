// Package pgtest gives tests a real PostgreSQL database of their own. With DATABASE_URL set
// (CI points it at the machine's server) each test gets a fresh database created on that
// server; without it the package starts a throwaway cluster with initdb and pg_ctl once per
// test binary. A test never skips for want of a server: it starts one, or fails saying what
// to install.
//
// A package using it calls pgtest.Main from TestMain, so the throwaway cluster is stopped.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/platform/pgcluster"
	"github.com/posimport/posimport/pkg/platform/postgres"
)

var (
	mu       sync.Mutex
	inMain   bool
	adminURL string
	cluster  *pgcluster.Cluster
	tmpDir   string
)

// Main runs the tests and stops the throwaway cluster, if one was started. Call it from
// TestMain: func TestMain(m *testing.M) { pgtest.Main(m) }.
func Main(m *testing.M) {
	mu.Lock()
	inMain = true
	mu.Unlock()
	code := m.Run()
	Shutdown()
	os.Exit(code)
}

// Shutdown stops the throwaway cluster; Main calls it. Safe to call more than once.
func Shutdown() {
	mu.Lock()
	defer mu.Unlock()
	if cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = cluster.Stop(ctx, "immediate")
		cancel()
		cluster = nil
		_ = os.RemoveAll(tmpDir)
	}
}

// ServerURL returns the admin connection string of the test server, starting a throwaway
// cluster when DATABASE_URL is unset.
func ServerURL(t testing.TB) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if adminURL != "" {
		return adminURL
	}
	if u := os.Getenv("DATABASE_URL"); u != "" {
		adminURL = u
		return adminURL
	}
	if !inMain {
		t.Fatal("pgtest: DATABASE_URL is unset and the package's TestMain does not call pgtest.Main, " +
			"which is needed to stop the throwaway PostgreSQL it would start")
	}
	dir, err := os.MkdirTemp("", "posimport-pgtest-*")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Fast: true})
	if err != nil {
		_ = os.RemoveAll(dir)
		t.Fatalf("pgtest: DATABASE_URL is unset and a throwaway PostgreSQL could not start: %v", err)
	}
	cluster, tmpDir, adminURL = c, dir, c.URL()
	return adminURL
}

// NewDatabase creates an empty database for this test and returns its connection string. It
// is dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := ServerURL(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "pgtest_" + hex.EncodeToString(b)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	u, err := postgres.CreateDatabase(ctx, admin, name)
	if err != nil {
		t.Fatalf("pgtest: DATABASE_URL: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := postgres.DropDatabase(ctx, admin, name); err != nil {
			t.Logf("pgtest: %v", err)
		}
	})
	return u
}
