package pgtest

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Snapshot returns every row of every table in schema as text, in a stable order, so a test
// can assert a refused request wrote nothing: compare the snapshot before and after.
func Snapshot(t testing.TB, pool *pgxpool.Pool, schema string) string {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = $1 AND table_type = 'BASE TABLE' AND table_name <> 'goose_db_version'
		ORDER BY table_name`, schema)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, table := range tables {
		var dump string
		q := `SELECT coalesce(string_agg(r::text, E'\n' ORDER BY r::text), '') FROM ` + schema + `.` + table + ` r`
		if err := pool.QueryRow(ctx, q).Scan(&dump); err != nil {
			t.Fatalf("snapshot %s.%s: %v", schema, table, err)
		}
		b.WriteString("== " + table + "\n" + dump + "\n")
	}
	return b.String()
}
