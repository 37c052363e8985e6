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
// as the cause and leaves other errors alone.
func TestInterpretError(t *testing.T) {
	t.Parallel()
	pgErr := func(code string) error { return fmt.Errorf("exec: %w", &pgconn.PgError{Code: code}) }
	other := errors.New("connection reset")
	tests := []struct {
		name string
		in   error
		want error // the sentinel errors.Is finds; nil: the error comes back unchanged
	}{
		{name: "no rows", in: fmt.Errorf("query: %w", pgx.ErrNoRows), want: ErrNotFound},
		{name: "unique violation", in: pgErr("23505"), want: ErrAlreadyExists},
		{name: "foreign-key violation", in: pgErr("23503"), want: ErrConstraint},
		{name: "check violation", in: pgErr("23514"), want: ErrConstraint},
		{name: "serialization failure", in: pgErr("40001"), want: ErrConcurrentUpdate},
		{name: "deadlock", in: pgErr("40P01"), want: ErrConcurrentUpdate},
		{name: "other database error", in: pgErr("57014")},
		{name: "not a database error", in: other},
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
			if !errors.Is(got, tc.want) {
				t.Errorf("interpretError(%v) = %v, want %v", tc.in, got, tc.want)
			}
			var pe *pgconn.PgError
			if errors.As(tc.in, &pe) && !errors.As(got, &pe) {
				t.Errorf("interpretError(%v) = %v lost the database error", tc.in, got)
			}
		})
	}
	if interpretError(nil) != nil {
		t.Error("interpretError(nil) != nil")
	}
}
