package store

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
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

// WriteDays writes consecutive days of one register for one job: WriteBatch of that one write.
func (s *Store) WriteDays(ctx context.Context, ws []Write) ([]WriteResult, error) {
	res, err := s.WriteBatch(ctx, [][]Write{ws})
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// WriteBatch is the one write path of the balance: several writes of one client (each the
// consecutive days of one register for one job, as WriteDays takes them) in one transaction.
// It first locks every department-day of the batch, in (department, date) order as every
// transaction takes them, so the fence check, the approval check, the comparison with what is
// stored and the write all see the same state, and concurrent batches, approvals and single
// writes never deadlock. Each statement then serves all the register-days of the batch, and
// the per-department work (the sums over registers, the day's counters) is done once per
// department-day however many registers wrote it. Each write's days share client, department,
// register, job, import, fencing token, overwrite flag and actor, and follow each other; no
// register-day is in two writes. Each day, by the first rule that holds:
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
// A stale fencing token of any write returns a *StaleFenceError naming it and changes nothing.
func (s *Store) WriteBatch(ctx context.Context, batch [][]Write) ([][]WriteResult, error) {
	days, err := batchDays(batch)
	if err != nil || len(days) == 0 {
		return nil, err
	}
	client := batch[0][0].ClientID
	var res [][]WriteResult
	err = postgres.InTx(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		res = make([][]WriteResult, len(batch))
		for g, ws := range batch {
			res[g] = make([]WriteResult, len(ws))
		}
		status, err := s.lockDepartmentDays(ctx, tx, client, days)
		if err != nil {
			return err
		}
		if err := s.advanceFences(ctx, tx, client, batch); err != nil {
			return err
		}
		stored, err := s.registerDays(ctx, tx, client, days)
		if err != nil {
			return err
		}
		pending, err := s.pendingOfDays(ctx, tx, client, days)
		if err != nil {
			return err
		}
		var (
			changed   []registerWrite
			withdraw  []string
			corrected = make(map[deptDay]bool)
			audits    []auditRecord
		)
		for _, d := range days {
			w, r := d.w, &res[d.write][d.day]
			dk := deptDay{w.DepartmentID, w.Date}
			rk := registerDay{w.DepartmentID, w.RegisterID, w.Date}
			r.Status = status[dk].Status
			st, exists := stored[rk]
			r.Version = st.version
			p, hasPending := pending[rk]
			approved := r.Status == StatusApproved
			same := exists && sameFields(st.values, w.Fields)
			switch {
			case approved && w.Partial:
				r.Outcome = SkippedApproved
			case approved && !w.OverwriteApproved && same:
				r.Outcome = SkippedApproved
				if hasPending {
					withdraw = append(withdraw, p.id)
					corrected[dk] = true
				}
			case approved && !w.OverwriteApproved:
				var pc *pendingCorrection
				if hasPending {
					pc = &p
				}
				id, didChange, err := s.recordCorrection(ctx, tx, *w, st.values, pc)
				if err != nil {
					return err
				}
				r.Outcome, r.CorrectionID = CorrectionPending, id
				if didChange {
					corrected[dk] = true
				}
			case w.Partial && exists && !st.partial:
				r.Outcome = SkippedComplete
			case same && st.partial == w.Partial:
				r.Outcome = Unchanged
			default:
				changed = append(changed, registerWrite{w: w, res: r})
				if hasPending {
					withdraw = append(withdraw, p.id)
					corrected[dk] = true
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
				Now: timestamptz(batch[0][0].Now), ClientID: client, CorrectionIds: withdraw,
			}); err != nil {
				return fmt.Errorf("withdraw corrections: %w", err)
			}
		}
		if len(corrected) > 0 {
			if err := s.countCorrections(ctx, tx, client, sortedDeptDays(corrected)); err != nil {
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
		return s.replaceDays(ctx, tx, client, changed)
	})
	if err != nil {
		return nil, interpretError(err)
	}
	return res, nil
}

// batchDay is one register-day of a batch: the day-th day of the write-th write.
type batchDay struct {
	write, day int
	w          *Write
}

// deptDay keys a department-day, registerDay a register-day.
type (
	deptDay struct {
		dept string
		date civil.Date
	}
	registerDay struct {
		dept, register string
		date           civil.Date
	}
)

// batchDays checks a batch's shape (the API has refused anything else with the field at
// fault) and lists its register-days.
func batchDays(batch [][]Write) ([]batchDay, error) {
	var out []batchDay
	seen := make(map[registerDay]bool)
	for g, ws := range batch {
		if len(ws) == 0 {
			return nil, fmt.Errorf("write batch: write %d has no days", g)
		}
		first, last := ws[0], ws[len(ws)-1]
		if span := last.Date.DaysSince(first.Date) + 1; span != len(ws) {
			return nil, fmt.Errorf("write batch: write %d's %d days from %s to %s are not consecutive", g, len(ws), first.Date, last.Date)
		}
		for i := range ws {
			w := &ws[i]
			if w.ClientID != batch[0][0].ClientID {
				return nil, fmt.Errorf("write batch: write %d is of client %s, not %s", g, w.ClientID, batch[0][0].ClientID)
			}
			k := registerDay{w.DepartmentID, w.RegisterID, w.Date}
			if seen[k] {
				return nil, fmt.Errorf("write batch: register %s/%s's %s is written twice", w.DepartmentID, w.RegisterID, w.Date)
			}
			seen[k] = true
			out = append(out, batchDay{write: g, day: i, w: w})
		}
	}
	return out, nil
}

// sortedDeptDays returns the department-days of a set in (department, date) order.
func sortedDeptDays[V any](set map[deptDay]V) []deptDay {
	return slices.SortedFunc(maps.Keys(set), compareDeptDays)
}

// compareDeptDays orders department-days by department, then date.
func compareDeptDays(a, b deptDay) int {
	return cmp.Or(strings.Compare(a.dept, b.dept), a.date.DaysSince(b.date))
}

// deptDayArrays are department-days as the parallel arrays the queries unnest.
func deptDayArrays(dds []deptDay) (depts []string, dates []pgtype.Date) {
	depts, dates = make([]string, len(dds)), make([]pgtype.Date, len(dds))
	for i, d := range dds {
		depts[i], dates[i] = d.dept, pgDate(d.date)
	}
	return depts, dates
}

// lockDepartmentDays creates the batch's department-days that have no row yet and locks them
// all, in (department, date) order, returning them by department-day.
func (s *Store) lockDepartmentDays(ctx context.Context, tx pgx.Tx, client string, days []batchDay) (map[deptDay]dbsqlc.DayStatus, error) {
	set := make(map[deptDay]bool)
	for _, d := range days {
		set[deptDay{d.w.DepartmentID, d.w.Date}] = true
	}
	rows, err := s.lockDaySet(ctx, tx, client, sortedDeptDays(set))
	if err != nil {
		return nil, err
	}
	out := make(map[deptDay]dbsqlc.DayStatus, len(rows))
	for _, r := range rows {
		out[deptDay{r.DepartmentID, civilDate(r.BusinessDate)}] = r
	}
	return out, nil
}

// lockDaySet creates the department-days dds (distinct, in order) that have no row yet and
// locks them all in (department, date) order.
func (s *Store) lockDaySet(ctx context.Context, tx pgx.Tx, client string, dds []deptDay) ([]dbsqlc.DayStatus, error) {
	depts, dates := deptDayArrays(dds)
	if err := s.q.DayStatusEnsureDays(ctx, tx, dbsqlc.DayStatusEnsureDaysParams{
		ClientID: client, DepartmentIds: depts, Dates: dates,
	}); err != nil {
		return nil, fmt.Errorf("create day rows: %w", err)
	}
	rows, err := s.q.DayStatusLockDays(ctx, tx, dbsqlc.DayStatusLockDaysParams{ClientID: client, DepartmentIds: depts, Dates: dates})
	if err != nil {
		return nil, fmt.Errorf("lock day rows: %w", err)
	}
	if len(rows) != len(dds) {
		return nil, fmt.Errorf("lock day rows: got %d rows for %d days", len(rows), len(dds))
	}
	return rows, nil
}

// advanceFences records each job's fencing token, the batch's highest for a job that several
// writes share, and refuses the batch if any write's token is older than one already seen.
func (s *Store) advanceFences(ctx context.Context, tx pgx.Tx, client string, batch [][]Write) error {
	tokens := make(map[string]int64)
	for _, ws := range batch {
		tokens[ws[0].JobID] = max(tokens[ws[0].JobID], ws[0].FencingToken)
	}
	p := dbsqlc.JobFencesAdvanceParams{ClientID: client}
	for _, job := range slices.Sorted(maps.Keys(tokens)) {
		p.JobIds = append(p.JobIds, job)
		p.FencingTokens = append(p.FencingTokens, tokens[job])
	}
	rows, err := s.q.JobFencesAdvance(ctx, tx, p)
	if err != nil {
		return fmt.Errorf("advance job fences: %w", err)
	}
	seen := make(map[string]int64, len(rows))
	for _, r := range rows {
		seen[r.JobID] = r.FencingToken
	}
	for g, ws := range batch {
		if s := seen[ws[0].JobID]; s > ws[0].FencingToken {
			return &StaleFenceError{Seen: s, Got: ws[0].FencingToken, Write: g}
		}
	}
	return nil
}

// registerDayArrays are the batch's register-days as the parallel arrays the queries unnest.
func registerDayArrays(days []batchDay) (depts, registers []string, dates []pgtype.Date) {
	depts, registers, dates = make([]string, len(days)), make([]string, len(days)), make([]pgtype.Date, len(days))
	for i, d := range days {
		depts[i], registers[i], dates[i] = d.w.DepartmentID, d.w.RegisterID, pgDate(d.w.Date)
	}
	return depts, registers, dates
}

// storedDay is a register-day as stored.
type storedDay struct {
	values  []FieldValues
	version int64
	partial bool
}

// registerDays reads the batch's register-days as stored.
func (s *Store) registerDays(ctx context.Context, tx pgx.Tx, client string, days []batchDay) (map[registerDay]storedDay, error) {
	depts, registers, dates := registerDayArrays(days)
	rows, err := s.q.RegisterDaysOfDays(ctx, tx, dbsqlc.RegisterDaysOfDaysParams{
		ClientID: client, DepartmentIds: depts, RegisterIds: registers, Dates: dates,
	})
	if err != nil {
		return nil, fmt.Errorf("read register days: %w", err)
	}
	values, err := s.q.RegisterValuesOfDays(ctx, tx, dbsqlc.RegisterValuesOfDaysParams{
		ClientID: client, DepartmentIds: depts, RegisterIds: registers, Dates: dates,
	})
	if err != nil {
		return nil, fmt.Errorf("read register values: %w", err)
	}
	byDay := make(map[registerDay][]FieldValues, len(rows))
	for _, v := range values {
		k := registerDay{v.DepartmentID, v.RegisterID, civilDate(v.BusinessDate)}
		hours := v.Hours
		if hours == nil {
			hours = []string{}
		}
		byDay[k] = append(byDay[k], FieldValues{FieldID: v.FieldID, Hours: hours, Total: v.Total})
	}
	out := make(map[registerDay]storedDay, len(rows))
	for _, r := range rows {
		k := registerDay{r.DepartmentID, r.RegisterID, civilDate(r.BusinessDate)}
		vs := byDay[k]
		if vs == nil {
			vs = []FieldValues{}
		}
		out[k] = storedDay{values: vs, version: r.Version, partial: r.Partial}
	}
	return out, nil
}

// registerWrite is one register-day to write and where its result goes.
type registerWrite struct {
	w   *Write
	res *WriteResult
}

// replaceDays replaces the values of the register-days ws (distinct), sets their results,
// and then, once per department-day, rebuilds the department's sums and counters.
func (s *Store) replaceDays(ctx context.Context, tx pgx.Tx, client string, ws []registerWrite) error {
	n := len(ws)
	up := dbsqlc.RegisterDaysUpsertDaysParams{
		ClientID: client, DepartmentIds: make([]string, n), Dates: make([]pgtype.Date, n), RegisterIds: make([]string, n),
		TimeZones: make([]string, n), ImportIds: make([]string, n), JobIds: make([]string, n), FencingTokens: make([]int64, n),
		WriteTimes: make([]pgtype.Timestamptz, n), Partials: make([]bool, n),
	}
	ins := dbsqlc.RegisterValuesInsertDaysParams{ClientID: client}
	writes := make(map[deptDay]int64)
	for i, x := range ws {
		w := x.w
		up.DepartmentIds[i], up.Dates[i], up.RegisterIds[i] = w.DepartmentID, pgDate(w.Date), w.RegisterID
		up.TimeZones[i], up.ImportIds[i], up.JobIds[i], up.FencingTokens[i] = w.TimeZone, w.ImportID, w.JobID, w.FencingToken
		up.WriteTimes[i], up.Partials[i] = timestamptz(w.Now), w.Partial
		writes[deptDay{w.DepartmentID, w.Date}]++
		for _, f := range w.Fields {
			// The values are validated decimals, so the array literal needs no quoting.
			ins.DepartmentIds = append(ins.DepartmentIds, w.DepartmentID)
			ins.Dates = append(ins.Dates, up.Dates[i])
			ins.RegisterIds = append(ins.RegisterIds, w.RegisterID)
			ins.FieldIds = append(ins.FieldIds, f.FieldID)
			ins.Hours = append(ins.Hours, "{"+strings.Join(f.Hours, ",")+"}")
			ins.Totals = append(ins.Totals, f.Total)
		}
	}
	if err := s.q.RegisterValuesDeleteDays(ctx, tx, dbsqlc.RegisterValuesDeleteDaysParams{
		ClientID: client, DepartmentIds: up.DepartmentIds, RegisterIds: up.RegisterIds, Dates: up.Dates,
	}); err != nil {
		return fmt.Errorf("delete register values: %w", err)
	}
	versions, err := s.q.RegisterDaysUpsertDays(ctx, tx, up)
	if err != nil {
		return fmt.Errorf("write register days: %w", err)
	}
	byDay := make(map[registerDay]int64, len(versions))
	for _, v := range versions {
		byDay[registerDay{v.DepartmentID, v.RegisterID, civilDate(v.BusinessDate)}] = v.Version
	}
	for _, x := range ws {
		x.res.Outcome, x.res.Version = Written, byDay[registerDay{x.w.DepartmentID, x.w.RegisterID, x.w.Date}]
	}
	if len(ins.FieldIds) > 0 {
		if err := s.q.RegisterValuesInsertDays(ctx, tx, ins); err != nil {
			return fmt.Errorf("write register values: %w", err)
		}
	}
	dds := sortedDeptDays(writes)
	if err := s.rebuildDayValues(ctx, tx, client, dds); err != nil {
		return err
	}
	depts, dates := deptDayArrays(dds)
	counts := make([]int64, len(dds))
	for i, d := range dds {
		counts[i] = writes[d]
	}
	if err := s.q.DayStatusWrittenDays(ctx, tx, dbsqlc.DayStatusWrittenDaysParams{
		ClientID: client, DepartmentIds: depts, Dates: dates, Writes: counts,
	}); err != nil {
		return fmt.Errorf("update day status: %w", err)
	}
	return nil
}
