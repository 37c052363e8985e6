package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/postgres"
	"github.com/posimport/posimport/services/balance/internal/store/internal/dbsqlc"
)

// Correction states, as stored; the numbers are posimport.v1.CorrectionState's.
const (
	CorrectionPendingState   int16 = 1
	CorrectionAppliedState   int16 = 2
	CorrectionDismissedState int16 = 3
	CorrectionWithdrawnState int16 = 4
)

// Audit actions, as stored; the numbers are posimport.v1.AuditAction's.
const (
	AuditCorrectionApplied   int16 = 1
	AuditCorrectionDismissed int16 = 2
	AuditImportOverwrote     int16 = 3
)

// ErrNotPending: the correction was applied, dismissed or withdrawn already.
var ErrNotPending = errors.New("the correction is no longer pending")

// Cause is why an import wrote a day, as the import-worker said it.
type Cause struct {
	Reason    string
	SaleIDs   []string
	SaleCount int32
}

// Change is one value that differs between two versions of a register-day: a field's total
// (Hour -1) or its value in one local clock hour (Hour, its index in the day). "" is "no
// value" (not imported).
type Change struct {
	FieldID int64  `json:"field_id"`
	Hour    int    `json:"hour"`
	Before  string `json:"before"`
	After   string `json:"after"`
}

// Diff returns the values that differ between before and after (each in field id order),
// compared as decimals: per field its total first, then its hours.
func Diff(before, after []FieldValues) []Change {
	byID := func(fs []FieldValues) map[int64]FieldValues {
		m := make(map[int64]FieldValues, len(fs))
		for _, f := range fs {
			m[f.FieldID] = f
		}
		return m
	}
	b, a := byID(before), byID(after)
	var ids []int64
	for id := range b {
		ids = append(ids, id)
	}
	for id := range a {
		if _, ok := b[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []Change
	for _, id := range ids {
		bf, af := b[id], a[id]
		if !equalDecimal(bf.Total, af.Total) {
			out = append(out, Change{FieldID: id, Hour: -1, Before: bf.Total, After: af.Total})
		}
		for h := range max(len(bf.Hours), len(af.Hours)) {
			bv, av := at(bf.Hours, h), at(af.Hours, h)
			if !equalDecimal(bv, av) {
				out = append(out, Change{FieldID: id, Hour: h, Before: bv, After: av})
			}
		}
	}
	return out
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

// sameFields reports whether two sets of values are equal as decimals.
func sameFields(a, b []FieldValues) bool { return len(Diff(a, b)) == 0 && len(a) == len(b) }

// jsonValues is the stored JSON of a correction's values.
type jsonValues struct {
	FieldID int64    `json:"field_id"`
	Hours   []string `json:"hours"`
	Total   string   `json:"total"`
}

func encodeValues(fs []FieldValues) []byte {
	out := make([]jsonValues, len(fs))
	for i, f := range fs {
		out[i] = jsonValues(f)
		if out[i].Hours == nil {
			out[i].Hours = []string{}
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic(err) // strings and integers always marshal
	}
	return b
}

func decodeValues(b []byte) ([]FieldValues, error) {
	var in []jsonValues
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("decode stored values: %w", err)
	}
	out := make([]FieldValues, len(in))
	for i, f := range in {
		out[i] = FieldValues(f)
	}
	slices.SortFunc(out, func(a, b FieldValues) int { return cmp.Compare(a.FieldID, b.FieldID) })
	return out, nil
}

func encodeChanges(cs []Change) []byte {
	if cs == nil {
		cs = []Change{}
	}
	b, err := json.Marshal(cs)
	if err != nil {
		panic(err)
	}
	return b
}

// Correction is a correction of an approved register-day.
type Correction struct {
	ClientID, CorrectionID, DepartmentID, RegisterID string
	Date                                             civil.Date
	TimeZone                                         string
	State                                            int16
	Before, After                                    []FieldValues
	ImportID, JobID                                  string
	Cause                                            Cause
	CreateTime, UpdateTime, ResolveTime              time.Time
	ResolvedBy                                       string
	// Seq orders corrections by creation (page tokens).
	Seq int64
}

// Changes are the values the correction changes.
func (c Correction) Changes() []Change { return Diff(c.Before, c.After) }

// pendingOfDays reads the pending corrections of a batch's register-days.
func (s *Store) pendingOfDays(ctx context.Context, tx pgx.Tx, client string, days []batchDay) (map[registerDay]pendingCorrection, error) {
	depts, registers, dates := registerDayArrays(days)
	rows, err := s.q.CorrectionsPendingOfDays(ctx, tx, dbsqlc.CorrectionsPendingOfDaysParams{
		ClientID: client, DepartmentIds: depts, RegisterIds: registers, Dates: dates,
	})
	if err != nil {
		return nil, fmt.Errorf("read pending corrections: %w", err)
	}
	out := make(map[registerDay]pendingCorrection, len(rows))
	for _, r := range rows {
		after, err := decodeValues(r.AfterValues)
		if err != nil {
			return nil, err
		}
		out[registerDay{r.DepartmentID, r.RegisterID, civilDate(r.BusinessDate)}] = pendingCorrection{id: r.CorrectionID, after: after}
	}
	return out, nil
}

type pendingCorrection struct {
	id    string
	after []FieldValues
}

// recordCorrection keeps w's values as the register-day's pending correction: a new one
// whose "before" is stored, or the pending one's "after" replaced. It returns the
// correction's id and whether anything changed.
func (s *Store) recordCorrection(ctx context.Context, tx pgx.Tx, w Write, stored []FieldValues, pending *pendingCorrection) (string, bool, error) {
	cause := w.Cause
	if cause.SaleIDs == nil {
		cause.SaleIDs = []string{}
	}
	if pending != nil {
		if sameFields(pending.after, w.Fields) {
			return pending.id, false, nil
		}
		if err := s.q.CorrectionReplaceAfter(ctx, tx, dbsqlc.CorrectionReplaceAfterParams{
			AfterValues: encodeValues(w.Fields), ImportID: w.ImportID, JobID: w.JobID, FencingToken: w.FencingToken,
			CauseReason: cause.Reason, CauseSaleIds: cause.SaleIDs, CauseSaleCount: cause.SaleCount, Now: timestamptz(w.Now),
			ClientID: w.ClientID, CorrectionID: pending.id,
		}); err != nil {
			return "", false, fmt.Errorf("replace correction: %w", err)
		}
		return pending.id, true, nil
	}
	id, err := s.q.CorrectionInsert(ctx, tx, dbsqlc.CorrectionInsertParams{
		ClientID: w.ClientID, DepartmentID: w.DepartmentID, BusinessDate: pgDate(w.Date), RegisterID: w.RegisterID,
		TimeZone: w.TimeZone, BeforeValues: encodeValues(stored), AfterValues: encodeValues(w.Fields),
		ImportID: w.ImportID, JobID: w.JobID, FencingToken: w.FencingToken,
		CauseReason: cause.Reason, CauseSaleIds: cause.SaleIDs, CauseSaleCount: cause.SaleCount, Now: timestamptz(w.Now),
	})
	if err != nil {
		return "", false, fmt.Errorf("record correction: %w", err)
	}
	return id, true, nil
}

// countCorrections refreshes the department-days' counts of pending corrections.
func (s *Store) countCorrections(ctx context.Context, tx pgx.Tx, client string, dds []deptDay) error {
	depts, dates := deptDayArrays(dds)
	if err := s.q.DayStatusCountCorrections(ctx, tx, dbsqlc.DayStatusCountCorrectionsParams{
		ClientID: client, DepartmentIds: depts, Dates: dates,
	}); err != nil {
		return fmt.Errorf("count pending corrections: %w", err)
	}
	return nil
}

// audit records a change to an approved register-day.
func (s *Store) audit(ctx context.Context, tx pgx.Tx, a auditRecord) error {
	var correction pgtype.Text
	if a.correctionID != "" {
		correction = pgtype.Text{String: a.correctionID, Valid: true}
	}
	if err := s.q.AuditInsert(ctx, tx, dbsqlc.AuditInsertParams{
		ClientID: a.client, Action: a.action, Actor: a.actor, RecordTime: timestamptz(a.at), DepartmentID: a.dept,
		BusinessDate: pgDate(a.date), RegisterID: a.register, TimeZone: a.zone, Changes: encodeChanges(a.changes),
		CorrectionID: correction, ImportID: a.importID, JobID: a.jobID,
	}); err != nil {
		return fmt.Errorf("record audit: %w", err)
	}
	return nil
}

type auditRecord struct {
	client, dept, register, zone string
	date                         civil.Date
	action                       int16
	actor                        string
	at                           time.Time
	changes                      []Change
	correctionID                 string
	importID, jobID              string
}

// ApplyCorrection makes a pending correction's register-day equal its "after" values, keeps
// the day's approval (its approval now covers these values), closes the correction as applied
// by by, and records the audit, in one transaction under the day's lock. ErrNotFound: no such
// correction of the client; ErrNotPending: it is closed already. Either way nothing changes.
func (s *Store) ApplyCorrection(ctx context.Context, client, id, by string, now time.Time) (Correction, error) {
	return s.resolve(ctx, client, id, by, now, CorrectionAppliedState)
}

// DismissCorrection closes a pending correction as dismissed by by, leaving the day as it is,
// and records the audit. Refusals as ApplyCorrection's.
func (s *Store) DismissCorrection(ctx context.Context, client, id, by string, now time.Time) (Correction, error) {
	return s.resolve(ctx, client, id, by, now, CorrectionDismissedState)
}

func (s *Store) resolve(ctx context.Context, client, id, by string, now time.Time, state int16) (Correction, error) {
	var out storedCorrection
	err := postgres.InTx(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		c, err := s.correction(ctx, tx, client, id)
		if err != nil {
			return err
		}
		// The day's lock first, as every transaction takes it; then the correction again,
		// which nothing changes without that lock.
		if _, err := s.lockDays(ctx, tx, client, c.DepartmentID, c.Date, c.Date); err != nil {
			return err
		}
		if c, err = s.correction(ctx, tx, client, id); err != nil {
			return err
		}
		if c.State != CorrectionPendingState {
			return ErrNotPending
		}
		action := AuditCorrectionDismissed
		if state == CorrectionAppliedState {
			action = AuditCorrectionApplied
			w := Write{
				ClientID: client, DepartmentID: c.DepartmentID, RegisterID: c.RegisterID, Date: c.Date, TimeZone: c.TimeZone,
				ImportID: c.ImportID, JobID: c.JobID, FencingToken: c.fencingToken, Fields: c.After, Now: now,
			}
			if err := s.replaceDays(ctx, tx, client, []registerWrite{{w: &w, res: &WriteResult{}}}); err != nil {
				return err
			}
			if err := s.q.DayStatusKeepApproval(ctx, tx, dbsqlc.DayStatusKeepApprovalParams{
				ClientID: client, DepartmentID: c.DepartmentID, BusinessDate: pgDate(c.Date),
			}); err != nil {
				return fmt.Errorf("keep the day's approval: %w", err)
			}
		}
		if _, err := s.q.CorrectionResolve(ctx, tx, dbsqlc.CorrectionResolveParams{
			State: state, Now: timestamptz(now), ResolvedBy: by, ClientID: client, CorrectionID: id,
		}); err != nil {
			return fmt.Errorf("close correction: %w", err)
		}
		if err := s.countCorrections(ctx, tx, client, []deptDay{{c.DepartmentID, c.Date}}); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, auditRecord{
			client: client, dept: c.DepartmentID, register: c.RegisterID, zone: c.TimeZone, date: c.Date,
			action: action, actor: by, at: now, changes: c.Changes(), correctionID: id, importID: c.ImportID, jobID: c.JobID,
		}); err != nil {
			return err
		}
		out, err = s.correction(ctx, tx, client, id)
		return err
	})
	return out.Correction, interpretError(err)
}

// storedCorrection is a correction with what only the store needs.
type storedCorrection struct {
	Correction
	fencingToken int64
}

func (s *Store) correction(ctx context.Context, db dbsqlc.DBTX, client, id string) (storedCorrection, error) {
	r, err := s.q.CorrectionGet(ctx, db, dbsqlc.CorrectionGetParams{ClientID: client, CorrectionID: id})
	if err != nil {
		return storedCorrection{}, fmt.Errorf("read correction: %w", err)
	}
	c, err := correctionOf(dbsqlc.CorrectionListRow{
		ClientID: r.ClientID, CorrectionID: r.CorrectionID, DepartmentID: r.DepartmentID, BusinessDate: r.BusinessDate,
		RegisterID: r.RegisterID, TimeZone: r.TimeZone, State: r.State, BeforeValues: r.BeforeValues, AfterValues: r.AfterValues,
		ImportID: r.ImportID, JobID: r.JobID, FencingToken: r.FencingToken, CauseReason: r.CauseReason,
		CauseSaleIds: r.CauseSaleIds, CauseSaleCount: r.CauseSaleCount, CreateTime: r.CreateTime, UpdateTime: r.UpdateTime,
		ResolveTime: r.ResolveTime, ResolvedBy: r.ResolvedBy,
	})
	return storedCorrection{Correction: c, fencingToken: r.FencingToken}, err
}

func correctionOf(r dbsqlc.CorrectionListRow) (Correction, error) {
	before, err := decodeValues(r.BeforeValues)
	if err != nil {
		return Correction{}, err
	}
	after, err := decodeValues(r.AfterValues)
	if err != nil {
		return Correction{}, err
	}
	return Correction{
		ClientID: r.ClientID, CorrectionID: r.CorrectionID, DepartmentID: r.DepartmentID, RegisterID: r.RegisterID,
		Date: civilDate(r.BusinessDate), TimeZone: r.TimeZone, State: r.State, Before: before, After: after,
		ImportID: r.ImportID, JobID: r.JobID,
		Cause:      Cause{Reason: r.CauseReason, SaleIDs: r.CauseSaleIds, SaleCount: r.CauseSaleCount},
		CreateTime: timeOf(r.CreateTime), UpdateTime: timeOf(r.UpdateTime), ResolveTime: timeOf(r.ResolveTime),
		ResolvedBy: r.ResolvedBy, Seq: r.Seq,
	}, nil
}

// ListQuery selects a page of corrections or audit records, newest first.
type ListQuery struct {
	ClientID string
	// DepartmentID "" is every department.
	DepartmentID string
	// State 0 is every state (corrections only).
	State int16
	// BeforeSeq is the previous page's last Seq; 0 for the first page.
	BeforeSeq int64
	Limit     int32
}

// Corrections returns a page of a client's corrections.
func (s *Store) Corrections(ctx context.Context, q ListQuery) ([]Correction, error) {
	rows, err := s.q.CorrectionList(ctx, s.pool, dbsqlc.CorrectionListParams{
		ClientID: q.ClientID, DepartmentID: q.DepartmentID, State: q.State, BeforeSeq: q.BeforeSeq, MaxRows: q.Limit,
	})
	if err != nil {
		return nil, interpretError(fmt.Errorf("list corrections: %w", err))
	}
	out := make([]Correction, len(rows))
	for i, r := range rows {
		if out[i], err = correctionOf(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// AuditRecord is one audit record.
type AuditRecord struct {
	AuditID                            string
	Seq                                int64
	Action                             int16
	Actor                              string
	RecordTime                         time.Time
	DepartmentID, RegisterID, TimeZone string
	Date                               civil.Date
	Changes                            []Change
	CorrectionID, ImportID, JobID      string
}

// AuditRecords returns a page of a client's audit records.
func (s *Store) AuditRecords(ctx context.Context, q ListQuery) ([]AuditRecord, error) {
	rows, err := s.q.AuditList(ctx, s.pool, dbsqlc.AuditListParams{
		ClientID: q.ClientID, DepartmentID: q.DepartmentID, BeforeSeq: q.BeforeSeq, MaxRows: q.Limit,
	})
	if err != nil {
		return nil, interpretError(fmt.Errorf("list audit records: %w", err))
	}
	out := make([]AuditRecord, len(rows))
	for i, r := range rows {
		var changes []Change
		if err := json.Unmarshal(r.Changes, &changes); err != nil {
			return nil, fmt.Errorf("decode audit changes: %w", err)
		}
		out[i] = AuditRecord{
			AuditID: r.AuditID, Seq: r.Seq, Action: r.Action, Actor: r.Actor, RecordTime: timeOf(r.RecordTime),
			DepartmentID: r.DepartmentID, RegisterID: r.RegisterID, TimeZone: r.TimeZone, Date: civilDate(r.BusinessDate),
			Changes: changes, CorrectionID: r.CorrectionID, ImportID: r.ImportID, JobID: r.JobID,
		}
	}
	return out, nil
}
