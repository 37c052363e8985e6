package api

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/posimport/posimport/pkg/platform/apierr"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/balance/internal/store"
)

// maxWriteDays bounds the days of one WriteDays: a job's longest range.
const maxWriteDays = 31

// WriteDays implements posimportv1.BalanceServiceServer: every day is checked as WriteDay
// checks it, and the days must follow each other; then all are written in one transaction.
func (s *Server) WriteDays(ctx context.Context, req *posimportv1.WriteDaysRequest) (*posimportv1.WriteDaysResponse, error) {
	ws, err := s.validateDays(ctx, req)
	if err != nil {
		return nil, err
	}
	results, err := s.store.WriteDays(ctx, ws)
	if err != nil {
		return nil, s.writeError(err)
	}
	return s.writeDaysResponse(results), nil
}

// validateDays checks a WriteDays request: each day as WriteDay checks it, and the days must
// follow each other.
func (s *Server) validateDays(ctx context.Context, req *posimportv1.WriteDaysRequest) ([]store.Write, error) {
	if n := len(req.GetDays()); n == 0 || n > maxWriteDays {
		return nil, apierr.Invalid("days", "want 1 to %d days, got %d", maxWriteDays, n)
	}
	ws := make([]store.Write, len(req.GetDays()))
	for i, d := range req.GetDays() {
		w, err := s.validateWrite(ctx, &posimportv1.WriteDayRequest{
			ClientId: req.GetClientId(), DepartmentId: req.GetDepartmentId(), RegisterId: req.GetRegisterId(),
			Date: d.GetDate(), TimeZone: req.GetTimeZone(), Fields: d.GetFields(), ImportId: req.GetImportId(),
			JobId: req.GetJobId(), FencingToken: req.GetFencingToken(), OverwriteApproved: req.GetOverwriteApproved(),
			Partial: d.GetPartial(), Cause: d.GetCause(), ImportCreatedBy: req.GetImportCreatedBy(),
		})
		if err != nil {
			return nil, inDay(i, err)
		}
		if i > 0 && w.Date != ws[0].Date.AddDays(i) {
			return nil, apierr.Invalid(dayPath(i)+".date", "%s does not follow %s: the days of one request are consecutive",
				d.GetDate(), ws[i-1].Date)
		}
		ws[i] = w
	}
	return ws, nil
}

// writeDaysResponse answers a WriteDays request's results and counts them, each day as one
// write.
func (s *Server) writeDaysResponse(results []store.WriteResult) *posimportv1.WriteDaysResponse {
	resp := &posimportv1.WriteDaysResponse{Days: make([]*posimportv1.WriteDayResponse, len(results))}
	for i, r := range results {
		s.metrics.Written(posimportv1.WriteOutcome(r.Outcome))
		resp.Days[i] = writeResponse(r)
	}
	return resp
}

func writeResponse(r store.WriteResult) *posimportv1.WriteDayResponse {
	return &posimportv1.WriteDayResponse{
		Outcome: posimportv1.WriteOutcome(r.Outcome), Status: posimportv1.DayStatus(r.Status), Version: r.Version,
		CorrectionId: r.CorrectionID,
	}
}

func dayPath(i int) string { return "days[" + strconv.Itoa(i) + "]" }

// inDay names the day in an error about one of its own fields (date, fields[...]); errors
// about the request's common fields keep their names.
func inDay(i int, err error) error {
	var ae *apierr.Error
	if !errors.As(err, &ae) || (ae.Field != "date" && ae.Field != "partial" && !strings.HasPrefix(ae.Field, "fields") &&
		!strings.HasPrefix(ae.Field, "cause")) {
		return err
	}
	return apierr.Invalid(dayPath(i)+"."+ae.Field, "%s", ae.Message)
}
