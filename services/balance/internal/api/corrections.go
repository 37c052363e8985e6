package api

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"time"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/validate"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/balance/internal/metrics"
	"github.com/posimport/posimport/services/balance/internal/store"
)

// Page sizes of ListCorrections and ListAuditRecords.
const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// uuidPattern is a correction id: a UUID in its canonical text form.
var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// ListCorrections implements posimportv1.BalanceServiceServer.
func (s *Server) ListCorrections(ctx context.Context, req *posimportv1.ListCorrectionsRequest) (*posimportv1.ListCorrectionsResponse, error) {
	if _, ok := posimportv1.CorrectionState_name[int32(req.GetState())]; !ok {
		return nil, apierr.Invalid("state", "unknown state %d", req.GetState())
	}
	q, err := listQuery(req.GetClientId(), req.GetDepartmentId(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	q.State = int16(req.GetState())
	cs, err := s.store.Corrections(ctx, q)
	if err != nil {
		return nil, apiError(err)
	}
	resp := &posimportv1.ListCorrectionsResponse{Corrections: make([]*posimportv1.Correction, 0, len(cs))}
	if len(cs) == int(q.Limit) {
		cs = cs[:len(cs)-1]
		resp.NextPageToken = strconv.FormatInt(cs[len(cs)-1].Seq, 10)
	}
	for _, c := range cs {
		resp.Corrections = append(resp.Corrections, s.correctionToProto(c))
	}
	return resp, nil
}

// ApplyCorrection implements posimportv1.BalanceServiceServer.
func (s *Server) ApplyCorrection(ctx context.Context, req *posimportv1.ApplyCorrectionRequest) (*posimportv1.ApplyCorrectionResponse, error) {
	c, err := s.resolveCorrection(ctx, req.GetClientId(), req.GetCorrectionId(), s.store.ApplyCorrection)
	if err != nil {
		return nil, err
	}
	s.metrics.Correction(metrics.CorrectionApplied)
	return &posimportv1.ApplyCorrectionResponse{Correction: c}, nil
}

// DismissCorrection implements posimportv1.BalanceServiceServer.
func (s *Server) DismissCorrection(ctx context.Context, req *posimportv1.DismissCorrectionRequest) (*posimportv1.DismissCorrectionResponse, error) {
	c, err := s.resolveCorrection(ctx, req.GetClientId(), req.GetCorrectionId(), s.store.DismissCorrection)
	if err != nil {
		return nil, err
	}
	s.metrics.Correction(metrics.CorrectionDismissed)
	return &posimportv1.DismissCorrectionResponse{Correction: c}, nil
}

type resolveFunc func(ctx context.Context, client, id, by string, now time.Time) (store.Correction, error)

// resolveCorrection applies or dismisses a correction as the caller (the token's subject).
func (s *Server) resolveCorrection(ctx context.Context, client, id string, resolve resolveFunc) (*posimportv1.Correction, error) {
	if id == "" {
		return nil, apierr.Invalid("correction_id", "required")
	}
	if !uuidPattern.MatchString(id) {
		return nil, apierr.Invalid("correction_id", "%q is not a correction id (a UUID)", apierr.Clip(id, 64))
	}
	p, _ := authn.FromContext(ctx)
	c, err := resolve(ctx, client, id, p.Subject, s.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, apierr.NotFound("correction %s not found", id)
	case errors.Is(err, store.ErrNotPending):
		return nil, apierr.FailedPrecondition("correction %s is no longer pending", id)
	case err != nil:
		return nil, apiError(err)
	}
	return s.correctionToProto(c), nil
}

// ListAuditRecords implements posimportv1.BalanceServiceServer.
func (s *Server) ListAuditRecords(ctx context.Context, req *posimportv1.ListAuditRecordsRequest) (*posimportv1.ListAuditRecordsResponse, error) {
	q, err := listQuery(req.GetClientId(), req.GetDepartmentId(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	rs, err := s.store.AuditRecords(ctx, q)
	if err != nil {
		return nil, apiError(err)
	}
	resp := &posimportv1.ListAuditRecordsResponse{Records: make([]*posimportv1.AuditRecord, 0, len(rs))}
	if len(rs) == int(q.Limit) {
		rs = rs[:len(rs)-1]
		resp.NextPageToken = strconv.FormatInt(rs[len(rs)-1].Seq, 10)
	}
	for _, r := range rs {
		resp.Records = append(resp.Records, &posimportv1.AuditRecord{
			AuditId:      r.AuditID,
			Action:       posimportv1.AuditAction(r.Action),
			Actor:        r.Actor,
			RecordTime:   timestamp(r.RecordTime),
			DepartmentId: r.DepartmentID,
			Date:         r.Date.String(),
			RegisterId:   r.RegisterID,
			TimeZone:     r.TimeZone,
			Changes:      s.changesToProto(r.Date, r.TimeZone, r.Changes),
			CorrectionId: r.CorrectionID,
			ImportId:     r.ImportID,
			JobId:        r.JobID,
		})
	}
	return resp, nil
}

// listQuery validates a list request's department filter and page; the query asks for one
// row more than the page, which tells whether another page follows.
func listQuery(client, department string, size int32, token string) (store.ListQuery, error) {
	if department != "" {
		if err := validate.ID("department_id", department); err != nil {
			return store.ListQuery{}, err
		}
	}
	switch {
	case size < 0 || size > maxPageSize:
		return store.ListQuery{}, apierr.Invalid("page_size", "must be between 0 and %d", maxPageSize)
	case size == 0:
		size = defaultPageSize
	}
	q := store.ListQuery{ClientID: client, DepartmentID: department, Limit: size + 1}
	if token != "" {
		seq, err := strconv.ParseInt(token, 10, 64)
		if err != nil || seq <= 0 {
			return store.ListQuery{}, apierr.Invalid("page_token", "not a token of this list")
		}
		q.BeforeSeq = seq
	}
	return q, nil
}

func (s *Server) correctionToProto(c store.Correction) *posimportv1.Correction {
	ids := c.Cause.SaleIDs
	if ids == nil {
		ids = []string{}
	}
	return &posimportv1.Correction{
		CorrectionId: c.CorrectionID,
		ClientId:     c.ClientID,
		DepartmentId: c.DepartmentID,
		Date:         c.Date.String(),
		RegisterId:   c.RegisterID,
		TimeZone:     c.TimeZone,
		State:        posimportv1.CorrectionState(c.State),
		Changes:      s.changesToProto(c.Date, c.TimeZone, c.Changes()),
		ImportId:     c.ImportID,
		JobId:        c.JobID,
		Cause:        &posimportv1.WriteCause{Reason: c.Cause.Reason, SaleIds: ids, SaleCount: c.Cause.SaleCount},
		CreateTime:   timestamp(c.CreateTime),
		UpdateTime:   timestamp(c.UpdateTime),
		ResolveTime:  timestamp(c.ResolveTime),
		ResolvedBy:   c.ResolvedBy,
	}
}

// changesToProto answers changes with their local clock hours (of date in zone) and amounts
// in canonical form.
func (s *Server) changesToProto(date civil.Date, zone string, cs []store.Change) []*posimportv1.ValueChange {
	var ivs []*posimportv1.Interval
	if loc, err := time.LoadLocation(zone); err == nil {
		ivs = s.intervals.of(date, loc)
	}
	out := make([]*posimportv1.ValueChange, len(cs))
	for i, c := range cs {
		vc := &posimportv1.ValueChange{FieldId: c.FieldID, Before: canonical(c.Before), After: canonical(c.After)}
		switch {
		case c.Hour < 0:
		case c.Hour < len(ivs):
			vc.Interval = ivs[c.Hour]
		default:
			// Not possible for values validated against the same day; shown by position.
			vc.Interval = &posimportv1.Interval{Index: int32(c.Hour)}
		}
		out[i] = vc
	}
	return out
}
