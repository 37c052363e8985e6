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

// TestFreshnessBackfill upgrades a database whose departments were marked imported before
// freshness was kept: each department with marked days gets its latest marked day, the zone
// its values were written in and the time of the mark; one whose marked days hold no values
// waits for its next import.
func TestFreshnessBackfill(t *testing.T) {
	ctx := context.Background()
	before := fstest.MapFS{}
	for _, name := range []string{"001_create_balance.sql", "002_day_values_hours_text.sql"} {
		b, err := fs.ReadFile(store.Migrations(), name)
		if err != nil {
			t.Fatal(err)
		}
		before[name] = &fstest.MapFile{Data: b}
	}
	pool := pgtest.MigratedPool(t, pgtest.NewDatabase(t), store.Schema, before, 2)
	if _, err := pool.Exec(ctx, `
		INSERT INTO day_status (client_id, department_id, business_date, import_finished, finished_import_id, update_time) VALUES
		    ('c1', 'd1', '2026-11-29', true, 'imp-1', '2026-11-30 01:10:00+00'),
		    ('c1', 'd1', '2026-11-30', true, 'imp-2', '2026-12-01 01:10:00+00'),
		    ('c1', 'd1', '2026-12-01', false, '', '2026-12-01 09:00:00+00'),
		    ('c1', 'ny', '2026-11-29', true, 'imp-2', '2026-12-01 01:12:00+00'),
		    ('c1', 'empty', '2026-11-29', true, 'imp-2', '2026-12-01 01:12:00+00');
		INSERT INTO register_days (client_id, department_id, business_date, register_id, time_zone, import_id, job_id,
		    fencing_token, version, write_time) VALUES
		    ('c1', 'd1', '2026-11-30', '11', 'Europe/Copenhagen', 'imp-2', 'j', 1, 1, now()),
		    ('c1', 'ny', '2026-11-29', '', 'America/New_York', 'imp-2', 'j', 1, 1, now())`); err != nil {
		t.Fatal(err)
	}
	if err := postgres.Migrate(ctx, pool, store.Schema, store.Migrations(), logging.Discard()); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT department_id || ' ' || time_zone || ' ' || complete_through::text || ' ' ||
		to_char(last_import_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' ' || last_import_id
		FROM department_freshness ORDER BY department_id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"d1 Europe/Copenhagen 2026-11-30 2026-12-01 01:10 imp-2",
		"ny America/New_York 2026-11-29 2026-12-01 01:12 imp-2",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("department freshness after the upgrade (-want +got):\n%s", diff)
	}
}
