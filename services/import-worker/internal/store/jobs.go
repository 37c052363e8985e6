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

// Job is an import job as stored: one register (or a whole department) over a range of local
// dates.
type Job struct {
	ID, ImportID           uuid.UUID
	ClientID, DepartmentID string
	// RegisterID is "" for a department imported as one unit.
	RegisterID, LocationID, TimeZone string
	From, Until                      civil.Date
	State                            string
	// Attempt counts the leases; the latest is the fencing token.
	Attempt    int32
	LeaseOwner string
	// LeaseUntil and PublishedAt are zero while unset.
	LeaseUntil, PublishedAt time.Time
	RepublishCount          int32
	// Counters of the latest attempt.
	Counters
	LastError                                     string
	CreateTime, StartTime, FinishTime, UpdateTime time.Time
	// GroupID is the lead's id when the job is one of a location group (its lead included),
	// uuid.Nil when it runs alone; see migration 003.
	GroupID uuid.UUID
}

// Lead reports whether the job is a location group's lead.
func (j Job) Lead() bool { return j.GroupID != uuid.Nil && j.GroupID == j.ID }

func jobOf(r dbsqlc.Job) Job {
	return Job{
		ID: r.JobID, ImportID: r.ImportID, ClientID: r.ClientID, DepartmentID: r.DepartmentID, RegisterID: r.RegisterID,
		LocationID: r.LocationID, TimeZone: r.TimeZone, From: civilDate(r.FromDate), Until: civilDate(r.UntilDate),
		State: r.State, Attempt: r.Attempt, LeaseOwner: r.LeaseOwner, LeaseUntil: instant(r.LeaseUntil),
		PublishedAt: instant(r.PublishedAt), RepublishCount: r.RepublishCount,
		Counters: Counters{DaysWritten: r.DaysWritten, DaysUnchanged: r.DaysUnchanged, DaysSkippedApproved: r.DaysSkippedApproved,
			SalesCounted: r.SalesCounted, RequestsMade: r.RequestsMade},
		LastError: r.LastError, CreateTime: instant(r.CreateTime), StartTime: instant(r.StartTime),
		FinishTime: instant(r.FinishTime), UpdateTime: instant(r.UpdateTime), GroupID: uuid.UUID(r.GroupID.Bytes),
	}
}

// GetJob returns a job; ErrNotFound if there is none.
func (s *Store) GetJob(ctx context.Context, id uuid.UUID) (Job, error) {
	r, err := s.q.JobGet(ctx, s.pool, id)
	if err != nil {
		return Job{}, notFound(err, "read job "+id.String())
	}
	return jobOf(r), nil
}

// LeaseOutcome is what a lease attempt found.
type LeaseOutcome int

// The lease outcomes.
const (
	// Leased: this worker holds the job; Lease.Attempt is its fencing token.
	Leased LeaseOutcome = iota + 1
	// Ended: the job is DONE, SKIPPED, FAILED or CANCELLED; its message is spent.
	Ended
	// Busy: another worker holds a live lease for Lease.Wait more.
	Busy
	// OverCap: the client has as many running jobs as the fairness cap allows.
	OverCap
	// Exhausted: the job used up its attempts and is now FAILED.
	Exhausted
	// Unknown: no such job.
	Unknown
)

// Lease is the result of [Store.Lease].
type Lease struct {
	Outcome LeaseOutcome
	Job     Job
	// Attempt is the fencing token (Leased).
	Attempt int32
	// Wait is how long the other worker's lease still runs (Busy).
	Wait time.Duration
	// Overwrite, Partial and Cancelled come from the job's import.
	Overwrite bool
	Partial   bool
	Cancelled bool
	// Next are the client's jobs claimed for publication because this one ended (Exhausted).
	Next []uuid.UUID
	// Members are the other jobs of the lead's group, leased with it (Leased: each
	// Job.Attempt is that member's fencing token) or failed with it (Exhausted).
	Members []Job
	// Write is what the writes of the leased job and its members carry besides values
	// (Leased): read in the lease's transaction, so that a job's writes cost no read of their
	// own. WriteFor gives one job's.
	Write WriteContext
	// causes are the day causes of the lead and its members, by job (Leased).
	causes map[uuid.UUID]map[civil.Date]DayCause
}

// WriteFor returns the write context of the leased job or one of its members.
func (l Lease) WriteFor(job uuid.UUID) WriteContext {
	wc := l.Write
	wc.Causes = l.causes[job]
	return wc
}

// LeaseParams configure [Store.Lease].
type LeaseParams struct {
	JobID uuid.UUID
	Owner string
	TTL   time.Duration
	// MaxRunningPerClient caps the client's concurrently leased jobs; 0 means no cap.
	MaxRunningPerClient int
	// MaxAttempts fails a job that was leased this many times already; 0 means no limit.
	MaxAttempts int
}

// Lease decides, under the job's row lock and a per-client advisory lock (so the fairness cap
// holds against concurrent leases), whether this worker may run the job, and takes the lease.
func (s *Store) Lease(ctx context.Context, p LeaseParams) (Lease, error) {
	var out Lease
	err := postgres.InTx(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		out = Lease{}
		row, err := s.q.JobGetForLease(ctx, tx, p.JobID)
		if errors.Is(err, pgx.ErrNoRows) {
			out.Outcome = Unknown
			return nil
		}
		if err != nil {
			return fmt.Errorf("read job: %w", err)
		}
		out.Job = jobOfLeaseRow(row)
		out.Overwrite, out.Partial, out.Cancelled = row.OverwriteApproved, row.Partial, row.CancelTime.Valid
		out.Write = WriteContext{CreatedBy: row.CreatedBy, Trigger: row.Trigger}
		switch {
		case row.State != StatePending && row.State != StateRunning:
			out.Outcome = Ended
			return nil
		case row.LeaseUntil.Valid && row.LeaseUntil.Time.After(row.DbNow.Time):
			out.Outcome, out.Wait = Busy, row.LeaseUntil.Time.Sub(row.DbNow.Time)
			return nil
		case p.MaxAttempts > 0 && int(row.Attempt) >= p.MaxAttempts:
			reason := fmt.Sprintf("gave up after %d attempts", row.Attempt)
			if row.LastError != "" {
				reason += ": " + row.LastError
			}
			if _, err := s.q.JobFailUnleased(ctx, tx, dbsqlc.JobFailUnleasedParams{JobID: p.JobID, LastError: reason}); err != nil {
				return fmt.Errorf("fail exhausted job: %w", err)
			}
			if out.Job.Lead() {
				rows, err := s.q.JobsFailMembersUnleased(ctx, tx, dbsqlc.JobsFailMembersUnleasedParams{LastError: reason, LeadID: pgUUID(p.JobID)})
				if err != nil {
					return fmt.Errorf("fail exhausted job's group: %w", err)
				}
				out.Members = jobsOf(rows)
			}
			out.Job.LastError, out.Job.State = reason, StateFailed
			out.Outcome = Exhausted
			out.Next, err = s.claimNext(ctx, tx, row.ClientID)
			return err
		}
		if p.MaxRunningPerClient > 0 {
			if err := lockClient(ctx, tx, row.ClientID); err != nil {
				return err
			}
			n, err := s.q.JobRunningCount(ctx, tx, dbsqlc.JobRunningCountParams{ClientID: row.ClientID, JobID: p.JobID})
			if err != nil {
				return fmt.Errorf("count running jobs: %w", err)
			}
			if int(n) >= p.MaxRunningPerClient {
				out.Outcome = OverCap
				return nil
			}
		}
		out.Attempt, err = s.q.JobLease(ctx, tx, dbsqlc.JobLeaseParams{Owner: p.Owner, TtlSeconds: seconds(p.TTL), JobID: p.JobID})
		if err != nil {
			return fmt.Errorf("lease job: %w", err)
		}
		out.Outcome = Leased
		out.Job.Attempt, out.Job.State, out.Job.LeaseOwner = out.Attempt, StateRunning, p.Owner
		if out.Job.Lead() {
			rows, err := s.q.JobLeaseMembers(ctx, tx, dbsqlc.JobLeaseMembersParams{Owner: p.Owner, TtlSeconds: seconds(p.TTL), LeadID: pgUUID(p.JobID)})
			if err != nil {
				return fmt.Errorf("lease job's group: %w", err)
			}
			out.Members = jobsOf(rows)
		}
		ids := []uuid.UUID{p.JobID}
		for _, m := range out.Members {
			ids = append(ids, m.ID)
		}
		out.causes, err = s.jobsDayCauses(ctx, tx, ids)
		return err
	})
	return out, err
}

// lockClient takes the client's advisory lock until the transaction ends: what counts or
// changes a client's running and queued jobs takes it, so those decisions do not race.
func lockClient(ctx context.Context, tx pgx.Tx, client string) error {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended('imports.client:' || $1, 0))", client); err != nil {
		return fmt.Errorf("lock client: %w", err)
	}
	return nil
}

func jobOfLeaseRow(r dbsqlc.JobGetForLeaseRow) Job {
	return jobOf(dbsqlc.Job{
		JobID: r.JobID, ImportID: r.ImportID, ClientID: r.ClientID, DepartmentID: r.DepartmentID,
		RegisterID: r.RegisterID, LocationID: r.LocationID, TimeZone: r.TimeZone,
		FromDate: r.FromDate, UntilDate: r.UntilDate, State: r.State, Attempt: r.Attempt,
		LeaseOwner: r.LeaseOwner, LeaseUntil: r.LeaseUntil, PublishedAt: r.PublishedAt,
		RepublishCount: r.RepublishCount, DaysWritten: r.DaysWritten, DaysUnchanged: r.DaysUnchanged,
		DaysSkippedApproved: r.DaysSkippedApproved, SalesCounted: r.SalesCounted, RequestsMade: r.RequestsMade,
		LastError: r.LastError, CreateTime: r.CreateTime, StartTime: r.StartTime, FinishTime: r.FinishTime,
		UpdateTime: r.UpdateTime, GroupID: r.GroupID,
	})
}

// Counters are what one attempt of a job has done.
type Counters struct {
	DaysWritten, DaysUnchanged, DaysSkippedApproved int32
	SalesCounted, RequestsMade                      int64
}

// Held is a job a process runs, by the attempt it leased.
type Held struct {
	JobID   uuid.UUID
	Attempt int32
}

// ExtendLeases moves the end of every held job's lease to now+ttl in one statement (a
// process's heartbeat costs one write however many jobs it runs) and returns the jobs still
// held; a job missing from the result was taken over by a newer attempt.
func (s *Store) ExtendLeases(ctx context.Context, held []Held, ttl time.Duration) (map[uuid.UUID]bool, error) {
	ids, attempts := make([]uuid.UUID, len(held)), make([]int32, len(held))
	for i, h := range held {
		ids[i], attempts[i] = h.JobID, h.Attempt
	}
	still, err := s.q.JobsExtendLeases(ctx, s.pool, dbsqlc.JobsExtendLeasesParams{TtlSeconds: seconds(ttl), JobIds: ids, Attempts: attempts})
	if err != nil {
		return nil, fmt.Errorf("extend leases: %w", err)
	}
	out := make(map[uuid.UUID]bool, len(still))
	for _, id := range still {
		out[id] = true
	}
	return out, nil
}

// Progress records the counters so far; ErrLeaseLost if this attempt no longer holds the job.
func (s *Store) Progress(ctx context.Context, job uuid.UUID, attempt int32, c Counters) error {
	n, err := s.q.JobProgress(ctx, s.pool, dbsqlc.JobProgressParams{
		DaysWritten: c.DaysWritten, DaysUnchanged: c.DaysUnchanged, DaysSkippedApproved: c.DaysSkippedApproved,
		SalesCounted: c.SalesCounted, RequestsMade: c.RequestsMade, JobID: job, Attempt: attempt,
	})
	return heldOrLost(n, err, "record progress")
}

// Finish ends the job in state with its counters, and claims for publication the next jobs
// of its client that fit in the client's window (returned, for the caller to publish), in one
// transaction; ErrLeaseLost if this attempt no longer holds the job.
func (s *Store) Finish(ctx context.Context, job uuid.UUID, attempt int32, state string, c Counters, lastError string) ([]uuid.UUID, error) {
	e, err := s.FinishGroup(ctx, []End{{JobID: job, Attempt: attempt, State: state, Counters: c, LastError: lastError}})
	return e.Next, err
}

// End is how one job ends (alone, or one of a location group): its attempt, state, counters
// and reason. ImportID and DepartmentID, when set, ask [Closed] whether the end may have
// completed the department or the import.
type End struct {
	JobID        uuid.UUID
	Attempt      int32
	State        string
	Counters     Counters
	LastError    string
	ImportID     uuid.UUID
	DepartmentID string
}

// Closed is what ending jobs committed.
type Closed struct {
	// Next are the client's jobs claimed for publication (its window moved on).
	Next []uuid.UUID
	// DepartmentsOpen and ImportOpen count the jobs not ended of the ended jobs' departments
	// and of their import, read in the same transaction under the client's lock (so that of
	// concurrent ends the last one sees all of them ended): when both are positive the end
	// completed nothing, and the completion's reads can be skipped. -1 when not read.
	DepartmentsOpen, ImportOpen int
	// ToMark are the import's departments due to be marked imported (store.DepartmentsToMark),
	// read in the same transaction when DepartmentsOpen is 0, so that the completion need not
	// read them again.
	ToMark []DepartmentSpan
}

// FinishGroup ends jobs (one alone, or every job of a location group), each in its own state,
// and claims the client's next jobs for publication, in one transaction: they end all or none.
// ErrLeaseLost if any of the attempts no longer holds its job.
func (s *Store) FinishGroup(ctx context.Context, ends []End) (Closed, error) {
	out := Closed{DepartmentsOpen: -1, ImportOpen: -1}
	err := postgres.InTx(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		out = Closed{DepartmentsOpen: -1, ImportOpen: -1}
		if len(ends) == 0 {
			return nil
		}
		var p dbsqlc.JobsFinishParams
		for _, e := range ends {
			c := e.Counters
			p.JobIds, p.Attempts, p.States = append(p.JobIds, e.JobID), append(p.Attempts, e.Attempt), append(p.States, e.State)
			p.DaysWritten, p.DaysUnchanged = append(p.DaysWritten, c.DaysWritten), append(p.DaysUnchanged, c.DaysUnchanged)
			p.DaysSkippedApproved = append(p.DaysSkippedApproved, c.DaysSkippedApproved)
			p.SalesCounted, p.RequestsMade = append(p.SalesCounted, c.SalesCounted), append(p.RequestsMade, c.RequestsMade)
			p.LastErrors = append(p.LastErrors, e.LastError)
		}
		clients, err := s.q.JobsFinish(ctx, tx, p)
		if err != nil {
			return fmt.Errorf("finish jobs: %w", err)
		}
		if len(clients) != len(ends) {
			return ErrLeaseLost // one of them was taken over: none ends
		}
		if out.Next, err = s.claimNext(ctx, tx, clients[0]); err != nil {
			return err
		}
		if ends[0].ImportID == uuid.Nil {
			return nil
		}
		var deps []string
		for _, e := range ends {
			deps = append(deps, e.DepartmentID)
		}
		open, err := s.q.ImportOpenJobs(ctx, tx, dbsqlc.ImportOpenJobsParams{ImportID: ends[0].ImportID, DepartmentIds: deps})
		if err != nil {
			return fmt.Errorf("count open jobs: %w", err)
		}
		out.DepartmentsOpen, out.ImportOpen = int(open.DepartmentsOpen), int(open.ImportOpen)
		if out.DepartmentsOpen == 0 {
			if out.ToMark, err = s.departmentsToMark(ctx, tx, ends[0].ImportID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// ReleaseGroup gives every held job of a location group back for a later attempt, in one
// transaction; ErrLeaseLost if the lead's attempt no longer holds it (a member already taken
// over is left to its holder).
func (s *Store) ReleaseGroup(ctx context.Context, held []Held, lastError string) error {
	return postgres.InTx(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		for i, h := range held {
			n, err := s.q.JobRelease(ctx, tx, dbsqlc.JobReleaseParams{LastError: lastError, JobID: h.JobID, Attempt: h.Attempt})
			if err := heldOrLost(n, err, "release job"); err != nil && (i == 0 || !errors.Is(err, ErrLeaseLost)) {
				return err
			}
		}
		return nil
	})
}

// Release gives the job back for a later attempt; ErrLeaseLost if this attempt no longer holds it.
func (s *Store) Release(ctx context.Context, job uuid.UUID, attempt int32, lastError string) error {
	n, err := s.q.JobRelease(ctx, s.pool, dbsqlc.JobReleaseParams{LastError: lastError, JobID: job, Attempt: attempt})
	return heldOrLost(n, err, "release job")
}

func heldOrLost(n int64, err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return ErrLeaseLost
	}
	return nil
}

// Cancelled reports whether the job's import was cancelled; ErrLeaseLost if this attempt no
// longer holds the job.
func (s *Store) Cancelled(ctx context.Context, job uuid.UUID, attempt int32) (bool, error) {
	r, err := s.q.JobCancelled(ctx, s.pool, dbsqlc.JobCancelledParams{Attempt: attempt, JobID: job})
	if err != nil {
		return false, notFound(err, "check cancel")
	}
	if !r.Held {
		return false, ErrLeaseLost
	}
	return r.Cancelled, nil
}

// RecordError stores a problem a job met, for the import's error list.
func (s *Store) RecordError(ctx context.Context, j Job, message string, permanent bool) error {
	if err := s.q.ImportErrorInsert(ctx, s.pool, dbsqlc.ImportErrorInsertParams{
		ImportID: j.ImportID, JobID: j.ID, DepartmentID: j.DepartmentID, RegisterID: j.RegisterID,
		FromDate: date(j.From), UntilDate: date(j.Until), Message: message, Permanent: permanent,
	}); err != nil {
		return fmt.Errorf("record import error: %w", err)
	}
	return nil
}

// StaleJobs returns at most limit jobs that may have lost their message: pending for longer
// than grace after publication, or running with a lease that ran out more than grace ago.
func (s *Store) StaleJobs(ctx context.Context, grace time.Duration, limit int) ([]uuid.UUID, error) {
	ids, err := s.q.JobsStale(ctx, s.pool, dbsqlc.JobsStaleParams{GraceSeconds: seconds(grace), MaxRows: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("list stale jobs: %w", err)
	}
	return ids, nil
}

// ClaimRepublish claims the re-publication of a stale job for this replica and returns its
// count, which makes a fresh Nats-Msg-Id; false when another replica claimed it or the job
// ended meanwhile.
func (s *Store) ClaimRepublish(ctx context.Context, job uuid.UUID, grace time.Duration) (int32, bool, error) {
	n, err := s.q.JobClaimRepublish(ctx, s.pool, dbsqlc.JobClaimRepublishParams{JobID: job, GraceSeconds: seconds(grace)})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("claim re-publication: %w", err)
	}
	return n, true, nil
}

// OldestOpenJobAge returns how long the oldest job not ended has existed; 0 when none.
func (s *Store) OldestOpenJobAge(ctx context.Context) (time.Duration, error) {
	sec, err := s.q.JobOldestOpenAge(ctx, s.pool)
	if err != nil {
		return 0, fmt.Errorf("read the oldest open job: %w", err)
	}
	return time.Duration(sec * float64(time.Second)), nil
}

func jobsOf(rows []dbsqlc.Job) []Job {
	out := make([]Job, len(rows))
	for i, r := range rows {
		out[i] = jobOf(r)
	}
	return out
}

func pgUUID(id uuid.UUID) pgtype.UUID { return pgtype.UUID{Bytes: id, Valid: id != uuid.Nil} }
