package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/posimport/posimport/pkg/aggregate"
	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/pos"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/internal/provider"
	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// Result is what a job attempt did.
type Result struct {
	Counters store.Counters
	// Days is the number of register-days of the job.
	Days int
	// Cancelled: the import was cancelled and the job stopped between days.
	Cancelled bool
	// FetchTime and WriteTime are how long reading the POS and writing the balance took.
	FetchTime, WriteTime time.Duration
	// CorrectionsPending counts the days the balance kept as pending corrections (approved).
	CorrectionsPending int
	// Failure, in a location group, is this job's own permanent failure (its department
	// unmapped, a malformed sale of its register) while the group's other jobs went on; "" when
	// it has none. A job run alone returns its failure as a *PermanentError instead.
	Failure string
	// Members are the results of the lead's group members, in store.Lease.Members order.
	Members []Result
}

// Skipped reports whether every day of the job was left alone as approved.
func (r Result) Skipped() bool {
	return r.Days > 0 && int(r.Counters.DaysSkippedApproved) == r.Days
}

// rpcTimeout bounds each call to another posimport service.
const rpcTimeout = 30 * time.Second

// unit is one job of an attempt: the leased job, or one job of the lead's location group.
type unit struct {
	lease store.Lease
	// byRegister: the stream is the whole location's (a group), so the unit picks its
	// register's sales; a job run alone gets only its own from the POS.
	byRegister bool
	loc        *time.Location
	series     *aggregate.Series
	// wc is what the unit's writes carry besides values.
	wc store.WriteContext
	// days are the series' days once the reads are done.
	days []aggregate.Day
	res  Result
}

func (u *unit) alive() bool { return u.res.Failure == "" }

// wants reports whether a sale of register at t belongs to the unit.
func (u *unit) wants(register string, t time.Time) bool {
	from, until := u.series.Range()
	r := u.lease.Job.RegisterID
	return (!u.byRegister || r == "" || r == register) && !t.Before(from) && t.Before(until)
}

// execute runs one leased job: read the configuration, get a token, stream the sales of the
// register (or department) over the job's local dates, aggregate them into local hours and
// write every day, zeros included. A location group's lead runs all the group's jobs with one
// stream of the location's sales (the POS filters by location only): each job keeps its own
// attempt as the fencing token of its writes, and a failure of one job's own (its department
// unmapped, a malformed sale of its register) fails that job alone, in its Result.Failure;
// what concerns the stream (a token, the POS, a lost lease) is the group's error.
func (w *Worker) execute(ctx context.Context, l store.Lease) (Result, error) {
	j := l.Job
	units := make([]*unit, 0, 1+len(l.Members))
	units = append(units, &unit{lease: l, wc: l.WriteFor(l.Job.ID)})
	for _, m := range l.Members {
		units = append(units, &unit{lease: store.Lease{Outcome: l.Outcome, Job: m, Attempt: m.Attempt, Overwrite: l.Overwrite, Partial: l.Partial, Cancelled: l.Cancelled},
			wc: l.WriteFor(m.ID)})
	}
	grouped := len(units) > 1
	for _, u := range units {
		u.byRegister = grouped
	}
	// partial returns the units' results so far, gathered into the lead's, with err.
	partial := func(err error) (Result, error) {
		res := units[0].res
		for _, u := range units[1:] {
			res.Members = append(res.Members, u.res)
		}
		return res, err
	}
	// result is partial without an error of the group; a lone job's own failure is its error.
	result := func() (Result, error) {
		res, _ := partial(nil)
		if !grouped && res.Failure != "" {
			reason := res.Failure
			res.Failure = ""
			return res, Permanent("%s", reason)
		}
		return res, nil
	}
	if l.Cancelled {
		// Cancelled after it was queued: no POS request is worth making.
		for _, u := range units {
			u.res.Cancelled = true
		}
		return result()
	}
	cctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	cfg, err := w.d.Config.GetClientConfig(cctx, &posimportv1.GetClientConfigRequest{ClientId: j.ClientID})
	cancel()
	if err != nil {
		return Result{}, rpcError("read the client's configuration", err)
	}
	for _, u := range units {
		u.prepare(cfg.GetDepartments())
	}
	if !anyAlive(units) {
		return result()
	}

	tokens := provider.NewAuthTokens(w.d.Auth, j.ClientID, provider.TokenOptions{Margin: w.cfg.TokenMargin})
	acct, err := tokens.Account(ctx)
	if err != nil {
		return Result{}, tokenError(err)
	}
	prov, err := w.d.Providers.Get(acct.Provider)
	if err != nil {
		return Result{}, Permanent("the client's POS (%s) is not supported", acct.Provider)
	}
	if want := cfg.GetSettings().GetPosProvider(); want != acct.Provider {
		return Result{}, Permanent("the connection is to %s but the client is configured for %s: reconnect to switch provider", acct.Provider, want)
	}
	src, err := prov.New(acct, provider.Hooks{
		Limiter:    w.d.Budget.For(acct.Key()),
		OnResponse: func(status int) { w.d.Metrics.Request(acct.Key(), status) },
		Logger:     w.log,
	})
	if err != nil {
		return Result{}, Permanent("POS account: %v", err)
	}

	fetchStart := time.Now()
	seen := newSeenSales(src)
	err = w.readSales(ctx, prov, provider.FetchesByLocation(acct.Provider), src, units, grouped, seen)
	// The lead's counters carry the group's requests: the import's sum counts each once.
	units[0].res.Counters.RequestsMade = src.Stats().Requests
	if err != nil {
		return partial(err)
	}

	fields, unmapped := mapFields(cfg.GetFields(), src.DataTypes())
	if len(unmapped) > 0 {
		if err := w.d.Store.AddUnmappedTypes(ctx, j.ImportID, typeNumbers(unmapped)); err != nil {
			return partial(err)
		}
	}
	units[0].res.FetchTime = time.Since(fetchStart)
	writeStart := time.Now()
	err = w.writeUnits(ctx, units, grouped, fields, acct.Key(), seen)
	units[0].res.WriteTime = time.Since(writeStart)
	if err != nil {
		return partial(err)
	}
	return result()
}

// stream is one read of the POS and the units it serves.
type stream struct {
	q     pos.SalesQuery
	units []*unit
}

// streams splits the units still alive into the POS reads that serve them: one per location,
// except that a POS filtering by register across locations (Retail: every shop of the account,
// registerID IN) reads every unit with a register at once, whatever its shop.
func streams(units []*unit, byLocation bool) []*stream {
	var out []*stream
	index := map[string]*stream{}
	for _, u := range units {
		if !u.alive() {
			continue
		}
		key := "location:" + u.lease.Job.LocationID
		if !byLocation && u.lease.Job.RegisterID != "" {
			key = "registers"
		}
		st := index[key]
		if st == nil {
			st = &stream{}
			index[key] = st
			out = append(out, st)
		}
		st.units = append(st.units, u)
	}
	for _, st := range out {
		location := st.units[0].lease.Job.LocationID
		for _, u := range st.units[1:] {
			if u.lease.Job.LocationID != location {
				location = "" // every shop: the registers narrow it
			}
		}
		st.q = salesQuery(location, st.units)
	}
	return out
}

// readSales reads the units' sales, stream after stream, into their series. In a group a
// malformed sale fails the units of its register alone, and the reads stop once no unit is
// left to serve; what concerns a read (the POS, the token) is the group's error.
func (w *Worker) readSales(ctx context.Context, prov provider.Provider, byLocation bool, src pos.Source, units []*unit, grouped bool, seen *seenSales) error {
	for _, st := range streams(units, byLocation) {
		if !anyAlive(units) {
			return nil
		}
		q := st.q
		if grouped {
			q.OnSaleError = func(se *pos.SaleError) error {
				for _, u := range st.units {
					if u.alive() && u.wants(se.RegisterID, se.CompletedAt) {
						u.res.Failure = w.sourceError(prov, se).Error()
					}
				}
				if !anyAlive(st.units) {
					return se
				}
				return nil
			}
		}
		err := src.Sales(ctx, q, func(f pos.SaleFigures) error {
			for _, u := range st.units {
				if u.alive() && u.wants(f.RegisterID, f.CompletedAt) {
					u.res.Counters.SalesCounted++
					seen.add(u, f)
					if err := u.series.Add(f); err != nil {
						return err
					}
				}
			}
			return nil
		})
		var se *pos.SaleError
		if grouped && errors.As(err, &se) && !anyAlive(st.units) {
			continue // every job of this read failed on its own malformed sales
		}
		if err != nil {
			return w.sourceError(prov, err)
		}
	}
	return nil
}

// writeUnits writes the days of the units still alive and records what they saw. A group's
// units go to the balance together (writeGroup); a lone job, or a group whose batch the
// balance refused as a whole for one unit's sake, writes unit by unit, so that one unit's
// permanent failure is its own. Where sales were counted is recorded for the units written
// only (a unit that failed or was cancelled before its write counted nothing): a group's with
// one statement, with its first unit, and unit by unit when they were written so.
func (w *Worker) writeUnits(ctx context.Context, units []*unit, grouped bool, fields []field, account string, seen *seenSales) error {
	for _, u := range units {
		if u.alive() {
			u.days = u.series.Days()
			u.res.Days = len(u.days)
		}
	}
	alone := !grouped
	if grouped {
		err := w.writeGroup(ctx, units, fields)
		var perm *PermanentError
		switch {
		case errors.As(err, &perm) || errors.Is(err, errBatchUnavailable):
			alone = true // find the unit it concerns, or write without the batch call
			for _, u := range units {
				u.res.Counters = store.Counters{SalesCounted: u.res.Counters.SalesCounted, RequestsMade: u.res.Counters.RequestsMade}
				u.res.CorrectionsPending, u.res.Cancelled = 0, false
			}
		case err != nil:
			return err
		}
	}
	recorded := false
	for i, u := range units {
		if !u.alive() {
			continue
		}
		if alone {
			err := w.writeJob(ctx, u.lease, u.wc, u.loc, u.days, fields, &u.res)
			var perm *PermanentError
			switch {
			case grouped && errors.As(err, &perm):
				u.res.Failure = perm.Reason
				continue
			case err != nil:
				return err
			}
		}
		if u.res.Cancelled {
			// The import was cancelled: the jobs not written yet stop too.
			for _, rest := range units[i+1:] {
				rest.res.Cancelled = true
			}
			return nil
		}
		var days []store.SeenDay
		switch {
		case alone:
			days = seen.days(u)
		case !recorded:
			days = seen.days(batchWritten(units)...)
			recorded = true
		}
		if err := w.afterWrite(ctx, u.lease, account, days, u.res); err != nil {
			return err
		}
	}
	return nil
}

// batchWritten are the units a group's WriteDaysBatch wrote: those alive before the first a
// cancellation stopped (writeGroup).
func batchWritten(units []*unit) []*unit {
	var out []*unit
	for _, u := range units {
		if u.res.Cancelled {
			break
		}
		if u.alive() {
			out = append(out, u)
		}
	}
	return out
}

// prepare checks the unit's department and time zone and sets up its series; a problem is the
// unit's failure.
func (u *unit) prepare(deps []*posimportv1.Department) {
	j := u.lease.Job
	dep := findDepartment(deps, j.DepartmentID)
	switch {
	case dep == nil:
		u.res.Failure = fmt.Sprintf("department %s no longer exists in the POS configuration", j.DepartmentID)
		return
	case dep.GetPosClientNumber() == "":
		u.res.Failure = fmt.Sprintf("department %s is no longer mapped to a POS client number", j.DepartmentID)
		return
	}
	loc, err := time.LoadLocation(j.TimeZone)
	if err != nil {
		u.res.Failure = fmt.Sprintf("department %s: time zone %q unknown", j.DepartmentID, j.TimeZone)
		return
	}
	series, err := aggregate.New(loc, j.From, j.Until)
	if err != nil {
		u.res.Failure = fmt.Sprintf("job dates: %v", err)
		return
	}
	u.loc, u.series = loc, series
}

// salesQuery covers the units still alive: their location over the union of their ranges,
// narrowed to their registers unless one of them takes the whole location.
func salesQuery(location string, units []*unit) pos.SalesQuery {
	q := pos.SalesQuery{LocationID: location}
	var registers []string
	whole := false
	for _, u := range units {
		if !u.alive() {
			continue
		}
		from, until := u.series.Range()
		if q.From.IsZero() || from.Before(q.From) {
			q.From = from
		}
		if until.After(q.Until) {
			q.Until = until
		}
		r := u.lease.Job.RegisterID
		switch {
		case r == "":
			whole = true
		case !slices.Contains(registers, r):
			registers = append(registers, r)
		}
	}
	if !whole {
		q.RegisterIDs = registers
	}
	return q
}

func anyAlive(units []*unit) bool {
	return slices.ContainsFunc(units, (*unit).alive)
}

// writeJob writes the job's days to the balance WriteBatchDays at a time, each batch one
// WriteDays transaction, checking for a cancellation before each, and counts their outcomes
// in res.
func (w *Worker) writeJob(ctx context.Context, l store.Lease, wc store.WriteContext, loc *time.Location, days []aggregate.Day, fields []field, res *Result) error {
	j := l.Job
	for start := 0; start < len(days); start += w.cfg.WriteBatchDays {
		batch := days[start:min(start+w.cfg.WriteBatchDays, len(days))]
		cancelled, err := w.d.Store.Cancelled(ctx, j.ID, l.Attempt)
		if err != nil {
			return err
		}
		if cancelled {
			res.Cancelled = true
			return nil
		}
		outcomes, err := w.writeDays(ctx, l, loc, batch, fields, wc)
		if err != nil {
			return err
		}
		for _, outcome := range outcomes {
			res.tally(outcome)
		}
		if start+len(batch) == len(days) {
			return nil // the job's end records the final counters, a moment later
		}
		if err := w.d.Store.Progress(ctx, j.ID, l.Attempt, res.Counters); err != nil {
			return err
		}
	}
	return nil
}

// field is a weekly-balance field that receives a POS data type.
type field struct {
	id    int64
	dt    pos.DataType
	split bool
}

// mapFields pairs the client's fields with the data types the provider fills. A field whose
// type the provider does not fill (Visitors for Retail) is not written at all: unknown is not
// zero. Types the provider fills without a field are returned as unmapped.
func mapFields(defs []*posimportv1.BalanceField, provided []pos.DataType) (fields []field, unmapped []pos.DataType) {
	has := map[pos.DataType]bool{}
	for _, f := range defs {
		dt := pos.DataType(f.GetPosDataType())
		if !dt.Valid() {
			continue
		}
		has[dt] = true
		if slices.Contains(provided, dt) {
			fields = append(fields, field{id: f.GetFieldId(), dt: dt, split: f.GetSplitIntoIntervals()})
		}
	}
	for _, dt := range provided {
		if !has[dt] {
			unmapped = append(unmapped, dt)
		}
	}
	return fields, unmapped
}

// fieldValues renders one day for the balance: every local clock hour of a split field (zeros
// included) and the day's total.
func fieldValues(day aggregate.Day, fields []field) []*posimportv1.FieldValues {
	out := make([]*posimportv1.FieldValues, 0, len(fields))
	for _, f := range fields {
		fv := &posimportv1.FieldValues{FieldId: f.id}
		total := decimal.Zero
		for _, h := range day.Hours {
			v := h.Metrics.Get(f.dt)
			total = total.Add(v)
			if f.split {
				fv.Hours = append(fv.Hours, v.String())
			}
		}
		fv.Total = total.String()
		out = append(out, fv)
	}
	return out
}

// tally counts one day's write outcome.
func (r *Result) tally(outcome posimportv1.WriteOutcome) {
	switch outcome {
	case posimportv1.WriteOutcome_WRITE_OUTCOME_WRITTEN:
		r.Counters.DaysWritten++
	case posimportv1.WriteOutcome_WRITE_OUTCOME_UNCHANGED:
		r.Counters.DaysWritten++
		r.Counters.DaysUnchanged++
	case posimportv1.WriteOutcome_WRITE_OUTCOME_SKIPPED_APPROVED:
		r.Counters.DaysSkippedApproved++
	case posimportv1.WriteOutcome_WRITE_OUTCOME_CORRECTION_PENDING:
		r.CorrectionsPending++
	}
}

// writeDays writes consecutive days of the job in one WriteDays call and returns their
// outcomes.
func (w *Worker) writeDays(ctx context.Context, l store.Lease, loc *time.Location, days []aggregate.Day, fields []field, wc store.WriteContext) ([]posimportv1.WriteOutcome, error) {
	req, err := daysRequest(l, loc, days, fields, wc)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("write %s to %s to the balance", days[0].Date, days[len(days)-1].Date)
	cctx, cancel := context.WithTimeout(ctx, w.cfg.WriteTimeout)
	defer cancel()
	resp, err := w.d.Balance.WriteDays(cctx, req)
	if err != nil {
		return nil, writeError(what, err)
	}
	return outcomes(what, resp, len(days))
}

// outcomes returns the day outcomes of a WriteDays answer of n days.
func outcomes(what string, resp *posimportv1.WriteDaysResponse, n int) ([]posimportv1.WriteOutcome, error) {
	if len(resp.GetDays()) != n {
		return nil, fmt.Errorf("%s: %d outcomes for %d days", what, len(resp.GetDays()), n)
	}
	out := make([]posimportv1.WriteOutcome, n)
	for i, d := range resp.GetDays() {
		out[i] = d.GetOutcome()
	}
	return out, nil
}

// daysRequest is the WriteDays request of consecutive days of the job.
func daysRequest(l store.Lease, loc *time.Location, days []aggregate.Day, fields []field, wc store.WriteContext) (*posimportv1.WriteDaysRequest, error) {
	j := l.Job
	req := &posimportv1.WriteDaysRequest{
		ClientId: j.ClientID, DepartmentId: j.DepartmentID, RegisterId: j.RegisterID, TimeZone: j.TimeZone,
		ImportId: j.ImportID.String(), JobId: j.ID.String(), FencingToken: int64(l.Attempt), OverwriteApproved: l.Overwrite,
		Days: make([]*posimportv1.DayValues, len(days)), ImportCreatedBy: wc.CreatedBy,
	}
	for i, day := range days {
		if n := len(day.Date.Hours(loc)); n != len(day.Hours) {
			return nil, Permanent("%s in %s: %d clock hours aggregated, the balance expects %d", day.Date, loc, len(day.Hours), n)
		}
		req.Days[i] = &posimportv1.DayValues{Date: day.Date.String(), Fields: fieldValues(day, fields), Cause: dayCause(wc, day.Date),
			Partial: l.Partial}
	}
	return req, nil
}

// writeError classifies a refused write. Only the balance's stale-fence refusal (Aborted with
// the reason STALE_FENCING_TOKEN) means a newer attempt of the job wrote already and this one
// is a zombie; every other refusal, whatever its code, is the write's own failure.
func writeError(what string, err error) error {
	if status.Code(err) == codes.Aborted && apierr.ReasonOf(err) == apierr.ReasonStaleFencingToken {
		return store.ErrLeaseLost
	}
	return rpcError(what, err)
}

// rpcError classifies an error from another posimport service.
func rpcError(what string, err error) error {
	switch status.Code(err) {
	case codes.InvalidArgument, codes.NotFound, codes.PermissionDenied, codes.Unauthenticated:
		return Permanent("%s: %s", what, status.Convert(err).Message())
	case codes.Canceled:
		return fmt.Errorf("%s: %w", what, context.Canceled)
	}
	return fmt.Errorf("%s: %s", what, status.Code(err))
}

func tokenError(err error) error {
	switch {
	case errors.Is(err, provider.ErrNeedsReauth):
		return Permanent("client must re-authorize Lightspeed (%v)", err)
	case errors.Is(err, provider.ErrNotEnabled):
		return Permanent("%v", err)
	}
	return err
}

// sourceError classifies a POS error: unauthorized and malformed data are permanent, a long
// rate-limit wait is retried after it, everything else with backoff.
func (w *Worker) sourceError(p provider.Provider, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	if errors.Is(err, pos.ErrUnauthorized) || errors.Is(err, provider.ErrNeedsReauth) {
		return Permanent("client must re-authorize Lightspeed: the POS refused the access token")
	}
	if errors.Is(err, provider.ErrNotEnabled) {
		return Permanent("%v", err)
	}
	if reason, ok := p.Permanent(err); ok {
		return Permanent("%s", reason)
	}
	if d, ok := p.RetryAfter(err); ok {
		return &RetryAfterError{Wait: d, Err: err}
	}
	return fmt.Errorf("read sales: %w", err)
}

func findDepartment(deps []*posimportv1.Department, id string) *posimportv1.Department {
	for _, d := range deps {
		if d.GetDepartmentId() == id {
			return d
		}
	}
	return nil
}

// typeNumbers renders data types as posimport.v1.PosDataType numbers, which pos.DataType
// shares (1 = gross sales …).
func typeNumbers(types []pos.DataType) []int16 {
	out := make([]int16, len(types))
	for i, t := range types {
		out[i] = int16(t)
	}
	return out
}
