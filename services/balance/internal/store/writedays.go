package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/postgres"
	"github.com/posimport/posimport/services/balance/internal/store/internal/dbsqlc"
)

// WriteDay replaces one register's values for one day: WriteDays of that one day.
func (s *Store) WriteDay(ctx context.Context, w Write) (WriteResult, error) {
	res, err := s.WriteDays(ctx, []Write{w})
	if err != nil {
		return WriteResult{}, err
	}
	return res[0], nil
}

// WriteDays writes consecutive days of one register for one job, the one write path of the
// balance: in one transaction that holds all the days' locks (taken in date order, as every
// transaction takes them), the fence check, the approval check, the comparison with what is
// stored and the write all see the same state, and each statement serves all the days. ws
// share client, department, register, job, import, fencing token, overwrite flag and actor,
// and their dates follow each other. Each day, by the first rule that holds:
//
//   - approved, and the write partial: SkippedApproved (an intraday refresh never touches an
//     approved day and records nothing);
//   - approved without overwrite, values equal to the approved ones: SkippedApproved, and a
//     pending correction of the register-day is withdrawn;
//   - approved without overwrite, values that differ: CorrectionPending, the day unchanged;
//     the register-day's pending correction is created (its "before" the approved values) or
//     its "after" and cause replaced;
//   - a partial write of a register-day a full write has closed: SkippedComplete;
//   - values and partial flag equal to the stored ones (decimals compared): Unchanged;
//   - otherwise Written; a pending correction of the register-day is withdrawn (its values
//     are replaced), and a change to an approved day (overwrite) is recorded in the audit.
//
// A stale fencing token returns a *StaleFenceError and changes nothing.
func (s *Store) WriteDays(ctx context.Context, ws []Write) ([]WriteResult, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	first, last := ws[0], ws[len(ws)-1]
	if span := last.Date.DaysSince(first.Date) + 1; span != len(ws) {
		return nil, fmt.Errorf("write days: %d days from %s to %s are not consecutive", len(ws), first.Date, last.Date)
	}
	var res []WriteResult
	err := postgres.InTx(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		res = make([]WriteResult, len(ws))
		days, err := s.lockDays(ctx, tx, first.ClientID, first.DepartmentID, first.Date, last.Date)
		if err != nil {
			return err
		}
		if len(days) != len(ws) {
			return fmt.Errorf("lock days: got %d rows for %d days", len(days), len(ws))
		}
		seen, err := s.q.JobFenceAdvance(ctx, tx, dbsqlc.JobFenceAdvanceParams{
			ClientID: first.ClientID, JobID: first.JobID, FencingToken: first.FencingToken,
		})
		if err != nil {
			return fmt.Errorf("advance job fence: %w", err)
		}
		if seen > first.FencingToken {
			return &StaleFenceError{Seen: seen, Got: first.FencingToken}
		}
		stored, err := s.registerRange(ctx, tx, first, last.Date)
		if err != nil {
			return err
		}
		pending, err := s.pendingOfRange(ctx, tx, first, last.Date)
		if err != nil {
			return err
		}
		var (
			changed   []int
			withdraw  []string
			corrected []pgtype.Date
			audits    []auditRecord
		)
		for i, w := range ws {
			res[i].Status = days[i].Status
			st, exists := stored[w.Date]
			res[i].Version = st.version
			p, hasPending := pending[w.Date]
			approved := days[i].Status == StatusApproved
			same := exists && sameFields(st.values, w.Fields)
			switch {
			case approved && w.Partial:
				res[i].Outcome = SkippedApproved
			case approved && !w.OverwriteApproved && same:
				res[i].Outcome = SkippedApproved
				if hasPending {
					withdraw = append(withdraw, p.id)
					corrected = append(corrected, pgDate(w.Date))
				}
			case approved && !w.OverwriteApproved:
				var pc *pendingCorrection
				if hasPending {
					pc = &p
				}
				id, didChange, err := s.recordCorrection(ctx, tx, w, st.values, pc)
				if err != nil {
					return err
				}
				res[i].Outcome, res[i].CorrectionID = CorrectionPending, id
				if didChange {
					corrected = append(corrected, pgDate(w.Date))
				}
			case w.Partial && exists && !st.partial:
				res[i].Outcome = SkippedComplete
			case same && st.partial == w.Partial:
				res[i].Outcome = Unchanged
			default:
				changed = append(changed, i)
				if hasPending {
					withdraw = append(withdraw, p.id)
					corrected = append(corrected, pgDate(w.Date))
				}
				if approved {
					audits = append(audits, auditRecord{
						client: w.ClientID, dept: w.DepartmentID, register: w.RegisterID, zone: w.TimeZone, date: w.Date,
						action: AuditImportOverwrote, actor: w.Actor, at: w.Now, changes: Diff(st.values, w.Fields),
						importID: w.ImportID, jobID: w.JobID,
					})
				}
			}
		}
		if len(withdraw) > 0 {
			if err := s.q.CorrectionsWithdraw(ctx, tx, dbsqlc.CorrectionsWithdrawParams{
				Now: timestamptz(first.Now), ClientID: first.ClientID, CorrectionIds: withdraw,
			}); err != nil {
				return fmt.Errorf("withdraw corrections: %w", err)
			}
		}
		if len(corrected) > 0 {
			if err := s.countCorrections(ctx, tx, first.ClientID, first.DepartmentID, corrected); err != nil {
				return err
			}
		}
		for _, a := range audits {
			if err := s.audit(ctx, tx, a); err != nil {
				return err
			}
		}
		if len(changed) == 0 {
			return nil
		}
		return s.replaceDays(ctx, tx, ws, changed, res)
	})
	return res, interpretError(err)
}

// storedDay is a register-day as stored.
type storedDay struct {
	values  []FieldValues
	version int64
	partial bool
}

// registerRange reads a register's stored days of a range, by date.
func (s *Store) registerRange(ctx context.Context, tx pgx.Tx, w Write, until civil.Date) (map[civil.Date]storedDay, error) {
	rows, err := s.q.RegisterDaysOfRange(ctx, tx, dbsqlc.RegisterDaysOfRangeParams{
		ClientID: w.ClientID, DepartmentID: w.DepartmentID, RegisterID: w.RegisterID, FromDate: pgDate(w.Date), UntilDate: pgDate(until),
	})
	if err != nil {
		return nil, fmt.Errorf("read register days: %w", err)
	}
	values, err := s.q.RegisterValuesOfRange(ctx, tx, dbsqlc.RegisterValuesOfRangeParams{
		ClientID: w.ClientID, DepartmentID: w.DepartmentID, RegisterID: w.RegisterID, FromDate: pgDate(w.Date), UntilDate: pgDate(until),
	})
	if err != nil {
		return nil, fmt.Errorf("read register values: %w", err)
	}
	byDate := make(map[civil.Date][]dbsqlc.RegisterValuesOfRangeRow, len(rows))
	for _, v := range values {
		d := civilDate(v.BusinessDate)
		byDate[d] = append(byDate[d], v)
	}
	out := make(map[civil.Date]storedDay, len(rows))
	for _, r := range rows {
		d := civilDate(r.BusinessDate)
		out[d] = storedDay{values: storedValues(byDate[d]), version: r.Version, partial: r.Partial}
	}
	return out, nil
}

// replaceDays replaces the values of the days ws[changed] and sets their results.
func (s *Store) replaceDays(ctx context.Context, tx pgx.Tx, ws []Write, changed []int, res []WriteResult) error {
	w := ws[0]
	dates := make([]pgtype.Date, len(changed))
	partials := make([]bool, len(changed))
	ins := dbsqlc.RegisterValuesInsertDaysParams{ClientID: w.ClientID, DepartmentID: w.DepartmentID, RegisterID: w.RegisterID}
	for k, i := range changed {
		dates[k] = pgDate(ws[i].Date)
		partials[k] = ws[i].Partial
		for _, f := range ws[i].Fields {
			// The values are validated decimals, so the array literal needs no quoting.
			ins.Dates = append(ins.Dates, dates[k])
			ins.FieldIds = append(ins.FieldIds, f.FieldID)
			ins.Hours = append(ins.Hours, "{"+strings.Join(f.Hours, ",")+"}")
			ins.Totals = append(ins.Totals, f.Total)
		}
	}
	if err := s.q.RegisterValuesDeleteDays(ctx, tx, dbsqlc.RegisterValuesDeleteDaysParams{
		ClientID: w.ClientID, DepartmentID: w.DepartmentID, RegisterID: w.RegisterID, Dates: dates,
	}); err != nil {
		return fmt.Errorf("delete register values: %w", err)
	}
	versions, err := s.q.RegisterDaysUpsertDays(ctx, tx, dbsqlc.RegisterDaysUpsertDaysParams{
		ClientID: w.ClientID, DepartmentID: w.DepartmentID, RegisterID: w.RegisterID, TimeZone: w.TimeZone,
		ImportID: w.ImportID, JobID: w.JobID, FencingToken: w.FencingToken, WriteTime: timestamptz(w.Now), Dates: dates,
		Partials: partials,
	})
	if err != nil {
		return fmt.Errorf("write register days: %w", err)
	}
	byDate := make(map[civil.Date]int64, len(versions))
	for _, v := range versions {
		byDate[civilDate(v.BusinessDate)] = v.Version
	}
	for _, i := range changed {
		res[i].Outcome, res[i].Version = Written, byDate[ws[i].Date]
	}
	if err := s.q.RegisterValuesInsertDays(ctx, tx, ins); err != nil {
		return fmt.Errorf("write register values: %w", err)
	}
	if err := s.rebuildDayValues(ctx, tx, w.ClientID, w.DepartmentID, ws[changed[0]].Date, ws[changed[len(changed)-1]].Date); err != nil {
		return err
	}
	if err := s.q.DayStatusWrittenDays(ctx, tx, dbsqlc.DayStatusWrittenDaysParams{
		ClientID: w.ClientID, DepartmentID: w.DepartmentID, Dates: dates,
	}); err != nil {
		return fmt.Errorf("update day status: %w", err)
	}
	return nil
}
