package store

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/services/import-worker/internal/store/internal/dbsqlc"
)

// SaleSeen is where an import counted a sale: its shop, register and completion time.
type SaleSeen struct {
	SaleID, LocationID, RegisterID string
	CompletedAt                    time.Time
}

// SeenDay is a register-day a job read completely and the sales it counted there. RegisterID
// "" is every register of the location (a department without registers); a sale's own shop
// and register name its row.
type SeenDay struct {
	LocationID, RegisterID string
	// Date is the local date of the job that read the day (its department's zone).
	Date  civil.Date
	Sales []SaleSeen
}

// salesSeenBatch bounds one statement's sales; a register-day is never split.
const salesSeenBatch = 5000

// RecordSalesSeen records the register-days an account's job read and where it counted their
// sales: each day's set replaces what an earlier read recorded, a day read without sales
// forgets its sales, and a sale recorded elsewhere before now answers from here (SalesSeen:
// the latest record wins). One statement for up to salesSeenBatch sales.
func (s *Store) RecordSalesSeen(ctx context.Context, account string, days []SeenDay) error {
	type dayKey struct {
		location, register string
		date               civil.Date
	}
	// A day read twice (two departments share its register) is one day: a batch never
	// replaces what an earlier batch of the same call recorded.
	var merged []SeenDay
	at := map[dayKey]int{}
	for _, d := range days {
		k := dayKey{d.LocationID, d.RegisterID, d.Date}
		if i, ok := at[k]; ok {
			merged[i].Sales = append(slices.Clip(merged[i].Sales), d.Sales...)
			continue
		}
		at[k] = len(merged)
		merged = append(merged, d)
	}
	var (
		p dbsqlc.SalesSeenRecordParams
		// rows are the batch's sales by the row they go to (their own shop and register, the
		// read day's date), each sale once: the later report of a sale listed twice.
		rows  = map[dayKey]map[string]time.Time{}
		sales int
	)
	flush := func() error {
		if len(p.ReadDates) == 0 {
			return nil
		}
		keys := slices.SortedFunc(maps.Keys(rows), func(a, b dayKey) int {
			return cmp.Or(cmp.Compare(a.location, b.location), cmp.Compare(a.register, b.register), a.date.DaysSince(b.date))
		})
		for _, k := range keys {
			ids := slices.Sorted(maps.Keys(rows[k]))
			p.LocationIds, p.RegisterIds, p.Dates = append(p.LocationIds, k.location), append(p.RegisterIds, k.register), append(p.Dates, date(k.date))
			p.Firsts = append(p.Firsts, int32(len(p.SaleIds)+1))
			for _, id := range ids {
				p.SaleIds, p.CompletedAts = append(p.SaleIds, id), append(p.CompletedAts, timestamp(rows[k][id]))
			}
			p.Lasts = append(p.Lasts, int32(len(p.SaleIds)))
		}
		p.AccountKey = account
		if err := s.q.SalesSeenRecord(ctx, s.pool, p); err != nil {
			return fmt.Errorf("record sales seen: %w", err)
		}
		p, rows, sales = dbsqlc.SalesSeenRecordParams{}, map[dayKey]map[string]time.Time{}, 0
		return nil
	}
	for _, d := range merged {
		if sales > 0 && sales+len(d.Sales) > salesSeenBatch {
			if err := flush(); err != nil {
				return err
			}
		}
		p.ReadLocationIds = append(p.ReadLocationIds, d.LocationID)
		p.ReadRegisterIds = append(p.ReadRegisterIds, d.RegisterID)
		p.ReadDates = append(p.ReadDates, date(d.Date))
		for _, v := range d.Sales {
			k := dayKey{v.LocationID, v.RegisterID, d.Date}
			if rows[k] == nil {
				rows[k] = map[string]time.Time{}
			}
			rows[k][v.SaleID] = v.CompletedAt
			sales++
		}
	}
	return flush()
}

// SalesSeen returns where the given sales of an account were last counted, by sale id.
func (s *Store) SalesSeen(ctx context.Context, account string, ids []string) (map[string]SaleSeen, error) {
	out := make(map[string]SaleSeen, len(ids))
	for start := 0; start < len(ids); start += salesSeenBatch {
		rows, err := s.q.SalesSeenGet(ctx, s.pool, dbsqlc.SalesSeenGetParams{AccountKey: account, SaleIds: ids[start:min(start+salesSeenBatch, len(ids))]})
		if err != nil {
			return nil, fmt.Errorf("read sales seen: %w", err)
		}
		for _, r := range rows {
			out[r.SaleID] = SaleSeen{SaleID: r.SaleID, LocationID: r.LocationID, RegisterID: r.RegisterID, CompletedAt: instant(r.CompletedAt)}
		}
	}
	return out, nil
}

// ChangeWatermark returns the account's change watermark: the greatest one reached by a
// change listing whose import's jobs all ended DONE or SKIPPED; zero when none did.
func (s *Store) ChangeWatermark(ctx context.Context, account string) (time.Time, error) {
	ts, err := s.q.ChangeWatermark(ctx, s.pool, account)
	if err != nil {
		return time.Time{}, fmt.Errorf("read change watermark: %w", err)
	}
	return finite(ts), nil
}

// ClientFirstImport returns when the client's first import was created; zero before any.
func (s *Store) ClientFirstImport(ctx context.Context, client string) (time.Time, error) {
	ts, err := s.q.ClientFirstImport(ctx, s.pool, client)
	if err != nil {
		return time.Time{}, fmt.Errorf("read first import: %w", err)
	}
	return finite(ts), nil
}

func finite(ts pgtype.Timestamptz) time.Time {
	if !ts.Valid || ts.InfinityModifier != pgtype.Finite {
		return time.Time{}
	}
	return ts.Time
}

// ChangeScan is a change listing recorded with the import that re-reads its days.
type ChangeScan struct {
	AccountKey       string
	Since, Watermark time.Time
	Changes          int
	Requests         int
}

// DayCause says why a job writes one day: the sales behind it.
type DayCause struct {
	// JobIndex is the job's index in NewImport.Jobs.
	JobIndex  int
	Date      civil.Date
	Reason    string
	SaleIDs   []string
	SaleCount int
}

func (s *Store) insertChanges(ctx context.Context, tx pgx.Tx, ni NewImport) error {
	if ni.ChangeScan != nil {
		c := ni.ChangeScan
		if err := s.q.ChangeScanInsert(ctx, tx, dbsqlc.ChangeScanInsertParams{
			ImportID: ni.Import.ID, AccountKey: c.AccountKey, Since: timestamp(c.Since), Watermark: timestamp(c.Watermark),
			Changes: int32(c.Changes), Requests: int32(c.Requests),
		}); err != nil {
			return fmt.Errorf("record change scan: %w", err)
		}
	}
	for _, c := range ni.DayCauses {
		if c.JobIndex < 0 || c.JobIndex >= len(ni.Jobs) {
			return fmt.Errorf("day cause of job %d: the import has %d jobs", c.JobIndex, len(ni.Jobs))
		}
		if err := s.q.JobDayCauseInsert(ctx, tx, dbsqlc.JobDayCauseInsertParams{
			JobID: ni.Jobs[c.JobIndex].ID, Day: date(c.Date), Reason: c.Reason, SaleIds: c.SaleIDs, SaleCount: int32(c.SaleCount),
		}); err != nil {
			return fmt.Errorf("record day cause: %w", err)
		}
	}
	return nil
}

// WriteContext is what a job's writes carry besides values.
type WriteContext struct {
	// CreatedBy started the job's import; Trigger is its posimport.v1.ImportTrigger.
	CreatedBy string
	Trigger   int16
	// Causes are the job's days with a cause of their own.
	Causes map[civil.Date]DayCause
}

// jobsDayCauses reads the day causes of jobs, by job.
func (s *Store) jobsDayCauses(ctx context.Context, db dbsqlc.DBTX, jobs []uuid.UUID) (map[uuid.UUID]map[civil.Date]DayCause, error) {
	rows, err := s.q.JobsDayCauses(ctx, db, jobs)
	if err != nil {
		return nil, fmt.Errorf("read jobs' day causes: %w", err)
	}
	var out map[uuid.UUID]map[civil.Date]DayCause
	for _, c := range rows {
		if out == nil {
			out = map[uuid.UUID]map[civil.Date]DayCause{}
		}
		if out[c.JobID] == nil {
			out[c.JobID] = map[civil.Date]DayCause{}
		}
		d := civilDate(c.Day)
		out[c.JobID][d] = DayCause{Date: d, Reason: c.Reason, SaleIDs: c.SaleIds, SaleCount: int(c.SaleCount)}
	}
	return out, nil
}

// JobCorrectionsPending records how many register-days of the job's attempt the balance kept
// as pending corrections.
func (s *Store) JobCorrectionsPending(ctx context.Context, job uuid.UUID, attempt int32, days int) error {
	if err := s.q.JobCorrectionsPending(ctx, s.pool, dbsqlc.JobCorrectionsPendingParams{Days: int32(days), JobID: job, Attempt: attempt}); err != nil {
		return fmt.Errorf("record pending corrections: %w", err)
	}
	return nil
}

// ImportCorrectionsPending returns how many register-days of the import got pending
// corrections.
func (s *Store) ImportCorrectionsPending(ctx context.Context, id uuid.UUID) (int64, error) {
	n, err := s.q.ImportCorrectionsPending(ctx, s.pool, id)
	if err != nil {
		return 0, fmt.Errorf("count pending corrections: %w", err)
	}
	return n, nil
}
