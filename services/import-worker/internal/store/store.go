// Package store keeps the import-worker's data in its own PostgreSQL schema: imports, their
// jobs (the source of truth for the work queue), errors, the nightly schedule's claims and the
// shared rate budgets. It is sealed: its methods take and return the domain types declared
// here, and the sqlc code generated from queries/*.sql (internal/dbsqlc), pgx's types and
// pgx.ErrNoRows stay inside it. It adds the transactions and the lease decision.
package store

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/services/import-worker/internal/store/internal/dbsqlc"
)

// Schema is the import-worker's PostgreSQL schema.
const Schema = "imports"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the embedded schema migrations.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// Job states.
const (
	StatePending   = "PENDING"
	StateRunning   = "RUNNING"
	StateDone      = "DONE"
	StateSkipped   = "SKIPPED"
	StateFailed    = "FAILED"
	StateCancelled = "CANCELLED"
)

// ErrNotFound says the import, job or row asked for does not exist.
var ErrNotFound = errors.New("not found")

// ErrLeaseLost says another attempt holds the job now: this one must stop without writing.
var ErrLeaseLost = errors.New("job lease lost to a newer attempt")

// Store reads and writes the imports schema.
type Store struct {
	pool *pgxpool.Pool
	q    *dbsqlc.Queries
}

// New returns a store on pool, whose connections use the imports schema.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool, q: dbsqlc.New()} }

// notFound is the one place a missing row becomes ErrNotFound.
func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// date converts a civil date for a query.
func date(d civil.Date) pgtype.Date {
	return pgtype.Date{Time: time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC), Valid: true}
}

// civilDate converts a stored date.
func civilDate(d pgtype.Date) civil.Date { return civil.DateOf(d.Time) }

// timestamp converts an instant for a query; the zero time is NULL.
func timestamp(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}

// instant converts a stored instant; NULL is the zero time.
func instant(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time
}

func seconds(d time.Duration) float64 { return d.Seconds() }
