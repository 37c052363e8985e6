package changes

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/pos"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/internal/metrics"
	"github.com/posimport/posimport/services/import-worker/internal/plan"
	"github.com/posimport/posimport/services/import-worker/internal/provider"
	"github.com/posimport/posimport/services/import-worker/internal/ratebudget"
	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// Revisit is what a client's nightly import reads beyond each department's last PlainDays
// completed days.
type Revisit struct {
	// Days is how many completed days each department re-reads: PlainDays, or the lookback on
	// a POS without a change listing (or when the listing failed).
	Days int
	// RegisterDays are the register-days the change listing found, with their sales.
	RegisterDays map[RegisterDay]*Cause
	// Scan is the listing, stored with the import (its watermark counts once it is written).
	Scan *store.ChangeScan
	// After, when set, runs once the import is stored (it reports the registers seen).
	After func(ctx context.Context, importID uuid.UUID)
}

// Revisiter decides a client's Revisit: it lists the account's changes where the POS can.
type Revisiter struct {
	Scanner   Scanner
	Auth      posimportv1.AuthServiceClient
	Providers provider.Registry
	Budget    *ratebudget.Budget
	Metrics   *metrics.Metrics
	// LookbackDays is what a POS without a change listing re-reads (default
	// DefaultLookbackDays).
	LookbackDays int
	TokenMargin  time.Duration
	Logger       *slog.Logger
}

// rpcTimeout bounds the register report.
const rpcTimeout = 30 * time.Second

// Revisit returns what the client's nightly import at now re-reads. It never fails: when the
// account or its change listing cannot be read, the lookback is re-read instead, and the
// watermark stays where it was.
func (r *Revisiter) Revisit(ctx context.Context, client string, deps []plan.Department, now time.Time) Revisit {
	lookback := Revisit{Days: max(cmp.Or(r.LookbackDays, DefaultLookbackDays), PlainDays)}
	log := r.Logger.With("client_id", client)
	tokens := provider.NewAuthTokens(r.Auth, client, provider.TokenOptions{Margin: r.TokenMargin})
	acct, err := tokens.Account(ctx)
	if err != nil {
		log.WarnContext(ctx, "nightly import re-reads its lookback: the POS account is not readable", "error", err)
		return lookback
	}
	prov, err := r.Providers.Get(acct.Provider)
	if err != nil {
		return lookback
	}
	src, err := prov.New(acct, provider.Hooks{
		Limiter:    r.Budget.For(acct.Key()),
		OnResponse: func(status int) { r.Metrics.Request(acct.Key(), status) },
		Logger:     log,
	})
	if err != nil {
		return lookback
	}
	cs, ok := src.(pos.ChangeSource)
	if !ok {
		return lookback // Lightspeed Restaurant: see the README
	}
	cdeps, zones := departments(deps)
	zone := func(location string) *time.Location {
		if z, ok := zones[location]; ok {
			return z
		}
		zones[location] = time.UTC
		if locs, err := src.Locations(ctx); err == nil {
			for _, l := range locs {
				if z, err := time.LoadLocation(l.TimeZone); err == nil && l.ID == location {
					zones[location] = z
				}
			}
		}
		return zones[location]
	}
	found, ok, err := r.Scanner.Scan(ctx, cs, acct.Key(), client, cdeps, now, zone)
	if err != nil {
		log.WarnContext(ctx, "nightly import re-reads its lookback: the change listing failed", "error", err)
		return lookback
	}
	if !ok {
		return Revisit{Days: PlainDays}
	}
	log.InfoContext(ctx, "changed sales listed", "since", found.Scan.Since, "watermark", found.Scan.Watermark,
		"changes", found.Scan.Changes, "register_days", len(found.Days), "requests", found.Scan.Requests)
	return Revisit{Days: PlainDays, RegisterDays: found.Days, Scan: &found.Scan, After: func(ctx context.Context, id uuid.UUID) {
		r.report(ctx, log, client, acct.ID, id, found.Registers, zone)
	}}
}

// report tells the auth service the registers the listing saw (GetConnection, `posimport
// auth status` and a metric show those nobody mapped). A failure is logged: the next
// listing sees the register's later sales.
func (r *Revisiter) report(ctx context.Context, log *slog.Logger, client, account string, id uuid.UUID, regs []Register, zone func(string) *time.Location) {
	if len(regs) == 0 {
		return
	}
	req := &posimportv1.ReportRegistersRequest{ClientId: client, AccountId: account, ImportId: id.String()}
	for _, reg := range regs[:min(len(regs), 1000)] {
		s := &posimportv1.RegisterSighting{LocationId: reg.LocationID, RegisterId: reg.RegisterID, Mapped: reg.Mapped}
		dates := make([]civil.Date, 0, len(reg.Days))
		for d := range reg.Days {
			dates = append(dates, d)
		}
		slices.SortFunc(dates, func(a, b civil.Date) int { return cmp.Compare(a.String(), b.String()) })
		for _, d := range dates {
			ds := reg.Days[d]
			s.Days = append(s.Days, &posimportv1.RegisterDaySales{Date: d.String(), SalesCount: int64(ds.Sales), GrossSales: ds.Gross.String()})
		}
		req.Registers = append(req.Registers, s)
	}
	cctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	resp, err := r.Auth.ReportRegisters(cctx, req)
	if err != nil {
		log.WarnContext(ctx, "report registers", "error", err)
		return
	}
	for _, u := range (Found{Registers: regs}).Unmapped() {
		log.WarnContext(ctx, "register with sales belongs to no department", "location_id", u.LocationID, "register_id", u.RegisterID)
	}
	if n := len(resp.GetFirstSeen()); n > 0 {
		log.InfoContext(ctx, "registers seen for the first time", "registers", n)
	}
}

// departments converts planned departments, and returns each location's zone.
func departments(deps []plan.Department) ([]Department, map[string]*time.Location) {
	out := make([]Department, 0, len(deps))
	zones := map[string]*time.Location{}
	for _, d := range deps {
		z, err := time.LoadLocation(d.TimeZone)
		if err != nil {
			continue // the starter refused such a department already
		}
		out = append(out, Department{ID: d.ID, LocationID: d.LocationID, Registers: d.Registers, Zone: z})
		zones[d.LocationID] = z
	}
	return out, zones
}

// Extend adds to a nightly import's planned jobs the register-days found beyond them: a day a
// job covers already gets its cause there; the others become jobs of consecutive days (at
// most maxDays each). It returns all jobs and the causes, by job index.
func Extend(jobs []plan.Job, deps []plan.Department, days map[RegisterDay]*Cause, maxDays int, newID func() uuid.UUID) ([]plan.Job, []store.DayCause) {
	if maxDays <= 0 {
		maxDays = plan.MaxDays
	}
	byID := map[string]plan.Department{}
	for _, d := range deps {
		byID[d.ID] = d
	}
	keys := make([]RegisterDay, 0, len(days))
	for k := range days {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b RegisterDay) int {
		return cmp.Or(cmp.Compare(a.DepartmentID, b.DepartmentID), cmp.Compare(a.RegisterID, b.RegisterID), cmp.Compare(a.Date.String(), b.Date.String()))
	})
	var causes []store.DayCause
	cause := func(i int, k RegisterDay) {
		c := days[k]
		causes = append(causes, store.DayCause{JobIndex: i, Date: k.Date, Reason: Reason, SaleIDs: c.SaleIDs, SaleCount: c.Count})
	}
	planned := len(jobs)
	for _, k := range keys {
		d, ok := byID[k.DepartmentID]
		if !ok {
			continue
		}
		i := slices.IndexFunc(jobs, func(j plan.Job) bool {
			return j.DepartmentID == k.DepartmentID && j.RegisterID == k.RegisterID && !k.Date.Before(j.From) && !k.Date.After(j.Until)
		})
		if i < 0 {
			// Keys are sorted: extend the last new job when the day follows it.
			if last := len(jobs) - 1; last >= planned && jobs[last].DepartmentID == k.DepartmentID && jobs[last].RegisterID == k.RegisterID &&
				jobs[last].Until.AddDays(1) == k.Date && jobs[last].Until.DaysSince(jobs[last].From)+1 < maxDays {
				jobs[last].Until = k.Date
			} else {
				jobs = append(jobs, plan.Job{ID: newID(), DepartmentID: k.DepartmentID, RegisterID: k.RegisterID,
					LocationID: d.LocationID, TimeZone: d.TimeZone, From: k.Date, Until: k.Date})
			}
			i = len(jobs) - 1
		}
		cause(i, k)
	}
	return jobs, causes
}
