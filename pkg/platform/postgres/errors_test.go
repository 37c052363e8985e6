package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/posimport/posimport/pkg/platform/postgres"
)

// TestErrorMapInterpret: a store's map turns each kind of database error into the store's own,
// keeping the database error as the cause; a missing row is the store's error alone; errors the
// map does not name come back unchanged.
func TestErrorMapInterpret(t *testing.T) {
	t.Parallel()
	var (
		errNotFound = errors.New("not found")
		errTaken    = errors.New("already exists")
		errBroken   = errors.New("violates a constraint")
		errRetry    = errors.New("concurrent update, retry")
	)
	m := postgres.ErrorMap{NoRows: errNotFound, UniqueViolation: errTaken, ForeignKeyViolation: errBroken, Retryable: errRetry}
	pgErr := func(code string) error { return fmt.Errorf("write: %w", &pgconn.PgError{Code: code}) }
	tests := []struct {
		name string
		in   error
		want error // nil: the error comes back unchanged
	}{
		{name: "no rows", in: fmt.Errorf("read: %w", pgx.ErrNoRows), want: errNotFound},
		{name: "unique violation", in: pgErr(postgres.UniqueViolation), want: errTaken},
		{name: "foreign-key violation", in: pgErr(postgres.ForeignKeyViolation), want: errBroken},
		{name: "check violation, not in the map", in: pgErr(postgres.CheckViolation)},
		{name: "serialization failure", in: pgErr(postgres.SerializationFailure), want: errRetry},
		{name: "deadlock", in: pgErr(postgres.DeadlockDetected), want: errRetry},
		{name: "other database error", in: pgErr("57014")},
		{name: "not a database error", in: errors.New("connection reset")},
		{name: "canceled", in: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := m.Interpret(tc.in)
			var pe *pgconn.PgError
			switch {
			case tc.want == nil && got != tc.in:
				t.Errorf("Interpret(%v) = %v, want it unchanged", tc.in, got)
			case tc.want == errNotFound && got != errNotFound:
				t.Errorf("Interpret(%v) = %v, want %v alone", tc.in, got, errNotFound)
			case tc.want != nil && tc.want != errNotFound && (!errors.Is(got, tc.want) || !errors.As(got, &pe)):
				t.Errorf("Interpret(%v) = %v, want %v wrapping the database error", tc.in, got, tc.want)
			}
		})
	}
	if m.Interpret(nil) != nil {
		t.Error("Interpret(nil) != nil")
	}
	if err := (postgres.ErrorMap{}).Interpret(pgx.ErrNoRows); err != pgx.ErrNoRows {
		t.Errorf("an empty map changed pgx.ErrNoRows into %v", err)
	}
}
