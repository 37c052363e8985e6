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
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/posimport/posimport/pkg/platform/pgcluster"
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
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("pgtest: DATABASE_URL must be a postgres:// URL")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "pgtest_" + hex.EncodeToString(b)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := adminExec(ctx, admin, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := adminExec(ctx, admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

func adminExec(ctx context.Context, url, sql string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	_, err = conn.Exec(ctx, sql)
	return err
}
