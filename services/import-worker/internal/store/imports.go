package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/postgres"
	"github.com/posimport/posimport/services/import-worker/internal/store/internal/dbsqlc"
)

// Import is an import as stored.
type Import struct {
	ID            uuid.UUID
	ClientID      string
	DepartmentIDs []string
	// From and Until span all of the import's jobs.
	From, Until civil.Date
	Overwrite   bool
	// Partial: an intraday refresh, whose writes are the day so far (WriteDaysRequest.partial).
	Partial bool
	// Trigger is a posimport.v1.ImportTrigger.
	Trigger   int16
	CreatedBy string
	// ScheduledFor is the nightly run's instant a scheduled import was started for; zero for
	// a manual one.
	ScheduledFor time.Time
	// UnmappedTypes are POS data types (posimport.v1.PosDataType) no field receives.
	UnmappedTypes []int16
	// CreateTime, CancelTime and FinishTime; the last two are zero while unset.
	CreateTime, CancelTime, FinishTime time.Time
}

func importOf(r dbsqlc.Import) Import {
	return Import{
		ID: r.ImportID, ClientID: r.ClientID, DepartmentIDs: r.DepartmentIds, From: civilDate(r.FromDate), Until: civilDate(r.UntilDate),
		Overwrite: r.OverwriteApproved, Partial: r.Partial, Trigger: r.Trigger, CreatedBy: r.CreatedBy, ScheduledFor: instant(r.ScheduledFor),
		UnmappedTypes: r.UnmappedTypes, CreateTime: instant(r.CreateTime), CancelTime: instant(r.CancelTime), FinishTime: instant(r.FinishTime),
	}
}

// NewJob is a planned job of a new import.
type NewJob struct {
	ID uuid.UUID
	// DepartmentID and RegisterID ("" for the whole department) say what the job imports;
	// LocationID is the POS location and TimeZone the department's zone when planned.
	DepartmentID, RegisterID, LocationID, TimeZone string
	From, Until                                    civil.Date
	// GroupID is the lead's id for a job of a location group (plan.GroupByLocation).
	GroupID uuid.UUID
	// Priority: a higher one is claimed for the client's window first (1: an intraday refresh).
	Priority int16
}

// NewImport is an import with its planned jobs, to be stored together.
type NewImport struct {
	// Import's ID, ClientID, DepartmentIDs, From, Until, Overwrite, Trigger, CreatedBy and
	// ScheduledFor are stored; the rest is set by the database.
	Import Import
	// Jobs in plan order, which is the order they are published in.
	Jobs []NewJob
	// RunDate, when set, records the import as its client's start in that nightly run, in the
	// same transaction: a client is started at most once per run date.
	RunDate civil.Date
	// MergeIdentical: when the client has an import identical to this one (the same
	// departments, dates, overwrite flag and trigger) that is neither cancelled nor finished and
	// still has jobs to run, nothing is stored and that import is returned instead.
	MergeIdentical bool
	// MaxQueued refuses the import (a *QueueFullError) when the client's jobs not ended would
	// be more than this with the new ones; 0 is no limit.
	MaxQueued int
	// ChangeScan, when set, is the change listing whose days the import re-reads (changes.go).
	ChangeScan *ChangeScan
	// DayCauses are the jobs' days with a cause of their own.
	DayCauses []DayCause
}

// Created is what CreateImport did.
type Created struct {
	ImportID uuid.UUID
	// Merged: an identical import was running and nothing was stored; ImportID is that one.
	Merged bool
	// Publish are the new jobs claimed for publication (those that fit in the client's
	// window), in plan order, for the caller to publish once CreateImport returned.
	Publish []uuid.UUID
}

// QueueFullError refuses an import that would give its client more jobs not ended than
// NewImport.MaxQueued.
type QueueFullError struct{ Queued, Adding, Max int }

func (e *QueueFullError) Error() string {
	return fmt.Sprintf("the client has %d import jobs queued or running; %d more would pass the limit of %d", e.Queued, e.Adding, e.Max)
}

// CreateImport stores the import, its jobs and (RunDate) its nightly run's record, and claims
// the jobs that fit in the client's window for publication, in one transaction under the
// client's lock: all of it or none. An identical import still running is returned instead
// (MergeIdentical); too much queued work is refused (MaxQueued).
func (s *Store) CreateImport(ctx context.Context, ni NewImport) (Created, error) {
	imp := ni.Import
	var out Created
	err := postgres.InTx(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		out = Created{ImportID: imp.ID}
		// The lock makes the merge and the limit hold against concurrent starts of the client.
		if err := lockClient(ctx, tx, imp.ClientID); err != nil {
			return err
		}
		if ni.MergeIdentical {
			id, err := s.q.ImportRunningIdentical(ctx, tx, dbsqlc.ImportRunningIdenticalParams{
				ClientID: imp.ClientID, FromDate: date(imp.From), UntilDate: date(imp.Until), OverwriteApproved: imp.Overwrite,
				Trigger: imp.Trigger, DepartmentIds: imp.DepartmentIDs,
			})
			switch {
			case err == nil:
				out = Created{ImportID: id, Merged: true}
				return nil
			case !errors.Is(err, pgx.ErrNoRows):
				return fmt.Errorf("look for an identical import: %w", err)
			}
		}
		if ni.MaxQueued > 0 {
			n, err := s.q.JobsOpenCount(ctx, tx, imp.ClientID)
			if err != nil {
				return fmt.Errorf("count queued jobs: %w", err)
			}
			if int(n)+len(ni.Jobs) > ni.MaxQueued {
				return &QueueFullError{Queued: int(n), Adding: len(ni.Jobs), Max: ni.MaxQueued}
			}
		}
		if err := s.q.ImportInsert(ctx, tx, dbsqlc.ImportInsertParams{
			ImportID: imp.ID, ClientID: imp.ClientID, DepartmentIds: imp.DepartmentIDs, FromDate: date(imp.From), UntilDate: date(imp.Until),
			OverwriteApproved: imp.Overwrite, Trigger: imp.Trigger, CreatedBy: imp.CreatedBy, ScheduledFor: timestamp(imp.ScheduledFor),
			Partial: imp.Partial,
		}); err != nil {
			return fmt.Errorf("insert import: %w", err)
		}
		// The jobs that fit in the client's window are claimed for publication as they are
		// stored, in plan order (a group's members go with their lead): a later claim would
		// write every one of them again.
		inWindow, err := s.q.JobsInWindow(ctx, tx, imp.ClientID)
		if err != nil {
			return fmt.Errorf("count jobs in the window: %w", err)
		}
		room := s.windowSize() - inWindow
		p := dbsqlc.JobsInsertParams{ImportID: imp.ID, ClientID: imp.ClientID}
		for _, j := range ni.Jobs {
			publish := room > 0 && (j.GroupID == uuid.Nil || j.GroupID == j.ID)
			if publish {
				room--
				out.Publish = append(out.Publish, j.ID)
			}
			p.Published = append(p.Published, publish)
			p.JobIds = append(p.JobIds, j.ID)
			p.DepartmentIds = append(p.DepartmentIds, j.DepartmentID)
			p.RegisterIds = append(p.RegisterIds, j.RegisterID)
			p.LocationIds = append(p.LocationIds, j.LocationID)
			p.TimeZones = append(p.TimeZones, j.TimeZone)
			p.FromDates = append(p.FromDates, date(j.From))
			p.UntilDates = append(p.UntilDates, date(j.Until))
			p.GroupIds = append(p.GroupIds, j.GroupID)
			p.Priorities = append(p.Priorities, j.Priority)
		}
		if err := s.q.JobsInsert(ctx, tx, p); err != nil {
			return fmt.Errorf("insert jobs: %w", err)
		}
		if err := s.insertChanges(ctx, tx, ni); err != nil {
			return err
		}
		if !ni.RunDate.IsZero() {
			if err := s.q.ScheduleRunClientInsert(ctx, tx, dbsqlc.ScheduleRunClientInsertParams{
				RunDate: date(ni.RunDate), ClientID: imp.ClientID, Outcome: RunStarted, ImportID: pgtype.UUID{Bytes: imp.ID, Valid: true},
			}); err != nil {
				return fmt.Errorf("record run client: %w", err)
			}
		}
		return nil
	})
	return out, err
}

// GetImport returns one import of client; ErrNotFound for another client's or none.
func (s *Store) GetImport(ctx context.Context, client string, id uuid.UUID) (Import, error) {
	r, err := s.q.ImportGet(ctx, s.pool, dbsqlc.ImportGetParams{ClientID: client, ImportID: id})
	if err != nil {
		return Import{}, notFound(err, "read import "+id.String())
	}
	return importOf(r), nil
}

// ListImports returns at most limit imports of client, newest first, starting after the
// import after (uuid.Nil: from the newest).
func (s *Store) ListImports(ctx context.Context, client string, after uuid.UUID, limit int) ([]Import, error) {
	rows, err := s.q.ImportList(ctx, s.pool, dbsqlc.ImportListParams{
		ClientID: client, After: pgtype.UUID{Bytes: after, Valid: after != uuid.Nil}, MaxRows: int32(limit),
	})
	if err != nil {
		return nil, fmt.Errorf("list imports: %w", err)
	}
	out := make([]Import, len(rows))
	for i, r := range rows {
		out[i] = importOf(r)
	}
	return out, nil
}

// JobSummary sums an import's jobs of one department in one state.
type JobSummary struct {
	DepartmentID, State                                           string
	Jobs                                                          int32
	DaysWritten, DaysUnchanged, DaysSkippedApproved, SalesCounted int64
	RequestsMade, DaysCorrectionPending                           int64
	// From and Until span the jobs' dates.
	From, Until civil.Date
}

// JobSummaries returns an import's jobs summed per department and state.
func (s *Store) JobSummaries(ctx context.Context, id uuid.UUID) ([]JobSummary, error) {
	rows, err := s.q.ImportJobSummary(ctx, s.pool, id)
	if err != nil {
		return nil, fmt.Errorf("summarise jobs: %w", err)
	}
	out := make([]JobSummary, len(rows))
	for i, r := range rows {
		out[i] = JobSummary{
			DepartmentID: r.DepartmentID, State: r.State, Jobs: r.Jobs, DaysWritten: r.DaysWritten, DaysUnchanged: r.DaysUnchanged,
			DaysSkippedApproved: r.DaysSkippedApproved, SalesCounted: r.SalesCounted, RequestsMade: r.RequestsMade,
			DaysCorrectionPending: r.DaysCorrectionPending, From: civilDate(r.FromDate), Until: civilDate(r.UntilDate),
		}
	}
	return out, nil
}

// ImportError is a problem one of an import's jobs met.
type ImportError struct {
	JobID                    uuid.UUID
	DepartmentID, RegisterID string
	From, Until              civil.Date
	Message                  string
	// Permanent: the job ended FAILED with it; otherwise it was retried.
	Permanent bool
	Time      time.Time
}

// ImportErrors returns an import's latest errors (at most limit), oldest first.
func (s *Store) ImportErrors(ctx context.Context, id uuid.UUID, limit int) ([]ImportError, error) {
	rows, err := s.q.ImportErrorList(ctx, s.pool, dbsqlc.ImportErrorListParams{ImportID: id, MaxRows: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("list import errors: %w", err)
	}
	out := make([]ImportError, len(rows))
	for i, e := range rows {
		out[i] = ImportError{
			JobID: e.JobID, DepartmentID: e.DepartmentID, RegisterID: e.RegisterID, From: civilDate(e.FromDate),
			Until: civilDate(e.UntilDate), Message: e.Message, Permanent: e.Permanent, Time: instant(e.CreateTime),
		}
	}
	return out, nil
}

// MarkedDepartments returns the departments of an import marked imported in the balance.
func (s *Store) MarkedDepartments(ctx context.Context, id uuid.UUID) ([]string, error) {
	deps, err := s.q.ImportMarkedDepartments(ctx, s.pool, id)
	if err != nil {
		return nil, fmt.Errorf("list marked departments: %w", err)
	}
	return deps, nil
}

// Cancel marks an import of client cancelled and its pending jobs CANCELLED, and claims the
// client's next jobs for the window the cancelled ones leave (returned, for the caller to
// publish), in one transaction. An import that has ended is left unchanged; ErrNotFound when
// client has no such import.
func (s *Store) Cancel(ctx context.Context, client string, id uuid.UUID) ([]uuid.UUID, error) {
	var next []uuid.UUID
	err := postgres.InTx(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := s.q.ImportCancel(ctx, tx, dbsqlc.ImportCancelParams{ClientID: client, ImportID: id}); err != nil {
			if !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("cancel import: %w", err)
			}
			if _, err := s.q.ImportGet(ctx, tx, dbsqlc.ImportGetParams{ClientID: client, ImportID: id}); err != nil {
				return notFound(err, "read import "+id.String())
			}
			return nil // ended already
		}
		if _, err := s.q.JobCancelPending(ctx, tx, id); err != nil {
			return fmt.Errorf("cancel jobs: %w", err)
		}
		if _, err := s.q.ImportFinishIfEnded(ctx, tx, id); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("finish import: %w", err)
		}
		var err error
		next, err = s.claimNext(ctx, tx, client)
		return err
	})
	return next, err
}

// AddUnmappedTypes records POS data types (posimport.v1.PosDataType) an import's provider
// fills that no field of the client receives.
func (s *Store) AddUnmappedTypes(ctx context.Context, id uuid.UUID, types []int16) error {
	if err := s.q.ImportAddUnmappedTypes(ctx, s.pool, dbsqlc.ImportAddUnmappedTypesParams{Types: types, ImportID: id}); err != nil {
		return fmt.Errorf("record unmapped types: %w", err)
	}
	return nil
}

// DepartmentSpan is a department of an import and the dates its jobs cover.
type DepartmentSpan struct {
	ImportID               uuid.UUID
	ClientID, DepartmentID string
	From, Until            civil.Date
	TimeZone               string
}

// DepartmentsToMark returns the departments of an import (of every import changed in the last
// three days when id is uuid.Nil) whose jobs all ended DONE or SKIPPED and that were not
// marked imported in the balance yet.
func (s *Store) DepartmentsToMark(ctx context.Context, id uuid.UUID) ([]DepartmentSpan, error) {
	return s.departmentsToMark(ctx, s.pool, id)
}

func (s *Store) departmentsToMark(ctx context.Context, db dbsqlc.DBTX, id uuid.UUID) ([]DepartmentSpan, error) {
	rows, err := s.q.DepartmentsToMark(ctx, db, pgtype.UUID{Bytes: id, Valid: id != uuid.Nil})
	if err != nil {
		return nil, fmt.Errorf("list departments to mark: %w", err)
	}
	out := make([]DepartmentSpan, len(rows))
	for i, r := range rows {
		out[i] = DepartmentSpan{ImportID: r.ImportID, ClientID: r.ClientID, DepartmentID: r.DepartmentID,
			From: civilDate(r.FromDate), Until: civilDate(r.UntilDate), TimeZone: r.TimeZone}
	}
	return out, nil
}

// Completed records that departments of imports were marked imported in the balance and,
// when finish is an import id, sets that import's finish time if no job of it is pending or
// running, in one transaction; it returns the import when it finished it now.
func (s *Store) Completed(ctx context.Context, marked []DepartmentSpan, finish uuid.UUID) (imp Import, finished bool, err error) {
	if len(marked) == 0 && finish == uuid.Nil {
		return Import{}, false, nil
	}
	err = postgres.InTx(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		imp, finished = Import{}, false
		if len(marked) > 0 {
			p := dbsqlc.DepartmentMarkInsertParams{}
			for _, d := range marked {
				p.ImportIds = append(p.ImportIds, d.ImportID)
				p.DepartmentIds = append(p.DepartmentIds, d.DepartmentID)
			}
			if err := s.q.DepartmentMarkInsert(ctx, tx, p); err != nil {
				return fmt.Errorf("record marked departments: %w", err)
			}
		}
		if finish == uuid.Nil {
			return nil
		}
		r, err := s.q.ImportFinishIfEnded(ctx, tx, finish)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("finish import: %w", err)
		}
		imp, finished = importOf(r), true
		return nil
	})
	return imp, finished, err
}

// UnfinishedEndedImports returns imports whose jobs all ended but whose finish time is not set
// (a worker died in between).
func (s *Store) UnfinishedEndedImports(ctx context.Context) ([]uuid.UUID, error) {
	ids, err := s.q.ImportsUnfinishedEnded(ctx, s.pool)
	if err != nil {
		return nil, fmt.Errorf("list ended imports: %w", err)
	}
	return ids, nil
}

// DepartmentDate is a department's date.
type DepartmentDate struct {
	ClientID, DepartmentID string
	Date                   civil.Date
}

// LastImported returns each department's last date marked imported in the balance.
func (s *Store) LastImported(ctx context.Context) ([]DepartmentDate, error) {
	rows, err := s.q.DepartmentLastImported(ctx, s.pool)
	if err != nil {
		return nil, fmt.Errorf("read the departments' last imported dates: %w", err)
	}
	out := make([]DepartmentDate, len(rows))
	for i, r := range rows {
		out[i] = DepartmentDate{ClientID: r.ClientID, DepartmentID: r.DepartmentID, Date: civilDate(r.UntilDate)}
	}
	return out, nil
}
