// Package autoconfirm approves, at each client's confirm time in the client's time zone, the
// days up to yesterday whose import finished. Each (client, local date) runs once across all
// replicas: the run is claimed by a row in the database, in the same transaction that approves.
package autoconfirm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/posimport/posimport/pkg/civil"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/balance/internal/metrics"
	"github.com/posimport/posimport/services/balance/internal/store"
)

// Confirmer runs auto-confirm passes.
type Confirmer struct {
	store   *store.Store
	config  posimportv1.ConfigServiceClient
	now     func() time.Time
	logger  *slog.Logger
	metrics *metrics.Metrics
}

// New returns a confirmer reading the clients' settings from config, with now as the clock,
// recording its passes and approvals in m (nil: nowhere).
func New(st *store.Store, config posimportv1.ConfigServiceClient, now func() time.Time, logger *slog.Logger, m *metrics.Metrics) *Confirmer {
	return &Confirmer{store: st, config: config, now: now, logger: logger, metrics: m}
}

// Run makes a pass every interval until ctx ends. A failed pass is logged and retried by the
// next one: the days stay open, and the run stays unclaimed.
func (c *Confirmer) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := c.RunOnce(ctx); err != nil && ctx.Err() == nil {
			c.logger.ErrorContext(ctx, "auto-confirm pass failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce confirms, for every client with auto-confirm on whose confirm time has come today,
// the days not confirmed yet.
func (c *Confirmer) RunOnce(ctx context.Context) (err error) {
	defer func() { c.metrics.AutoConfirmPass(c.now(), err) }()
	var errs []error
	token := ""
	for {
		resp, err := c.config.ListClients(ctx, &posimportv1.ListClientsRequest{PageSize: 1000, PageToken: token})
		if err != nil {
			return fmt.Errorf("list clients: %w", err)
		}
		for _, cs := range resp.GetClients() {
			if !cs.GetAutoConfirmWeeklyBalance() {
				continue
			}
			if err := c.confirmClient(ctx, cs); err != nil {
				errs = append(errs, fmt.Errorf("client %s: %w", cs.GetClientId(), err))
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			return errors.Join(errs...)
		}
	}
}

func (c *Confirmer) confirmClient(ctx context.Context, cs *posimportv1.ClientSettings) error {
	loc, err := time.LoadLocation(cs.GetTimeZone())
	if err != nil {
		return fmt.Errorf("time zone %q: %w", cs.GetTimeZone(), err)
	}
	at, err := time.Parse("15:04", cs.GetConfirmTime())
	if err != nil {
		return fmt.Errorf("confirm time %q: %w", cs.GetConfirmTime(), err)
	}
	now := c.now()
	today := civil.Today(now, loc)
	if now.Before(DueTime(today, at.Hour(), at.Minute(), loc)) {
		return nil
	}
	claimed, approved, err := c.store.AutoConfirm(ctx, cs.GetClientId(), today, today.AddDays(-1), now)
	if err != nil {
		return err
	}
	if claimed {
		c.metrics.Approved(metrics.ByAutoConfirm, approved)
		c.logger.InfoContext(ctx, "auto-confirm ran", "client_id", cs.GetClientId(), "local_date", today.String(), "days_approved", approved)
	}
	return nil
}

// DueTime returns the first instant of date d in loc at which the local clock shows hour:minute
// or later. On the day clocks go forward and skip that time, it is the end of the gap (02:30 →
// 03:00, or 02:15 → 02:30 where the clock skips half an hour); on the day they go back and show
// it twice, it is the first time.
func DueTime(d civil.Date, hour, minute int, loc *time.Location) time.Time {
	due := hour*60 + minute
	for _, h := range d.Hours(loc) {
		// An interval shows one clock hour, from its start's minute to the hour's end.
		switch start := h.Hour()*60 + h.Minute(); {
		case h.Hour() == hour && start <= due:
			return h.Add(time.Duration(due-start) * time.Minute)
		case start > due:
			return h
		}
	}
	return d.AddDays(1).Start(loc)
}
