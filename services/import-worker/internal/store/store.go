// Package store keeps the import-worker's data in its own PostgreSQL schema: imports, their
// jobs (the source of truth for the work queue), errors, the nightly schedule's claims and the
// shared rate budgets. It is sealed: its methods take and return the domain types declared
// here, and the sqlc code generated from queries/*.sql (internal/dbsqlc), pgx's types and
// pgx.ErrNoRows stay inside it. It adds the transactions, the lease decision and the clients'
// windows.
//
// # Fair queues: a window per client
//
// Postgres decides which jobs JetStream holds. A client has at most a window of jobs
// (JOB_MAX_RUNNING_PER_CLIENT, its cap on running jobs too) published and not ended; the rest
// of its queued work waits here, unpublished, and its next job is claimed in the transaction
// that ends one of its jobs (window.go). The stream therefore holds every client's window and
// no client's backlog: its FIFO order deals the slots round-robin between clients, so a
// client's waiting jobs delay another client's by at most about one job's time, and since a
// client never has more messages than its cap, no delivery is deferred for being over it (the
// deferrals redelivered every 2–4 s were what made a 2-job import wait 130 s behind 50
// queued ones). Imports identical to one still running are merged into it, and a client's
// jobs not ended are bounded (CreateImport).
//
// The alternatives were weighed against that. A stream or consumer per client needs one
// JetStream consumer per client (100,000 of them at scale, and a work-queue stream refuses
// overlapping consumers), and workers that poll them all. A fair scheduler in the worker has
// to take messages before it can choose among them: held ones count against MaxAckPending and
// their ack wait, and handed back ones are the redeliveries that starved other clients. The
// window keeps Postgres as the one source of truth, adds no infrastructure, and costs no
// commit of its own: the claim rides in the job's end, the import's creation or its cancel.
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
	"github.com/posimport/posimport/pkg/platform/postgres"
	"github.com/posimport/posimport/services/import-worker/internal/store/internal/dbsqlc"
)

// Schema is the import-worker's PostgreSQL schema.
const Schema = "imports"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the embedded schema migrations.
func Migrations() fs.FS { return postgres.MigrationsDir(migrations) }

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
	// window is how many of a client's jobs may be published and not ended at once; 0 is no
	// limit (window.go).
	window int
}

// New returns a store on pool, whose connections use the imports schema, publishing every
// job at once (WithWindow limits that).
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool, q: dbsqlc.New()} }

// WithWindow returns the store on the same pool with a client window of n jobs (window.go);
// n ≤ 0 is no limit.
func (s *Store) WithWindow(n int) *Store {
	c := *s
	c.window = max(n, 0)
	return &c
}

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
