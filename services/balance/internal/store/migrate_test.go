package store_test

import (
	"context"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/pkg/platform/postgres"
	"github.com/posimport/posimport/services/balance/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestHoursTextBackfill upgrades a database holding day sums written before the hours were
// also stored as text: the migration fills the text from the numeric hours, so reads of
// existing weeks answer what they answered before.
func TestHoursTextBackfill(t *testing.T) {
	ctx := context.Background()
	first, err := fs.ReadFile(store.Migrations(), "001_create_balance.sql")
	if err != nil {
		t.Fatal(err)
	}
	pool := pgtest.MigratedPool(t, pgtest.NewDatabase(t), store.Schema,
		fstest.MapFS{"001_create_balance.sql": {Data: first}}, 2)
	if _, err := pool.Exec(ctx, `
		INSERT INTO day_status (client_id, department_id, business_date) VALUES ('c1', 'd1', '2026-03-29');
		INSERT INTO day_values (client_id, department_id, business_date, field_id, hours, total) VALUES
		    ('c1', 'd1', '2026-03-29', 1, '{0,1.50,-2.25}', 0.75),
		    ('c1', 'd1', '2026-03-29', 2, '{}', 12.5)`); err != nil {
		t.Fatal(err)
	}
	if err := postgres.Migrate(ctx, pool, store.Schema, store.Migrations(), logging.Discard()); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT hours_text FROM day_values ORDER BY field_id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"0,1.50,-2.25", ""}, got); diff != "" {
		t.Errorf("hours_text after the upgrade, fields 1 and 2 (-want +got):\n%s", diff)
	}
}
