// Package api implements the ImportService RPCs: it validates requests (naming the field at
// fault), starts imports through the starter, and renders imports with their progress from
// the jobs table, which is the one place progress is kept.
package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/validate"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/internal/starter"
	"github.com/posimport/posimport/services/import-worker/internal/store"
)

// Policy is the ImportService role table: a supervisor or regional supervisor of the client
// starts and cancels imports; every role with access to the client follows them (an import's
// progress is the client's data, which viewers read). No service calls it.
var Policy = authn.Policy{
	posimportv1.ImportService_StartImport_FullMethodName:  {Roles: authn.Supervisors},
	posimportv1.ImportService_GetImport_FullMethodName:    {Roles: authn.Readers},
	posimportv1.ImportService_ListImports_FullMethodName:  {Roles: authn.Readers},
	posimportv1.ImportService_CancelImport_FullMethodName: {Roles: authn.Supervisors},
	posimportv1.ImportService_WatchImport_FullMethodName:  {Roles: authn.Readers},
}

// maxErrors is how many of an import's errors are shown.
const maxErrors = 100

// Server implements posimportv1.ImportServiceServer.
type Server struct {
	posimportv1.UnimplementedImportServiceServer
	store   *store.Store
	starter *starter.Starter
	// WatchInterval is how often WatchImport polls for changes.
	WatchInterval time.Duration
}

var _ posimportv1.ImportServiceServer = (*Server)(nil)

// New returns the API.
func New(st *store.Store, s *starter.Starter) *Server {
	return &Server{store: st, starter: s, WatchInterval: 400 * time.Millisecond}
}

// StartImport implements posimportv1.ImportServiceServer.
func (s *Server) StartImport(ctx context.Context, req *posimportv1.StartImportRequest) (*posimportv1.StartImportResponse, error) {
	if err := validate.ID("client_id", req.GetClientId()); err != nil {
		return nil, err
	}
	deps := req.GetDepartmentIds()
	if len(deps) == 0 {
		return nil, apierr.Invalid("department_ids", "at least one department is required")
	}
	for i, d := range deps {
		field := fmt.Sprintf("department_ids[%d]", i)
		if err := validate.ID(field, d); err != nil {
			return nil, err
		}
		if slices.Contains(deps[:i], d) {
			return nil, apierr.Invalid(field, "department %q is listed twice", d)
		}
	}
	from, until, err := validate.DateRange("from_date", req.GetFromDate(), "until_date", req.GetUntilDate())
	if err != nil {
		return nil, err
	}
	if limit := addYears(from, starter.MaxYears).AddDays(-1); until.After(limit) {
		return nil, apierr.Invalid("until_date", "the range may span at most %d years (until %s)", starter.MaxYears, limit)
	}
	p, _ := authn.FromContext(ctx)
	id, err := s.starter.Start(ctx, starter.Request{
		ClientID: req.GetClientId(), DepartmentIDs: deps, From: from, Until: until,
		Overwrite: req.GetOverwriteApproved(), Trigger: posimportv1.ImportTrigger_IMPORT_TRIGGER_MANUAL, CreatedBy: p.Subject,
	})
	if err != nil {
		return nil, err
	}
	imp, err := s.load(ctx, req.GetClientId(), id)
	if err != nil {
		return nil, err
	}
	return &posimportv1.StartImportResponse{Import: imp}, nil
}

func addYears(d civil.Date, n int) civil.Date {
	return civil.DateOf(time.Date(d.Year+n, d.Month, d.Day, 0, 0, 0, 0, time.UTC))
}

// GetImport implements posimportv1.ImportServiceServer.
func (s *Server) GetImport(ctx context.Context, req *posimportv1.GetImportRequest) (*posimportv1.GetImportResponse, error) {
	id, err := importID(req.GetImportId())
	if err != nil {
		return nil, err
	}
	imp, err := s.load(ctx, req.GetClientId(), id)
	if err != nil {
		return nil, err
	}
	return &posimportv1.GetImportResponse{Import: imp}, nil
}

// ListImports implements posimportv1.ImportServiceServer.
func (s *Server) ListImports(ctx context.Context, req *posimportv1.ListImportsRequest) (*posimportv1.ListImportsResponse, error) {
	size := req.GetPageSize()
	switch {
	case size < 0 || size > 500:
		return nil, apierr.Invalid("page_size", "must be between 0 and 500")
	case size == 0:
		size = 50
	}
	var after uuid.UUID
	if tok := req.GetPageToken(); tok != "" {
		id, err := uuid.Parse(tok)
		if err != nil || id == uuid.Nil {
			return nil, apierr.Invalid("page_token", "not a token this service issued")
		}
		after = id
	}
	rows, err := s.store.ListImports(ctx, req.GetClientId(), after, int(size)+1)
	if err != nil {
		return nil, err
	}
	resp := &posimportv1.ListImportsResponse{}
	if len(rows) > int(size) {
		rows = rows[:size]
		resp.NextPageToken = rows[len(rows)-1].ID.String()
	}
	for _, r := range rows {
		imp, err := s.render(ctx, r)
		if err != nil {
			return nil, err
		}
		resp.Imports = append(resp.Imports, imp)
	}
	return resp, nil
}

// CancelImport implements posimportv1.ImportServiceServer.
func (s *Server) CancelImport(ctx context.Context, req *posimportv1.CancelImportRequest) (*posimportv1.CancelImportResponse, error) {
	id, err := importID(req.GetImportId())
	if err != nil {
		return nil, err
	}
	next, err := s.store.Cancel(ctx, req.GetClientId(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apierr.NotFound("import %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	s.starter.Publish(ctx, next) // the client's jobs its cancelled ones made room for
	imp, err := s.load(ctx, req.GetClientId(), id)
	if err != nil {
		return nil, err
	}
	return &posimportv1.CancelImportResponse{Import: imp}, nil
}

// WatchImport implements posimportv1.ImportServiceServer: it sends the import at once and on
// every change, until the import ends or the caller goes away.
func (s *Server) WatchImport(req *posimportv1.WatchImportRequest, stream posimportv1.ImportService_WatchImportServer) error {
	ctx := stream.Context()
	id, err := importID(req.GetImportId())
	if err != nil {
		return err
	}
	var last *posimportv1.Import
	t := time.NewTicker(s.WatchInterval)
	defer t.Stop()
	for {
		imp, err := s.load(ctx, req.GetClientId(), id)
		if err != nil {
			return err
		}
		if !proto.Equal(imp, last) {
			if err := stream.Send(&posimportv1.WatchImportResponse{Import: imp}); err != nil {
				return err
			}
			last = imp
		}
		if ended(imp.GetState()) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func ended(s posimportv1.ImportState) bool {
	switch s {
	case posimportv1.ImportState_IMPORT_STATE_SUCCEEDED, posimportv1.ImportState_IMPORT_STATE_FAILED,
		posimportv1.ImportState_IMPORT_STATE_CANCELLED:
		return true
	}
	return false
}

func importID(s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.Nil, apierr.Invalid("import_id", "required")
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, apierr.Invalid("import_id", "%q is not an import id", s)
	}
	return id, nil
}

// load reads one import of the client with its progress; NotFound for another client's.
func (s *Server) load(ctx context.Context, client string, id uuid.UUID) (*posimportv1.Import, error) {
	row, err := s.store.GetImport(ctx, client, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apierr.NotFound("import %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	return s.render(ctx, row)
}

// render builds an import's message from its row, its jobs' summary and its errors.
func (s *Server) render(ctx context.Context, row store.Import) (*posimportv1.Import, error) {
	summary, err := s.store.JobSummaries(ctx, row.ID)
	if err != nil {
		return nil, err
	}
	errs, err := s.store.ImportErrors(ctx, row.ID, maxErrors)
	if err != nil {
		return nil, err
	}
	marked, err := s.store.MarkedDepartments(ctx, row.ID)
	if err != nil {
		return nil, err
	}
	imp := &posimportv1.Import{
		ImportId: row.ID.String(), ClientId: row.ClientID, DepartmentIds: row.DepartmentIDs,
		FromDate: row.From.String(), UntilDate: row.Until.String(),
		OverwriteApproved: row.Overwrite, Trigger: posimportv1.ImportTrigger(row.Trigger), CreatedBy: row.CreatedBy,
		CreateTime: ts(row.CreateTime), FinishTime: ts(row.FinishTime), CancelTime: ts(row.CancelTime),
		Progress: progress(row, summary, marked),
	}
	imp.State = state(imp.GetProgress(), !row.CancelTime.IsZero(), !row.FinishTime.IsZero())
	for _, e := range errs {
		imp.Errors = append(imp.Errors, &posimportv1.ImportError{
			DepartmentId: e.DepartmentID, RegisterId: e.RegisterID, FromDate: e.From.String(),
			UntilDate: e.Until.String(), Message: e.Message, Time: ts(e.Time),
			JobId: e.JobID.String(), Permanent: e.Permanent,
		})
	}
	return imp, nil
}

func progress(row store.Import, summary []store.JobSummary, marked []string) *posimportv1.ImportProgress {
	p := &posimportv1.ImportProgress{}
	for _, t := range row.UnmappedTypes {
		p.UnmappedTypes = append(p.UnmappedTypes, posimportv1.PosDataType(t))
	}
	deps := map[string]*posimportv1.DepartmentProgress{}
	for _, id := range row.DepartmentIDs {
		deps[id] = &posimportv1.DepartmentProgress{DepartmentId: id, MarkedImported: slices.Contains(marked, id)}
		p.Departments = append(p.Departments, deps[id])
	}
	for _, r := range summary {
		p.JobsPlanned += r.Jobs
		switch r.State {
		case store.StatePending:
			p.JobsPending += r.Jobs
		case store.StateRunning:
			p.JobsRunning += r.Jobs
		case store.StateDone:
			p.JobsDone += r.Jobs
		case store.StateSkipped:
			p.JobsSkipped += r.Jobs
		case store.StateFailed:
			p.JobsFailed += r.Jobs
		case store.StateCancelled:
			p.JobsCancelled += r.Jobs
		}
		p.DaysWritten += r.DaysWritten
		p.DaysUnchanged += r.DaysUnchanged
		p.DaysSkippedApproved += r.DaysSkippedApproved
		p.DaysCorrectionPending += r.DaysCorrectionPending
		p.SalesCounted += r.SalesCounted
		p.RequestsMade += r.RequestsMade
		d, ok := deps[r.DepartmentID]
		if !ok {
			continue
		}
		d.JobsTotal += r.Jobs
		if r.State != store.StatePending && r.State != store.StateRunning {
			d.JobsEnded += r.Jobs
		}
		if r.State == store.StateFailed {
			d.JobsFailed += r.Jobs
		}
		from, until := r.From.String(), r.Until.String()
		if d.FromDate == "" || from < d.FromDate {
			d.FromDate = from
		}
		if until > d.UntilDate {
			d.UntilDate = until
		}
	}
	return p
}

// state derives an import's state from its jobs. An import whose jobs all ended is still
// RUNNING until its finish time is set, which happens after its departments were marked
// imported: an ended import has done all its work.
func state(p *posimportv1.ImportProgress, cancelled, finished bool) posimportv1.ImportState {
	open := p.GetJobsPending() + p.GetJobsRunning()
	switch {
	case open == 0 && !finished:
		return posimportv1.ImportState_IMPORT_STATE_RUNNING
	case open > 0 && p.GetJobsPending() == p.GetJobsPlanned():
		return posimportv1.ImportState_IMPORT_STATE_QUEUED
	case open > 0:
		return posimportv1.ImportState_IMPORT_STATE_RUNNING
	case p.GetJobsFailed() > 0:
		return posimportv1.ImportState_IMPORT_STATE_FAILED
	case cancelled || p.GetJobsCancelled() > 0:
		return posimportv1.ImportState_IMPORT_STATE_CANCELLED
	}
	return posimportv1.ImportState_IMPORT_STATE_SUCCEEDED
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
