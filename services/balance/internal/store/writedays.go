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
// share client, department, register, job, import, fencing token and overwrite flag, and their
// dates follow each other. Each day is skipped when approved (unless overwriting approved
// days), left alone when its values are unchanged (compared as decimals), and written
// otherwise. A stale fencing token returns a *StaleFenceError and changes nothing.
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
		stored, versions, err := s.registerRange(ctx, tx, first, last.Date)
		if err != nil {
			return err
		}
		var changed []int
		for i, w := range ws {
			res[i].Status = days[i].Status
			version, exists := versions[w.Date]
			res[i].Version = version
			switch {
			case res[i].Status == StatusApproved && !w.OverwriteApproved:
				res[i].Outcome = SkippedApproved
			case exists && sameValues(stored[w.Date], w.Fields):
				res[i].Outcome = Unchanged
			default:
				changed = append(changed, i)
			}
		}
		if len(changed) == 0 {
			return nil
		}
		return s.replaceDays(ctx, tx, ws, changed, res)
	})
	return res, interpretError(err)
}

// registerRange reads a register's stored values and write counters of a range of days.
func (s *Store) registerRange(ctx context.Context, tx pgx.Tx, w Write, until civil.Date) (map[civil.Date][]dbsqlc.RegisterValuesOfRangeRow, map[civil.Date]int64, error) {
	rows, err := s.q.RegisterDaysOfRange(ctx, tx, dbsqlc.RegisterDaysOfRangeParams{
		ClientID: w.ClientID, DepartmentID: w.DepartmentID, RegisterID: w.RegisterID, FromDate: pgDate(w.Date), UntilDate: pgDate(until),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read register days: %w", err)
	}
	versions := make(map[civil.Date]int64, len(rows))
	for _, r := range rows {
		versions[civilDate(r.BusinessDate)] = r.Version
	}
	values, err := s.q.RegisterValuesOfRange(ctx, tx, dbsqlc.RegisterValuesOfRangeParams{
		ClientID: w.ClientID, DepartmentID: w.DepartmentID, RegisterID: w.RegisterID, FromDate: pgDate(w.Date), UntilDate: pgDate(until),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read register values: %w", err)
	}
	stored := make(map[civil.Date][]dbsqlc.RegisterValuesOfRangeRow, len(rows))
	for _, v := range values {
		d := civilDate(v.BusinessDate)
		stored[d] = append(stored[d], v)
	}
	return stored, versions, nil
}

// replaceDays replaces the values of the days ws[changed] and sets their results.
func (s *Store) replaceDays(ctx context.Context, tx pgx.Tx, ws []Write, changed []int, res []WriteResult) error {
	w := ws[0]
	dates := make([]pgtype.Date, len(changed))
	ins := dbsqlc.RegisterValuesInsertDaysParams{ClientID: w.ClientID, DepartmentID: w.DepartmentID, RegisterID: w.RegisterID}
	for k, i := range changed {
		dates[k] = pgDate(ws[i].Date)
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
