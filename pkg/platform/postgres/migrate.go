package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// MigrationsDir returns the directory "migrations" of fsys: the embedded migrations of a
// store that declares //go:embed migrations/*.sql. It panics if fsys has no such directory,
// which can only be a build mistake.
func MigrationsDir(fsys fs.FS) fs.FS {
	sub, err := fs.Sub(fsys, "migrations")
	if err != nil {
		panic(err)
	}
	return sub
}

// Migrate creates the pool's schema if needed and applies the embedded goose migrations in
// migrations (a directory of NNN_name.sql files). The version table lives in the schema, so
// each service migrates independently; a Postgres advisory lock keeps concurrent replicas
// from migrating at once.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string, migrations fs.FS, logger *slog.Logger) error {
	if !schemaName.MatchString(schema) {
		return fmt.Errorf("migrate: invalid schema name %q", schema)
	}
	if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema); err != nil {
		return fmt.Errorf("migrate: create schema %s: %w", schema, err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer func() { _ = db.Close() }()
	return migrateDB(ctx, db, schema, migrations, logger)
}

func migrateDB(ctx context.Context, db *sql.DB, schema string, migrations fs.FS, logger *slog.Logger) error {
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID(schema)))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations,
		goose.WithSessionLocker(locker),
		goose.WithTableName(schema+".goose_db_version"),
	)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", schema, err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", schema, err)
	}
	for _, r := range results {
		logger.InfoContext(ctx, "migration applied", "component", "migrate", "schema", schema, "version", r.Source.Version, "duration_ms", r.Duration)
	}
	return nil
}

// lockID derives a per-schema advisory lock id so that different services migrate in parallel.
func lockID(schema string) int64 {
	var h int64 = 5381
	for _, c := range schema {
		h = h*33 + int64(c)
	}
	return h
}
