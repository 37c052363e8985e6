package api

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/services/config/internal/store"
)

// TestAPIError: the store's errors become the API's in one place, with the field at fault for
// bad input and no internal text for the rest.
func TestAPIError(t *testing.T) {
	t.Parallel()
	cause := errors.New("pq: secret detail")
	tests := []struct {
		name      string
		in        error
		wantCode  codes.Code
		wantField string
		wantMsg   string
	}{
		{name: "register taken", in: fmt.Errorf("put: %w", &store.RegisterTakenError{RegisterID: "7", DepartmentID: "d2"}),
			wantCode: codes.InvalidArgument, wantField: "department.pos_terminal_numbers",
			wantMsg: "department.pos_terminal_numbers: register 7 already belongs to department d2; a register belongs to one department"},
		{name: "POS data type taken", in: &store.TypeTakenError{PosDataType: 1, FieldID: 5},
			wantCode: codes.InvalidArgument, wantField: "field.pos_data_type",
			wantMsg: "field.pos_data_type: POS_DATA_TYPE_GROSS_SALES is already assigned to field 5; a POS data type feeds one field"},
		{name: "not found", in: fmt.Errorf("department d1 %w", store.ErrNotFound), wantCode: codes.NotFound,
			wantMsg: "department d1 not found"},
		{name: "already exists", in: fmt.Errorf("%w: %w", store.ErrAlreadyExists, cause), wantCode: codes.AlreadyExists,
			wantMsg: "already exists"},
		{name: "constraint", in: fmt.Errorf("%w: %w", store.ErrConstraint, cause), wantCode: codes.FailedPrecondition,
			wantMsg: "violates a constraint"},
		{name: "concurrent update", in: fmt.Errorf("%w: %w", store.ErrConcurrentUpdate, cause), wantCode: codes.Aborted,
			wantMsg: "concurrent update, retry"},
		{name: "other", in: cause, wantCode: codes.Internal, wantMsg: "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := apiError(tc.in)
			st, _ := apierr.ToStatus(err)
			if st.Code() != tc.wantCode || st.Message() != tc.wantMsg || apierr.FieldOf(err) != tc.wantField {
				t.Errorf("apiError(%v) = %s %q field %q, want %s %q field %q", tc.in, st.Code(), st.Message(),
					apierr.FieldOf(err), tc.wantCode, tc.wantMsg, tc.wantField)
			}
		})
	}
}
