package api

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/services/balance/internal/store"
)

// TestAPIError: the store's errors become the API's in one place, without internal text.
func TestAPIError(t *testing.T) {
	t.Parallel()
	cause := errors.New("pq: secret detail")
	tests := []struct {
		name     string
		in       error
		wantCode codes.Code
		wantMsg  string
	}{
		{name: "not found", in: fmt.Errorf("%w: %w", store.ErrNotFound, cause), wantCode: codes.NotFound, wantMsg: "not found"},
		{name: "conflict", in: fmt.Errorf("write: %w: %w", store.ErrConflict, cause), wantCode: codes.Aborted,
			wantMsg: "conflicts with a concurrent change"},
		{name: "concurrent update", in: fmt.Errorf("%w: %w", store.ErrConcurrentUpdate, cause), wantCode: codes.Aborted,
			wantMsg: "concurrent update, retry"},
		{name: "other", in: cause, wantCode: codes.Internal, wantMsg: "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, _ := apierr.ToStatus(apiError(tc.in))
			if st.Code() != tc.wantCode || st.Message() != tc.wantMsg {
				t.Errorf("apiError(%v) = %s %q, want %s %q", tc.in, st.Code(), st.Message(), tc.wantCode, tc.wantMsg)
			}
		})
	}
}
