package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/posimport/posimport/services/import-worker/internal/store/internal/dbsqlc"
)

// ClaimIntradaySlot claims a client's intraday refresh slot (its start) for owner; false when
// another replica claimed it first.
func (s *Store) ClaimIntradaySlot(ctx context.Context, client string, slot time.Time, owner string) (bool, error) {
	_, err := s.q.IntradaySlotClaim(ctx, s.pool, dbsqlc.IntradaySlotClaimParams{ClientID: client, Slot: timestamp(slot), Owner: owner})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("claim intraday slot: %w", err)
	}
	return true, nil
}

// IntradaySlotStarted records the import a claimed slot started.
func (s *Store) IntradaySlotStarted(ctx context.Context, client string, slot time.Time, importID uuid.UUID) error {
	err := s.q.IntradaySlotStarted(ctx, s.pool, dbsqlc.IntradaySlotStartedParams{ClientID: client, Slot: timestamp(slot), ImportID: pgtype.UUID{Bytes: importID, Valid: true}})
	if err != nil {
		return fmt.Errorf("record intraday slot: %w", err)
	}
	return nil
}
