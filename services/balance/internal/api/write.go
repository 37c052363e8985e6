package api

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/authn"
	"github.com/posimport/posimport/pkg/platform/validate"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/balance/internal/configcache"
	"github.com/posimport/posimport/services/balance/internal/store"
)

// maxFields bounds the fields of one WriteDay; a client has one field per POS data type.
const maxFields = 64

// amountPattern is a plain decimal: no exponent, no grouping. Lightspeed sends unrounded tax-inclusive
// amounts (e.g. 51.73875, or more places with US sales tax); they are kept exactly, up to 20 places.
var amountPattern = regexp.MustCompile(`^-?[0-9]{1,15}(\.[0-9]{1,20})?$`)

// validateWrite checks a WriteDay request on its own and then against the client's
// configuration. A configuration that changed a moment ago (a new field, register or time
// zone) may not be cached yet, so a request the cached one refuses is checked once more
// against a fresh read before it is refused.
func (s *Server) validateWrite(ctx context.Context, req *posimportv1.WriteDayRequest) (store.Write, error) {
	for _, id := range []struct{ field, value string }{
		{"department_id", req.GetDepartmentId()}, {"import_id", req.GetImportId()}, {"job_id", req.GetJobId()},
	} {
		if err := validate.ID(id.field, id.value); err != nil {
			return store.Write{}, err
		}
	}
	if req.GetRegisterId() != "" {
		if err := validate.ID("register_id", req.GetRegisterId()); err != nil {
			return store.Write{}, err
		}
	}
	date, err := validate.Date("date", req.GetDate())
	if err != nil {
		return store.Write{}, err
	}
	loc, err := validate.TimeZone("time_zone", req.GetTimeZone())
	if err != nil {
		return store.Write{}, err
	}
	if req.GetFencingToken() <= 0 {
		return store.Write{}, apierr.Invalid("fencing_token", "must be the job's attempt number (1 or more)")
	}
	if len(req.GetFields()) > maxFields {
		return store.Write{}, apierr.Invalid("fields", "at most %d fields", maxFields)
	}
	now := s.now()
	if today := civil.Today(now, loc); date.After(today) {
		return store.Write{}, apierr.Invalid("date", "%s is after today (%s in %s)", date, today, req.GetTimeZone())
	}
	if req.GetPartial() && req.GetOverwriteApproved() {
		return store.Write{}, apierr.Invalid("partial", "a partial write (today so far) never overwrites approved days; leave overwrite_approved unset")
	}
	cause, err := checkCause(req.GetCause())
	if err != nil {
		return store.Write{}, err
	}
	actor, err := writeActor(ctx, req.GetImportCreatedBy())
	if err != nil {
		return store.Write{}, err
	}
	w := store.Write{
		ClientID: req.GetClientId(), DepartmentID: req.GetDepartmentId(), RegisterID: req.GetRegisterId(),
		Date: date, TimeZone: req.GetTimeZone(), ImportID: req.GetImportId(), JobID: req.GetJobId(),
		FencingToken: req.GetFencingToken(), OverwriteApproved: req.GetOverwriteApproved(), Now: now,
		Partial: req.GetPartial(), Cause: cause, Actor: actor,
	}
	cl, dept, err := s.config.Department(ctx, req.GetClientId(), req.GetDepartmentId())
	if err != nil {
		return store.Write{}, err
	}
	w.Fields, err = checkWrite(req, date, cl, dept)
	if err == nil {
		return w, nil
	}
	if cl, err = s.config.Refresh(ctx, req.GetClientId()); err != nil {
		return store.Write{}, err
	}
	if dept = cl.Departments[req.GetDepartmentId()]; dept == nil {
		return store.Write{}, apierr.NotFound("department %s not found", req.GetDepartmentId())
	}
	w.Fields, err = checkWrite(req, date, cl, dept)
	return w, err
}

// Bounds of a write's cause: a correction keeps it, so it stays small.
const (
	maxCauseReason  = 200
	maxCauseSales   = 50
	maxSaleIDLength = 64
	maxActorLength  = 200
)

// checkCause checks a write's cause: a short reason in UTF-8, a bounded list of sale ids and
// a count no smaller than the list.
func checkCause(c *posimportv1.WriteCause) (store.Cause, error) {
	if c == nil {
		return store.Cause{}, nil
	}
	if len(c.GetReason()) > maxCauseReason || !utf8.ValidString(c.GetReason()) {
		return store.Cause{}, apierr.Invalid("cause.reason", "at most %d bytes of UTF-8", maxCauseReason)
	}
	if len(c.GetSaleIds()) > maxCauseSales {
		return store.Cause{}, apierr.Invalid("cause.sale_ids", "at most %d sale ids; count the rest in sale_count", maxCauseSales)
	}
	for i, id := range c.GetSaleIds() {
		if id == "" || len(id) > maxSaleIDLength || !utf8.ValidString(id) {
			return store.Cause{}, apierr.Invalid(fmt.Sprintf("cause.sale_ids[%d]", i), "1 to %d bytes of UTF-8", maxSaleIDLength)
		}
	}
	if n := c.GetSaleCount(); n < int32(len(c.GetSaleIds())) {
		return store.Cause{}, apierr.Invalid("cause.sale_count", "%d is fewer than the %d sale ids listed", n, len(c.GetSaleIds()))
	}
	return store.Cause{Reason: c.GetReason(), SaleIDs: c.GetSaleIds(), SaleCount: c.GetSaleCount()}, nil
}

// writeActor is who the audit names for a write: the import's creator, or the calling
// service when the request does not say.
func writeActor(ctx context.Context, createdBy string) (string, error) {
	if createdBy != "" {
		if len(createdBy) > maxActorLength || !utf8.ValidString(createdBy) {
			return "", apierr.Invalid("import_created_by", "at most %d bytes of UTF-8", maxActorLength)
		}
		return createdBy, nil
	}
	p, _ := authn.FromContext(ctx)
	return p.Subject, nil
}

// checkWrite checks a request against the configuration and returns its fields in field id
// order.
func checkWrite(req *posimportv1.WriteDayRequest, date civil.Date, cl *configcache.Client, dept *configcache.Department) ([]store.FieldValues, error) {
	if req.GetTimeZone() != dept.GetEffectiveTimeZone() {
		return nil, apierr.Invalid("time_zone", "department %s's time zone is %q, not %q",
			dept.GetDepartmentId(), dept.GetEffectiveTimeZone(), req.GetTimeZone())
	}
	switch {
	case len(dept.Registers) == 0 && req.GetRegisterId() != "":
		return nil, apierr.Invalid("register_id", "department %s has no registers; leave it empty", dept.GetDepartmentId())
	case len(dept.Registers) > 0 && !dept.Registers[req.GetRegisterId()]:
		return nil, apierr.Invalid("register_id", "%q is not a register of department %s", req.GetRegisterId(), dept.GetDepartmentId())
	}
	hours := len(date.Hours(dept.Location))
	out := make([]store.FieldValues, 0, len(req.GetFields()))
	seen := make(map[int64]bool, len(req.GetFields()))
	for i, f := range req.GetFields() {
		path := fmt.Sprintf("fields[%d]", i)
		def := cl.FieldByID[f.GetFieldId()]
		switch {
		case def == nil:
			return nil, apierr.Invalid(path+".field_id", "%d is not a weekly-balance field of the client", f.GetFieldId())
		case def.GetPosDataType() == posimportv1.PosDataType_POS_DATA_TYPE_UNSPECIFIED:
			return nil, apierr.Invalid(path+".field_id", "field %d receives no POS data", f.GetFieldId())
		case seen[f.GetFieldId()]:
			return nil, apierr.Invalid(path+".field_id", "field %d is listed twice", f.GetFieldId())
		}
		seen[f.GetFieldId()] = true
		fv, err := checkField(path, f, def, hours, date, dept.GetEffectiveTimeZone())
		if err != nil {
			return nil, err
		}
		out = append(out, fv)
	}
	slices.SortFunc(out, func(a, b store.FieldValues) int { return cmp.Compare(a.FieldID, b.FieldID) })
	return out, nil
}

// checkField checks one field's values: one per clock hour for a split field, none for a
// per-day field, each a decimal fit for the POS data type, and a total equal to their sum.
func checkField(path string, f *posimportv1.FieldValues, def *posimportv1.BalanceField, hours int, date civil.Date, zone string) (store.FieldValues, error) {
	kind := def.GetPosDataType()
	fv := store.FieldValues{FieldID: f.GetFieldId(), Hours: f.GetHours(), Total: f.GetTotal()}
	if fv.Hours == nil {
		fv.Hours = []string{}
	}
	if !def.GetSplitIntoIntervals() {
		if len(f.GetHours()) > 0 {
			return store.FieldValues{}, apierr.Invalid(path+".hours", "field %d is kept per day: send only its total", f.GetFieldId())
		}
		_, err := checkAmount(path+".total", kind, f.GetTotal())
		return fv, err
	}
	if len(f.GetHours()) != hours {
		return store.FieldValues{}, apierr.Invalid(path+".hours", "want %d values, one per clock hour of %s in %s; got %d",
			hours, date, zone, len(f.GetHours()))
	}
	sum := decimal.Zero
	for j, h := range f.GetHours() {
		d, err := checkAmount(fmt.Sprintf("%s.hours[%d]", path, j), kind, h)
		if err != nil {
			return store.FieldValues{}, err
		}
		sum = sum.Add(d)
	}
	total, err := checkAmount(path+".total", kind, f.GetTotal())
	if err != nil {
		return store.FieldValues{}, err
	}
	if !total.Equal(sum) {
		return store.FieldValues{}, apierr.Invalid(path+".total", "%s is not the sum of the hours (%s)", f.GetTotal(), sum)
	}
	return fv, nil
}

// checkAmount parses a decimal and checks it fits the POS data type: counts are whole
// numbers, and counts, returns and quantities are never negative.
func checkAmount(path string, kind posimportv1.PosDataType, v string) (decimal.Decimal, error) {
	if !amountPattern.MatchString(v) {
		return decimal.Decimal{}, apierr.Invalid(path, "%q is not a decimal amount (e.g. \"1234.50\", at most 20 decimals)", v)
	}
	d, err := decimal.NewFromString(v)
	if err != nil {
		return decimal.Decimal{}, apierr.Invalid(path, "%q is not a decimal amount", v)
	}
	switch kind {
	case posimportv1.PosDataType_POS_DATA_TYPE_TRANSACTIONS, posimportv1.PosDataType_POS_DATA_TYPE_VISITORS:
		if !d.IsInteger() || d.IsNegative() {
			return decimal.Decimal{}, apierr.Invalid(path, "%q: a count is a whole number, 0 or more", v)
		}
	case posimportv1.PosDataType_POS_DATA_TYPE_RETURNS, posimportv1.PosDataType_POS_DATA_TYPE_GOODS_SOLD,
		posimportv1.PosDataType_POS_DATA_TYPE_GOODS_RETURNED:
		if d.IsNegative() {
			return decimal.Decimal{}, apierr.Invalid(path, "%q: %s is never negative", v, kind)
		}
	}
	return d, nil
}
