package pgtest

import (
	"context"
	"io/fs"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/pkg/platform/postgres"
)

// MigratedPool connects to url (a test's database) with schema as the search path, applies
// the schema's migrations as the service does at start, and closes the pool at cleanup.
func MigratedPool(t testing.TB, url, schema string, migrations fs.FS, maxConns int32) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	pool, err := postgres.Connect(ctx, url, postgres.Options{Schema: schema, MaxConns: maxConns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := postgres.Migrate(ctx, pool, schema, migrations, logging.Discard()); err != nil {
		t.Fatal(err)
	}
	return pool
}
