// Package starter validates and creates imports: it checks the request against the client's
// configuration (config service) and connection (auth service), plans the jobs, writes the
// import and its jobs in one transaction and then publishes them. Nothing is written or queued
// unless every check passed. The API's StartImport and the nightly schedule both use it.
package starter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/apierr"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/internal/changes"
	"github.com/posimport/posimport/services/import-worker/internal/jobqueue"
	"github.com/posimport/posimport/services/import-worker/internal/outbox"
	"github.com/posimport/posimport/services/import-worker/internal/plan"
	"github.com/posimport/posimport/services/import-worker/internal/provider"
	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// MaxYears is the longest range of one import.
const MaxYears = 3

// Starter creates imports.
type Starter struct {
	Store   *store.Store
	Queue   *jobqueue.Queue
	Config  posimportv1.ConfigServiceClient
	Auth    posimportv1.AuthServiceClient
	Logger  *slog.Logger
	MaxDays int
	// MaxGroupJobs caps a scheduled import's job groups (plan.GroupByRange); 0 is
	// plan.MaxGroupJobs.
	MaxGroupJobs int
	// MaxQueuedPerClient bounds a client's jobs not ended, counting a manual import's new
	// ones: an import that would pass it is refused (ResourceExhausted); 0 is no bound. The
	// nightly run is never refused.
	MaxQueuedPerClient int
	// NowFunc is the clock ("today" in the client's zone); default time.Now.
	NowFunc func() time.Time
	// Revisiter, when set, widens scheduled imports: the register-days with changed sales, or
	// a lookback of days (package changes).
	Revisiter Revisiter
}

// Revisiter decides what a client's nightly import reads beyond its last two days.
type Revisiter interface {
	Revisit(ctx context.Context, client string, deps []plan.Department, now time.Time) changes.Revisit
}

// Request is an import to start.
type Request struct {
	ClientID      string
	DepartmentIDs []string
	// From and Until are the local dates of a manual import (ignored when Scheduled).
	From, Until civil.Date
	Overwrite   bool
	Trigger     posimportv1.ImportTrigger
	CreatedBy   string
	// Scheduled imports cover each department's last two completed local days at Now;
	// DepartmentIDs empty then means every mapped department.
	Scheduled    bool
	ScheduledFor time.Time
	// Now is the instant a scheduled import is computed for; zero takes the starter's clock.
	Now time.Time
	// RunDate, for a scheduled import, is the nightly run it is recorded under, in the
	// import's transaction (store.NewImport.RunDate).
	RunDate civil.Date
	// Intraday, with Scheduled, imports each department's local today so far at Now instead,
	// written as partial, its jobs claimed for the client's window ahead of older ones.
	Intraday bool
}

const rpcTimeout = 30 * time.Second

func (s *Starter) now() time.Time {
	if s.NowFunc != nil {
		return s.NowFunc()
	}
	return time.Now()
}

// Start validates r, writes the import and its jobs, publishes those that fit in the client's
// window and returns the import id: a manual import identical to one of the client's still
// running is merged into it (nothing is written; its id is returned). Refusals are apierr
// errors naming the field or the state to fix; nothing is written then.
func (s *Starter) Start(ctx context.Context, r Request) (uuid.UUID, error) {
	id, jobs, err := s.Create(ctx, r)
	if err != nil {
		return uuid.Nil, err
	}
	s.Publish(ctx, jobs)
	return id, nil
}

// Publish publishes jobs claimed for publication. They are stored: a failure only delays them
// until the reconciler finds them stale, so it is logged, not returned.
func (s *Starter) Publish(ctx context.Context, jobs []uuid.UUID) {
	if err := outbox.Publish(ctx, s.Queue, jobs); err != nil {
		s.Logger.WarnContext(ctx, "publish jobs; the reconciler will", "jobs", len(jobs), "error", err)
	}
}

// Create is Start without the publication: it validates r, writes the import and its jobs and
// returns the import id and the jobs claimed for publication (the client's window), for a
// caller that publishes many imports' jobs in an order of its own (the nightly run interleaves
// its clients).
func (s *Starter) Create(ctx context.Context, r Request) (uuid.UUID, []uuid.UUID, error) {
	deps, pos, err := s.check(ctx, r)
	if err != nil {
		return uuid.Nil, nil, err
	}
	id := uuid.New()
	var rv changes.Revisit
	if r.Scheduled && !r.Intraday && s.Revisiter != nil {
		now := r.Now
		if now.IsZero() {
			now = s.now()
		}
		rv = s.Revisiter.Revisit(ctx, r.ClientID, deps, now)
		for i := range deps {
			deps[i].From = deps[i].Until.AddDays(1 - max(rv.Days, changes.PlainDays))
		}
	}
	jobs := plan.Plan(deps, s.MaxDays, uuid.New)
	jobs, causes := changes.Extend(jobs, deps, rv.RegisterDays, s.MaxDays, uuid.New)
	switch {
	case r.Scheduled:
		// The nightly run's and intraday's jobs are small and share their range: a few groups
		// per client pay the jobs' fixed costs once each (a location stays in one group).
		plan.GroupByRange(jobs, s.MaxGroupJobs)
	case provider.FetchesByLocation(pos):
		plan.GroupByLocation(jobs)
	}
	ni := store.NewImport{Import: store.Import{
		ID: id, ClientID: r.ClientID, Overwrite: r.Overwrite, Trigger: int16(r.Trigger),
		CreatedBy: r.CreatedBy, ScheduledFor: r.ScheduledFor, Partial: r.Intraday,
	}, RunDate: r.RunDate, ChangeScan: rv.Scan, DayCauses: causes}
	if !r.Scheduled {
		ni.MergeIdentical, ni.MaxQueued = true, s.MaxQueuedPerClient
	}
	from, until := deps[0].From, deps[0].Until
	for _, d := range deps {
		ni.Import.DepartmentIDs = append(ni.Import.DepartmentIDs, d.ID)
	}
	for _, j := range jobs {
		if j.From.Before(from) {
			from = j.From
		}
		if j.Until.After(until) {
			until = j.Until
		}
	}
	ni.Import.From, ni.Import.Until = from, until
	for _, j := range jobs {
		ni.Jobs = append(ni.Jobs, store.NewJob{
			ID: j.ID, DepartmentID: j.DepartmentID, RegisterID: j.RegisterID, LocationID: j.LocationID, TimeZone: j.TimeZone,
			From: j.From, Until: j.Until, GroupID: j.GroupID, Priority: priority(r),
		})
	}
	created, err := s.Store.CreateImport(ctx, ni)
	var full *store.QueueFullError
	switch {
	case errors.As(err, &full):
		return uuid.Nil, nil, &apierr.Error{Code: codes.ResourceExhausted, Message: fmt.Sprintf(
			"client %s has %d import jobs queued or running, and this import's %d would pass the limit of %d: wait for imports to end, or cancel one",
			r.ClientID, full.Queued, full.Adding, full.Max)}
	case err != nil:
		return uuid.Nil, nil, err
	case created.Merged:
		s.Logger.InfoContext(ctx, "import merged into an identical one still running", "import_id", created.ImportID,
			"client_id", r.ClientID, "created_by", r.CreatedBy)
		return created.ImportID, nil, nil
	}
	if rv.After != nil {
		rv.After(ctx, id)
	}
	s.Logger.InfoContext(ctx, "import started", "import_id", id, "client_id", r.ClientID, "jobs", len(jobs),
		"queued", len(created.Publish), "from", from.String(), "until", until.String(), "trigger", r.Trigger.String())
	return id, created.Publish, nil
}

// check validates the request against the client's configuration and connection and returns
// the departments to plan, with the client's POS.
func (s *Starter) check(ctx context.Context, r Request) ([]plan.Department, posimportv1.PosProvider, error) {
	cctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	cfg, err := s.Config.GetClientConfig(cctx, &posimportv1.GetClientConfigRequest{ClientId: r.ClientID})
	cancel()
	if err != nil {
		return nil, 0, upstream("config service", err)
	}
	settings := cfg.GetSettings()
	if !settings.GetPosImportEnabled() {
		return nil, 0, apierr.FailedPrecondition("POS import is not enabled for client %s (General Settings)", r.ClientID)
	}
	cctx, cancel = context.WithTimeout(ctx, rpcTimeout)
	conn, err := s.Auth.GetConnection(cctx, &posimportv1.GetConnectionRequest{ClientId: r.ClientID, StatusOnly: true})
	cancel()
	if err != nil {
		return nil, 0, upstream("auth service", err)
	}
	c := conn.GetConnection()
	if c.GetStatus() != posimportv1.ConnectionStatus_CONNECTION_STATUS_ENABLED {
		msg := fmt.Sprintf("the POS integration of client %s is %s, not enabled", r.ClientID, statusWord(c.GetStatus()))
		if c.GetStatus() == posimportv1.ConnectionStatus_CONNECTION_STATUS_NEEDS_REAUTH {
			msg += ": the client must re-authorize Lightspeed"
		}
		return nil, 0, apierr.FailedPrecondition("%s", msg)
	}
	if c.GetProvider() != settings.GetPosProvider() {
		return nil, 0, apierr.FailedPrecondition("the connection is to %s but the client is configured for %s: reconnect to switch provider",
			c.GetProvider(), settings.GetPosProvider())
	}
	clientLoc, err := time.LoadLocation(settings.GetTimeZone())
	if err != nil {
		return nil, 0, apierr.FailedPrecondition("client time zone %q is unknown", settings.GetTimeZone())
	}
	now := r.Now
	if now.IsZero() {
		now = s.now()
	}

	ids := r.DepartmentIDs
	if r.Scheduled && len(ids) == 0 {
		for _, d := range cfg.GetDepartments() {
			if d.GetPosClientNumber() != "" {
				ids = append(ids, d.GetDepartmentId())
			}
		}
		if len(ids) == 0 {
			return nil, 0, apierr.FailedPrecondition("client %s has no department mapped to a POS client number", r.ClientID)
		}
	}
	byID := map[string]*posimportv1.Department{}
	for _, d := range cfg.GetDepartments() {
		byID[d.GetDepartmentId()] = d
	}
	var out []plan.Department
	for i, id := range ids {
		field := fmt.Sprintf("department_ids[%d]", i)
		d, ok := byID[id]
		if !ok {
			return nil, 0, apierr.Invalid(field, "department %q does not exist for client %s", id, r.ClientID)
		}
		if d.GetPosClientNumber() == "" {
			return nil, 0, apierr.Invalid(field, "department %q is not mapped to a POS client number", id)
		}
		zone := d.GetEffectiveTimeZone()
		if zone == "" {
			zone = settings.GetTimeZone()
		}
		loc, err := time.LoadLocation(zone)
		if err != nil {
			return nil, 0, apierr.FailedPrecondition("department %q has an unknown time zone %q", id, zone)
		}
		pd := plan.Department{ID: id, LocationID: d.GetPosClientNumber(), Registers: d.GetPosTerminalNumbers(), TimeZone: zone,
			From: r.From, Until: r.Until}
		if r.Scheduled {
			today := civil.Today(now, loc)
			pd.From, pd.Until = today.AddDays(-2), today.AddDays(-1)
			if r.Intraday {
				pd.From, pd.Until = today, today
			}
		}
		out = append(out, pd)
	}
	if !r.Scheduled {
		if today := civil.Today(now, clientLoc); r.Until.After(today) {
			return nil, 0, apierr.Invalid("until_date", "%s is after today (%s in %s)", r.Until, today, clientLoc)
		}
	}
	return out, settings.GetPosProvider(), nil
}

// priority is the window priority of r's jobs: an intraday refresh goes first.
func priority(r Request) int16 {
	if r.Intraday {
		return 1
	}
	return 0
}

// upstream turns another service's refusal into ours: their client-facing codes keep their
// message; anything else is Unavailable.
func upstream(service string, err error) error {
	st := status.Convert(err)
	switch st.Code() {
	case codes.NotFound, codes.FailedPrecondition, codes.PermissionDenied:
		return &apierr.Error{Code: st.Code(), Message: st.Message()}
	case codes.InvalidArgument:
		return apierr.FailedPrecondition("%s refused: %s", service, st.Message())
	}
	return apierr.Unavailable(err, "%s unavailable, retry later", service)
}

func statusWord(s posimportv1.ConnectionStatus) string {
	switch s {
	case posimportv1.ConnectionStatus_CONNECTION_STATUS_NOT_CONNECTED:
		return "not connected"
	case posimportv1.ConnectionStatus_CONNECTION_STATUS_CONNECTED:
		return "connected"
	case posimportv1.ConnectionStatus_CONNECTION_STATUS_NEEDS_REAUTH:
		return "waiting for consent again"
	case posimportv1.ConnectionStatus_CONNECTION_STATUS_DISCONNECTED:
		return "disconnected"
	}
	return "unknown"
}
