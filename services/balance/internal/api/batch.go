package api

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/apierr"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/balance/internal/store"
)

// maxBatch bounds the writes of a WriteDaysBatch and the marks of a MarkDaysImportedBatch: an
// import job group's jobs.
const maxBatch = 100

// WriteDaysBatch implements posimportv1.BalanceServiceServer: every write is checked as
// WriteDays checks it (errors name it: writes[i]....), all are of one client, no register-day
// is in two writes and a job has one fencing token; then all are written in one transaction,
// which a stale fencing token of any write refuses whole.
func (s *Server) WriteDaysBatch(ctx context.Context, req *posimportv1.WriteDaysBatchRequest) (*posimportv1.WriteDaysBatchResponse, error) {
	if n := len(req.GetWrites()); n == 0 || n > maxBatch {
		return nil, apierr.Invalid("writes", "want 1 to %d writes, got %d", maxBatch, n)
	}
	client := req.GetWrites()[0].GetClientId()
	for i, w := range req.GetWrites() {
		if w.GetClientId() != client {
			return nil, apierr.Invalid(itemPath("writes", i)+".client_id", "%q: the writes of a batch are all of client %q",
				w.GetClientId(), client)
		}
	}
	type job struct {
		write int
		token int64
	}
	type registerDay struct {
		dept, register string
		date           civil.Date
	}
	jobs := make(map[string]job)
	days := make(map[registerDay]int)
	batch := make([][]store.Write, len(req.GetWrites()))
	for i, w := range req.GetWrites() {
		ws, err := s.validateDays(ctx, w)
		if err != nil {
			return nil, inItem("writes", i, err)
		}
		if j, ok := jobs[w.GetJobId()]; ok && j.token != w.GetFencingToken() {
			return nil, apierr.Invalid(itemPath("writes", i)+".fencing_token", "%d: job %s is also writes[%d]'s, with fencing token %d",
				w.GetFencingToken(), w.GetJobId(), j.write, j.token)
		} else if !ok {
			jobs[w.GetJobId()] = job{write: i, token: w.GetFencingToken()}
		}
		for k, d := range ws {
			key := registerDay{d.DepartmentID, d.RegisterID, d.Date}
			if other, ok := days[key]; ok {
				return nil, apierr.Invalid(fmt.Sprintf("%s.%s.date", itemPath("writes", i), dayPath(k)),
					"register %q of department %s on %s is also written by writes[%d]", d.RegisterID, d.DepartmentID, d.Date, other)
			}
			days[key] = i
		}
		batch[i] = ws
	}
	results, err := s.store.WriteBatch(ctx, batch)
	if err != nil {
		var stale *store.StaleFenceError
		if errors.As(err, &stale) {
			s.metrics.Stale()
			return nil, apierr.AbortedFor(apierr.ReasonStaleFencingToken, "writes[%d]: %v", stale.Write, stale)
		}
		return nil, apiError(err)
	}
	resp := &posimportv1.WriteDaysBatchResponse{Writes: make([]*posimportv1.WriteDaysResponse, len(results))}
	for i, r := range results {
		resp.Writes[i] = s.writeDaysResponse(r)
	}
	return resp, nil
}

// MarkDaysImportedBatch implements posimportv1.BalanceServiceServer: every mark is checked as
// MarkDaysImported checks it (errors name it: marks[i]....), all are of one client and each
// marks another department; then all are recorded in one transaction.
func (s *Server) MarkDaysImportedBatch(ctx context.Context, req *posimportv1.MarkDaysImportedBatchRequest) (*posimportv1.MarkDaysImportedBatchResponse, error) {
	if n := len(req.GetMarks()); n == 0 || n > maxBatch {
		return nil, apierr.Invalid("marks", "want 1 to %d marks, got %d", maxBatch, n)
	}
	client := req.GetMarks()[0].GetClientId()
	for i, m := range req.GetMarks() {
		if m.GetClientId() != client {
			return nil, apierr.Invalid(itemPath("marks", i)+".client_id", "%q: the marks of a batch are all of client %q",
				m.GetClientId(), client)
		}
	}
	depts := make(map[string]int)
	marks := make([]store.Mark, len(req.GetMarks()))
	for i, m := range req.GetMarks() {
		var err error
		if marks[i], err = s.validateMark(ctx, m); err != nil {
			return nil, inItem("marks", i, err)
		}
		if other, ok := depts[m.GetDepartmentId()]; ok {
			return nil, apierr.Invalid(itemPath("marks", i)+".department_id", "department %s is also marked by marks[%d]",
				m.GetDepartmentId(), other)
		}
		depts[m.GetDepartmentId()] = i
	}
	res, err := s.store.MarkImportedBatch(ctx, client, marks, s.now())
	if err != nil {
		return nil, apiError(err)
	}
	resp := &posimportv1.MarkDaysImportedBatchResponse{Marks: make([]*posimportv1.MarkDaysImportedResponse, len(res))}
	for i, r := range res {
		resp.Marks[i] = markResponse(r)
	}
	return resp, nil
}

func itemPath(list string, i int) string { return fmt.Sprintf("%s[%d]", list, i) }

// inItem names the batch item in an error about one of its fields.
func inItem(list string, i int, err error) error {
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Code != codes.InvalidArgument || ae.Field == "" {
		return err
	}
	return apierr.InvalidMessage(itemPath(list, i)+"."+ae.Field, ae.Message)
}
