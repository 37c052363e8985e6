// Package intraday refreshes today's sales during the day: for every client with an intraday
// refresh interval (config's intraday_refresh_minutes, 0 = off), POS import on and an enabled
// connection, it starts every N minutes an import of each department's local today so far,
// whose writes are partial. The nightly run's full write closes the day. Slots are the
// multiples of N minutes since the Unix epoch; one replica claims a client's slot in Postgres,
// so several replicas start it once, and a slot missed while no replica ran is not caught up
// (the next one reads the whole day so far anyway).
package intraday

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// Client is a client that may be refreshed.
type Client struct {
	ClientID string
	// Minutes is the refresh interval; 0 is off.
	Minutes int
	// Enabled: the connection is ENABLED.
	Enabled bool
}

// Directory lists the clients with POS import on.
type Directory interface {
	Clients(ctx context.Context) ([]Client, error)
}

// Launcher stores a client's refresh of today (as of now) and queues the jobs that fit in its
// window.
type Launcher interface {
	Launch(ctx context.Context, client string, now time.Time) (uuid.UUID, error)
}

// Claimer claims a client's refresh slot for one replica.
type Claimer interface {
	ClaimIntradaySlot(ctx context.Context, client string, slot time.Time, owner string) (bool, error)
	IntradaySlotStarted(ctx context.Context, client string, slot time.Time, importID uuid.UUID) error
}

var _ Claimer = (*store.Store)(nil)

// Refresher is the intraday refresh loop.
type Refresher struct {
	Claims    Claimer
	Directory Directory
	Launcher  Launcher
	Logger    *slog.Logger
	// Owner names this replica in claims.
	Owner string
	// NowFunc is the clock; default time.Now.
	NowFunc func() time.Time

	// listed is the minute of the last tick that went through every client: slots begin on
	// whole minutes, so a later check within that minute has nothing new to start and skips
	// the directory (two services' lists of every client).
	listed time.Time
}

// Run ticks every interval until ctx ends.
func (r *Refresher) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		now := time.Now()
		if r.NowFunc != nil {
			now = r.NowFunc()
		}
		if _, err := r.Tick(ctx, now); err != nil && ctx.Err() == nil {
			r.Logger.WarnContext(ctx, "intraday tick", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Slot is the start of the refresh slot of an interval of minutes at now.
func Slot(now time.Time, minutes int) time.Time {
	return now.UTC().Truncate(time.Duration(minutes) * time.Minute)
}

// Tick starts the refreshes due at now that no replica started yet and returns the imports
// this replica started. A client that cannot be started is logged and tried again next slot.
// Within the minute of a tick that went through every client, Tick does nothing: a client
// configured meanwhile is started at the next minute's check.
func (r *Refresher) Tick(ctx context.Context, now time.Time) ([]uuid.UUID, error) {
	minute := now.UTC().Truncate(time.Minute)
	if minute.Equal(r.listed) {
		return nil, nil
	}
	clients, err := r.Directory.Clients(ctx)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	var started []uuid.UUID
	for _, c := range clients {
		if c.Minutes <= 0 || !c.Enabled {
			continue
		}
		slot := Slot(now, c.Minutes)
		claimed, err := r.Claims.ClaimIntradaySlot(ctx, c.ClientID, slot, r.Owner)
		if err != nil {
			return started, err
		}
		if !claimed {
			continue
		}
		id, err := r.Launcher.Launch(ctx, c.ClientID, now)
		if err != nil {
			r.Logger.WarnContext(ctx, "intraday refresh not started", "client_id", c.ClientID, "error", err)
			continue
		}
		if err := r.Claims.IntradaySlotStarted(ctx, c.ClientID, slot, id); err != nil {
			return started, err
		}
		started = append(started, id)
	}
	r.listed = minute
	return started, nil
}
