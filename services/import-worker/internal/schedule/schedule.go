// Package schedule runs the nightly import: when the wall clock in the schedule's zone
// (Europe/Copenhagen) is at or past the run time (02:00) and that local date has no run yet,
// one replica claims the date in Postgres and starts, for every client with POS import on and
// an enabled connection, an import of each department's last two completed local days,
// without overwrite. "At or past" makes the spring day (no 02:00) and the autumn day (02:00
// twice) run exactly once, and catches up after downtime. A client whose connection needs
// consent again is recorded and reported, not retried.
package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// ClientStatus is a client with POS import on and its connection's standing.
type ClientStatus struct {
	ClientID string
	// Enabled: the connection is ENABLED. NeedsReauth: it lapsed and needs consent.
	Enabled, NeedsReauth bool
	// Status describes the connection for the run's record.
	Status string
	// IntradayMinutes is the client's intraday refresh interval (0: off), for package intraday.
	IntradayMinutes int
}

// Directory lists the clients a run considers.
type Directory interface {
	Clients(ctx context.Context) ([]ClientStatus, error)
}

// Launcher stores one client's scheduled import and returns its id and its jobs, which the run
// publishes (Publish) with other clients' jobs. The import must be stored with runDate as its
// store.NewImport.RunDate, so that the client's start is recorded in the same transaction and
// a client is started at most once per run date.
type Launcher interface {
	Launch(ctx context.Context, client string, now, scheduledFor time.Time, runDate civil.Date) (uuid.UUID, []uuid.UUID, error)
	// Publish queues stored jobs in the given order; what it fails to queue the reconciler
	// publishes later.
	Publish(ctx context.Context, jobs []uuid.UUID)
}

// Reporter counts clients skipped for want of consent.
type Reporter interface{ NeedsReauth() }

// Scheduler is the nightly run.
type Scheduler struct {
	Store     *store.Store
	Directory Directory
	Launcher  Launcher
	Reporter  Reporter
	Logger    *slog.Logger
	// Zone and At ("HH:MM") are the wall-clock run time.
	Zone *time.Location
	At   string
	// Owner names this replica in claims; ClaimTTL is how long a claim holds before another
	// replica may take over an unfinished run.
	Owner    string
	ClaimTTL time.Duration
	// NowFunc is the clock; default time.Now.
	NowFunc func() time.Time
}

// Run ticks every interval until ctx ends.
func (s *Scheduler) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		now := time.Now()
		if s.NowFunc != nil {
			now = s.NowFunc()
		}
		if _, err := s.Tick(ctx, now); err != nil && ctx.Err() == nil {
			s.Logger.WarnContext(ctx, "schedule tick", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// minutes parses "HH:MM".
func minutes(at string) (int, error) {
	t, err := time.Parse("15:04", at)
	if err != nil {
		return 0, fmt.Errorf("schedule time %q: want HH:MM", at)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Due returns the local run date at now and the instant its run was due, or ok false when the
// local clock is before the run time.
func Due(now time.Time, zone *time.Location, at string) (runDate civil.Date, scheduledFor time.Time, ok bool, err error) {
	target, err := minutes(at)
	if err != nil {
		return civil.Date{}, time.Time{}, false, err
	}
	local := now.In(zone)
	if local.Hour()*60+local.Minute() < target {
		return civil.Date{}, time.Time{}, false, nil
	}
	runDate = civil.DateOf(local)
	// The first minute of the date whose clock shows the run time or later: 03:00 on the day
	// 02:00 is skipped, the first 02:00 on the day it repeats.
	for t := runDate.Start(zone); ; t = t.Add(time.Minute) {
		lt := t.In(zone)
		if lt.Hour()*60+lt.Minute() >= target {
			return runDate, t, true, nil
		}
	}
}

// Tick runs the schedule if it is due at now and no replica ran it for that local date. It
// reports whether this replica ran it.
func (s *Scheduler) Tick(ctx context.Context, now time.Time) (bool, error) {
	runDate, scheduledFor, due, err := Due(now, s.Zone, s.At)
	if err != nil || !due {
		return false, err
	}
	claimed, err := s.Store.ClaimRun(ctx, runDate, scheduledFor, s.Owner, s.ClaimTTL)
	if err != nil || !claimed {
		return false, err // not claimed: ran, or running elsewhere
	}
	log := s.Logger.With("run_date", runDate.String())
	clients, err := s.Directory.Clients(ctx)
	if err != nil {
		return false, fmt.Errorf("list clients: %w", err)
	}
	var started int
	for first := 0; first < len(clients); first += clientsPerWave {
		n, err := s.runWave(ctx, log, runDate, scheduledFor, now, clients[first:min(first+clientsPerWave, len(clients))])
		started += n
		if err != nil {
			return false, err
		}
	}
	if err := s.Store.RunDone(ctx, runDate, s.Owner); err != nil {
		return true, err
	}
	log.InfoContext(ctx, "scheduled run done", "clients", len(clients), "imports_started", started)
	return true, nil
}

const (
	// launchesAtOnce is how many clients a run starts at once: each start is a few round
	// trips to config, auth and Postgres, and a thousand clients one by one would hold the
	// last of them back for minutes.
	launchesAtOnce = 8
	// clientsPerWave is how many clients' jobs are published together, interleaved.
	clientsPerWave = 64
)

// runWave starts a wave of clients' imports and then publishes their jobs interleaved: the
// first job of every client, then the second, and so on. Published client by client, the
// workers' slots would meet one client's jobs in a row, and all but the per-client cap of them
// would be deferred and delivered again seconds later.
func (s *Scheduler) runWave(ctx context.Context, log *slog.Logger, runDate civil.Date, scheduledFor, now time.Time, clients []ClientStatus) (int, error) {
	jobs := make([][]uuid.UUID, len(clients))
	var started atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(launchesAtOnce)
	for i, c := range clients {
		g.Go(func() error {
			ids, err := s.runClient(gctx, log, runDate, scheduledFor, now, c)
			if len(ids) > 0 {
				jobs[i] = ids
				started.Add(1)
			}
			return err
		})
	}
	err := g.Wait()
	// Even after a failure, the stored jobs are queued now rather than by the reconciler.
	if all := Interleave(jobs); len(all) > 0 {
		s.Launcher.Publish(ctx, all)
	}
	return int(started.Load()), err
}

// Interleave deals the lists' elements round-robin: the first of each list, then the second.
func Interleave[T any](lists [][]T) []T {
	var out []T
	for k := 0; ; k++ {
		dealt := false
		for _, l := range lists {
			if k < len(l) {
				out = append(out, l[k])
				dealt = true
			}
		}
		if !dealt {
			return out
		}
	}
}

// runClient does one client's part of a run and returns the jobs of the import it started, if
// it started one.
func (s *Scheduler) runClient(ctx context.Context, log *slog.Logger, runDate civil.Date, scheduledFor, now time.Time, c ClientStatus) ([]uuid.UUID, error) {
	done, err := s.Store.RunClientDone(ctx, runDate, c.ClientID)
	if err != nil || done {
		return nil, err // done: by a replica whose claim lapsed
	}
	switch {
	case c.Enabled:
		id, jobs, err := s.Launcher.Launch(ctx, c.ClientID, now, scheduledFor, runDate)
		if err != nil {
			log.WarnContext(ctx, "scheduled import not started", "client_id", c.ClientID, "error", err)
			return nil, s.Store.RecordRunClient(ctx, runDate, c.ClientID, store.RunFailed, err.Error())
		}
		log.InfoContext(ctx, "scheduled import started", "client_id", c.ClientID, "import_id", id)
		return jobs, nil
	case c.NeedsReauth:
		s.Reporter.NeedsReauth()
		log.WarnContext(ctx, "client needs to re-authorize; scheduled import skipped", "client_id", c.ClientID)
		return nil, s.Store.RecordRunClient(ctx, runDate, c.ClientID, store.RunNeedsReauth, "client must re-authorize Lightspeed")
	default:
		return nil, s.Store.RecordRunClient(ctx, runDate, c.ClientID, store.RunNotEnabled, c.Status)
	}
}
