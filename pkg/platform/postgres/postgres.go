// Package postgres holds what every service does with PostgreSQL: a bounded pgx pool whose
// connections live in the service's own schema, one transaction helper, embedded goose
// migrations per schema, and the SQLSTATE codes the stores translate into their own errors.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options configures a pool.
type Options struct {
	// Schema is the service's schema; connections use it as search_path, so queries are unqualified.
	Schema string
	// MaxConns bounds the pool (default 10).
	MaxConns int32
	// StatementTimeout bounds every statement (default 30s), so a stuck query cannot hold a worker.
	StatementTimeout time.Duration
	// ApplicationName shows in pg_stat_activity.
	ApplicationName string
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Connect opens a pool on url for one service's schema and checks that the server answers.
func Connect(ctx context.Context, url string, opts Options) (*pgxpool.Pool, error) {
	if !schemaName.MatchString(opts.Schema) {
		return nil, fmt.Errorf("postgres: invalid schema name %q", opts.Schema)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse DATABASE_URL: %w", redactURLError(err))
	}
	cfg.MaxConns = opts.MaxConns
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 10
	}
	timeout := opts.StatementTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	rp := cfg.ConnConfig.RuntimeParams
	rp["search_path"] = opts.Schema
	rp["statement_timeout"] = fmt.Sprint(timeout.Milliseconds())
	rp["idle_in_transaction_session_timeout"] = fmt.Sprint((2 * timeout).Milliseconds())
	if opts.ApplicationName != "" {
		rp["application_name"] = opts.ApplicationName
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: ping: %w", err)
	}
	return pool, nil
}

// redactURLError drops the connection string from pgx's parse errors, which may quote it with
// its password.
func redactURLError(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("invalid connection string")
	}
	return err
}

// Beginner is what InTx needs: a pool, a connection or an outer transaction.
type Beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// InTx runs fn in a transaction with the given options. It rolls back when fn fails and
// returns fn's error; it wraps a failed commit.
func InTx(ctx context.Context, db Beginner, opts pgx.TxOptions, fn func(pgx.Tx) error) (err error) {
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			// The rollback error is secondary: the original error says what went wrong.
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// SQLSTATE codes the stores act on.
const (
	UniqueViolation      = "23505"
	ForeignKeyViolation  = "23503"
	CheckViolation       = "23514"
	SerializationFailure = "40001"
	DeadlockDetected     = "40P01"
)

// SQLState returns the SQLSTATE code of a PostgreSQL error in err's chain, or "".
func SQLState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// ErrorMap is a store's translation of database errors into its own, so that nothing above
// the store sees a driver error: each field is the store's error for that kind of database
// error (nil leaves it as it is). A store declares its map once and passes every error it
// returns through Interpret.
type ErrorMap struct {
	// NoRows is for pgx.ErrNoRows.
	NoRows error
	// UniqueViolation, ForeignKeyViolation and CheckViolation are for constraint violations.
	UniqueViolation, ForeignKeyViolation, CheckViolation error
	// Retryable is for a serialization failure or a deadlock, which a retry resolves.
	Retryable error
}

// Interpret returns the store's error for err: the NoRows error itself (a missing row has no
// cause worth keeping), or the mapped error wrapping err, so the database error stays the cause
// for logs. An error the map does not name is returned unchanged.
func (m ErrorMap) Interpret(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) && m.NoRows != nil {
		return m.NoRows
	}
	var mapped error
	switch SQLState(err) {
	case UniqueViolation:
		mapped = m.UniqueViolation
	case ForeignKeyViolation:
		mapped = m.ForeignKeyViolation
	case CheckViolation:
		mapped = m.CheckViolation
	case SerializationFailure, DeadlockDetected:
		mapped = m.Retryable
	}
	if mapped == nil {
		return err
	}
	return fmt.Errorf("%w: %w", mapped, err)
}

// IsRetryable reports whether err is a serialization failure or deadlock, which a transaction
// retry resolves.
func IsRetryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == SerializationFailure || pe.Code == DeadlockDetected)
}
