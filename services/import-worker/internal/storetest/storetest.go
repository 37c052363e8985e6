// Package storetest gives the import-worker's tests a migrated database of their own.
package storetest

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// Pool returns a pool on a fresh, migrated database, closed at cleanup. The calling package's
// TestMain must call pgtest.Main.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return PoolOn(t, pgtest.NewDatabase(t))
}

// PoolOn returns a pool on url (a database of the test), migrated, closed at cleanup.
func PoolOn(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	return pgtest.MigratedPool(t, url, store.Schema, store.Migrations(), 8)
}
