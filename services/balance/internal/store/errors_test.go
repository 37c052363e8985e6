package store

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestInterpretError: the store's one translation of database errors keeps the database error
// as the cause and leaves other errors (the stale fence among them) alone.
func TestInterpretError(t *testing.T) {
	t.Parallel()
	pgErr := func(code string) error { return fmt.Errorf("write register days: %w", &pgconn.PgError{Code: code}) }
	tests := []struct {
		name string
		in   error
		want error // the sentinel errors.Is finds; nil: the error comes back unchanged
	}{
		{name: "no rows", in: fmt.Errorf("read: %w", pgx.ErrNoRows), want: ErrNotFound},
		{name: "unique violation", in: pgErr("23505"), want: ErrConflict},
		{name: "foreign-key violation", in: pgErr("23503"), want: ErrConflict},
		{name: "serialization failure", in: pgErr("40001"), want: ErrConcurrentUpdate},
		{name: "deadlock", in: pgErr("40P01"), want: ErrConcurrentUpdate},
		{name: "other database error", in: pgErr("57014")},
		{name: "stale fence", in: &StaleFenceError{Seen: 3, Got: 2}},
		{name: "canceled", in: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := interpretError(tc.in)
			if tc.want == nil {
				if got != tc.in {
					t.Errorf("interpretError(%v) = %v, want it unchanged", tc.in, got)
				}
				return
			}
			var pe *pgconn.PgError
			if keepsCause := errors.As(got, &pe) || errors.Is(got, pgx.ErrNoRows); !errors.Is(got, tc.want) || !keepsCause {
				t.Errorf("interpretError(%v) = %v, want %v wrapping the cause", tc.in, got, tc.want)
			}
		})
	}
	if interpretError(nil) != nil {
		t.Error("interpretError(nil) != nil")
	}
}
