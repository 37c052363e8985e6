// Package api implements the BalanceService RPCs: it validates requests against the client's
// configuration (fields, departments, registers, time zones, read from the config service),
// names the field at fault in every refusal, writes nothing unless the whole request is valid,
// and assembles the weekly balance with its local clock hours.
package api

import (
	"context"
	"time"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/validate"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/balance/internal/configcache"
	"github.com/posimport/posimport/services/balance/internal/metrics"
	"github.com/posimport/posimport/services/balance/internal/store"
)

// maxRangeDays bounds the ranges of MarkDaysImported, ApproveDays and ReopenDays.
const maxRangeDays = 366

// Policy is the BalanceService role table: the import-worker writes imported days, people with
// access to the client read (the balance, corrections and the audit), supervisors approve and
// reopen days and apply and dismiss corrections.
var Policy = authn.Policy{
	posimportv1.BalanceService_WriteDay_FullMethodName:              {Services: importWorker},
	posimportv1.BalanceService_WriteDays_FullMethodName:             {Services: importWorker},
	posimportv1.BalanceService_MarkDaysImported_FullMethodName:      {Services: importWorker},
	posimportv1.BalanceService_WriteDaysBatch_FullMethodName:        {Services: importWorker},
	posimportv1.BalanceService_MarkDaysImportedBatch_FullMethodName: {Services: importWorker},
	posimportv1.BalanceService_GetWeeklyBalance_FullMethodName:      {Roles: authn.Readers},
	posimportv1.BalanceService_GetDay_FullMethodName:                {Roles: authn.Readers},
	posimportv1.BalanceService_ApproveDays_FullMethodName:           {Roles: authn.Supervisors},
	posimportv1.BalanceService_ReopenDays_FullMethodName:            {Roles: authn.Supervisors},
	posimportv1.BalanceService_ListCorrections_FullMethodName:       {Roles: authn.Readers},
	posimportv1.BalanceService_ApplyCorrection_FullMethodName:       {Roles: authn.Supervisors},
	posimportv1.BalanceService_DismissCorrection_FullMethodName:     {Roles: authn.Supervisors},
	posimportv1.BalanceService_ListAuditRecords_FullMethodName:      {Roles: authn.Readers},
}

// importWorker is the one service that writes balances: the import-worker's jobs (WriteDay,
// WriteDays) and its import completion (MarkDaysImported).
var importWorker = []string{authn.ServiceImportWorker}

// Server implements posimportv1.BalanceServiceServer.
type Server struct {
	posimportv1.UnimplementedBalanceServiceServer
	store   *store.Store
	config  *configcache.Cache
	now     func() time.Time
	metrics *metrics.Metrics
	// intervals are the read path's days' local clock hours.
	intervals intervalCache
}

var _ posimportv1.BalanceServiceServer = (*Server)(nil)

// New returns the API over st, reading configuration through config, with now as the clock,
// recording what it does in m (nil: nowhere).
func New(st *store.Store, config *configcache.Cache, now func() time.Time, m *metrics.Metrics) *Server {
	return &Server{store: st, config: config, now: now, metrics: m}
}

// WriteDay implements posimportv1.BalanceServiceServer.
func (s *Server) WriteDay(ctx context.Context, req *posimportv1.WriteDayRequest) (*posimportv1.WriteDayResponse, error) {
	w, err := s.validateWrite(ctx, req)
	if err != nil {
		return nil, err
	}
	res, err := s.store.WriteDay(ctx, w)
	if err != nil {
		return nil, s.writeError(err)
	}
	s.metrics.Written(posimportv1.WriteOutcome(res.Outcome))
	return writeResponse(res), nil
}

// MarkDaysImported implements posimportv1.BalanceServiceServer.
func (s *Server) MarkDaysImported(ctx context.Context, req *posimportv1.MarkDaysImportedRequest) (*posimportv1.MarkDaysImportedResponse, error) {
	m, err := s.validateMark(ctx, req)
	if err != nil {
		return nil, err
	}
	res, err := s.store.MarkImportedBatch(ctx, req.GetClientId(), []store.Mark{m}, s.now())
	if err != nil {
		return nil, apiError(err)
	}
	return markResponse(res[0]), nil
}

// validateMark checks a MarkDaysImported request.
func (s *Server) validateMark(ctx context.Context, req *posimportv1.MarkDaysImportedRequest) (store.Mark, error) {
	if err := validate.ID("import_id", req.GetImportId()); err != nil {
		return store.Mark{}, err
	}
	if _, err := validate.TimeZone("time_zone", req.GetTimeZone()); err != nil {
		return store.Mark{}, err
	}
	r, err := s.dayRange(ctx, req.GetClientId(), req.GetDepartmentId(), req.GetFromDate(), req.GetUntilDate(), true)
	if err != nil {
		return store.Mark{}, err
	}
	if req.GetTimeZone() != r.dept.GetEffectiveTimeZone() {
		return store.Mark{}, apierr.Invalid("time_zone", "department %s's time zone is %q, not %q",
			r.dept.GetDepartmentId(), r.dept.GetEffectiveTimeZone(), req.GetTimeZone())
	}
	return store.Mark{DepartmentID: req.GetDepartmentId(), From: r.from, Until: r.until, ImportID: req.GetImportId(),
		TimeZone: req.GetTimeZone()}, nil
}

func markResponse(r store.MarkResult) *posimportv1.MarkDaysImportedResponse {
	return &posimportv1.MarkDaysImportedResponse{Days: int32(r.Marked), PartialDays: int32(r.Partial)}
}

// ApproveDays implements posimportv1.BalanceServiceServer.
func (s *Server) ApproveDays(ctx context.Context, req *posimportv1.ApproveDaysRequest) (*posimportv1.ApproveDaysResponse, error) {
	r, err := s.dayRange(ctx, req.GetClientId(), req.GetDepartmentId(), req.GetFromDate(), req.GetUntilDate(), true)
	if err != nil {
		return nil, err
	}
	p, _ := authn.FromContext(ctx)
	n, err := s.store.Approve(ctx, req.GetClientId(), req.GetDepartmentId(), r.from, r.until, p.Subject, s.now())
	if err != nil {
		return nil, apiError(err)
	}
	s.metrics.Approved(metrics.ByPerson, n)
	return &posimportv1.ApproveDaysResponse{Approved: int32(n)}, nil
}

// ReopenDays implements posimportv1.BalanceServiceServer.
func (s *Server) ReopenDays(ctx context.Context, req *posimportv1.ReopenDaysRequest) (*posimportv1.ReopenDaysResponse, error) {
	r, err := s.dayRange(ctx, req.GetClientId(), req.GetDepartmentId(), req.GetFromDate(), req.GetUntilDate(), false)
	if err != nil {
		return nil, err
	}
	n, err := s.store.Reopen(ctx, req.GetClientId(), req.GetDepartmentId(), r.from, r.until)
	if err != nil {
		return nil, apiError(err)
	}
	s.metrics.Reopened(n)
	return &posimportv1.ReopenDaysResponse{Reopened: int32(n)}, nil
}

// GetWeeklyBalance implements posimportv1.BalanceServiceServer.
func (s *Server) GetWeeklyBalance(ctx context.Context, req *posimportv1.GetWeeklyBalanceRequest) (*posimportv1.GetWeeklyBalanceResponse, error) {
	if err := validate.ID("department_id", req.GetDepartmentId()); err != nil {
		return nil, err
	}
	week, err := validate.Week("week", req.GetWeek())
	if err != nil {
		return nil, err
	}
	cl, dept, err := s.config.Department(ctx, req.GetClientId(), req.GetDepartmentId())
	if err != nil {
		return nil, err
	}
	dates := week.Days()
	start := time.Now()
	rows, fresh, err := s.store.Balance(ctx, req.GetClientId(), req.GetDepartmentId(), dates[0], dates[len(dates)-1])
	if err != nil {
		return nil, apiError(err)
	}
	s.metrics.Read(metrics.ReadWeek, start)
	days, totals := buildDays(cl, dept, dates, rows, &s.intervals)
	return &posimportv1.GetWeeklyBalanceResponse{Balance: &posimportv1.WeeklyBalance{
		ClientId:     req.GetClientId(),
		DepartmentId: req.GetDepartmentId(),
		Week:         week.String(),
		TimeZone:     dept.GetEffectiveTimeZone(),
		Days:         days,
		Totals:       totals,
		Freshness:    freshness(fresh),
	}}, nil
}

// GetDay implements posimportv1.BalanceServiceServer.
func (s *Server) GetDay(ctx context.Context, req *posimportv1.GetDayRequest) (*posimportv1.GetDayResponse, error) {
	if err := validate.ID("department_id", req.GetDepartmentId()); err != nil {
		return nil, err
	}
	date, err := validate.Date("date", req.GetDate())
	if err != nil {
		return nil, err
	}
	cl, dept, err := s.config.Department(ctx, req.GetClientId(), req.GetDepartmentId())
	if err != nil {
		return nil, err
	}
	start := time.Now()
	d, err := s.store.Day(ctx, req.GetClientId(), req.GetDepartmentId(), date)
	if err != nil {
		return nil, apiError(err)
	}
	s.metrics.Read(metrics.ReadDay, start)
	days, _ := buildDays(cl, dept, []civil.Date{date}, d.Rows, &s.intervals)
	return &posimportv1.GetDayResponse{
		Day:       days[0],
		Registers: buildRegisters(cl, d),
		TimeZone:  dept.GetEffectiveTimeZone(),
		Freshness: freshness(d.Freshness),
	}, nil
}

// dateRange is a validated range of a department's days.
type dateRange struct {
	dept        *configcache.Department
	from, until civil.Date
}

// dayRange validates a department and a range of its days; notFuture refuses days after
// today in the department's time zone.
func (s *Server) dayRange(ctx context.Context, client, department, from, until string, notFuture bool) (dateRange, error) {
	if err := validate.ID("department_id", department); err != nil {
		return dateRange{}, err
	}
	f, u, err := validate.DateRange("from_date", from, "until_date", until)
	if err != nil {
		return dateRange{}, err
	}
	if n := u.DaysSince(f) + 1; n > maxRangeDays {
		return dateRange{}, apierr.Invalid("until_date", "the range has %d days; at most %d", n, maxRangeDays)
	}
	_, dept, err := s.config.Department(ctx, client, department)
	if err != nil {
		return dateRange{}, err
	}
	if today := civil.Today(s.now(), dept.Location); notFuture && u.After(today) {
		return dateRange{}, apierr.Invalid("until_date", "%s is after today (%s in %s)", u, today, dept.GetEffectiveTimeZone())
	}
	return dateRange{dept: dept, from: f, until: u}, nil
}
