package apierr_test

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/posimport/posimport/pkg/platform/apierr"
)

// TestReasonCrossesTheWire: a reason set where an error is made reaches a caller on the other
// side of gRPC as a google.rpc.ErrorInfo, and only an error made with it carries it.
func TestReasonCrossesTheWire(t *testing.T) {
	t.Parallel()
	foreign, err := status.New(codes.Aborted, "x").WithDetails(&errdetails.ErrorInfo{Reason: apierr.ReasonStaleFencingToken, Domain: "example.com"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		err        error
		wantCode   codes.Code
		wantReason string
	}{
		{name: "stale fencing token", err: apierr.AbortedFor(apierr.ReasonStaleFencingToken, "token %d is stale", 3),
			wantCode: codes.Aborted, wantReason: apierr.ReasonStaleFencingToken},
		{name: "wrapped", err: fmt.Errorf("write: %w", apierr.AbortedFor(apierr.ReasonStaleFencingToken, "stale")),
			wantCode: codes.Aborted, wantReason: apierr.ReasonStaleFencingToken},
		{name: "aborted without a reason (a serialization failure)", err: apierr.Aborted("retry"), wantCode: codes.Aborted},
		{name: "failed precondition (a constraint)", err: apierr.FailedPrecondition("violates a constraint"), wantCode: codes.FailedPrecondition},
		{name: "invalid argument", err: apierr.Invalid("date", "bad"), wantCode: codes.InvalidArgument},
		{name: "another domain's reason", err: foreign.Err(), wantCode: codes.Aborted},
		{name: "not an API error", err: errors.New("boom"), wantCode: codes.Internal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, _ := apierr.ToStatus(tc.err)
			if st.Code() != tc.wantCode {
				t.Errorf("code = %v, want %v", st.Code(), tc.wantCode)
			}
			if got := apierr.ReasonOf(st.Err()); got != tc.wantReason {
				t.Errorf("reason over the wire = %q, want %q", got, tc.wantReason)
			}
			if got := apierr.ReasonOf(tc.err); got != tc.wantReason {
				t.Errorf("reason in process = %q, want %q", got, tc.wantReason)
			}
		})
	}
}
