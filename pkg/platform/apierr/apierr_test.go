package apierr_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/posimport/posimport/pkg/platform/apierr"
)

// TestMessagesCapWhatTheyEcho: a 20 MB value comes back as a short quote, in the message and
// in the BadRequest detail alike.
func TestMessagesCapWhatTheyEcho(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("9", 20<<20)
	tests := []struct {
		name string
		err  error
	}{
		{name: "string argument", err: apierr.Invalid("from_date", "%q is not a date", huge)},
		{name: "wrapped error argument", err: apierr.Invalid("from_date", "%v", errors.New(huge))},
		{name: "not found", err: apierr.NotFound("department %s does not exist", huge)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, _ := apierr.ToStatus(tc.err)
			if n := len(st.Message()); n > apierr.MaxMessage+len("…") {
				t.Errorf("message of %d bytes", n)
			}
			if n := proto.Size(st.Proto()); n > 3*apierr.MaxMessage {
				t.Errorf("status of %d bytes", n)
			}
			if !strings.Contains(st.Message(), "999…") {
				t.Errorf("message %q does not show where the value was cut", apierr.Clip(st.Message(), 200))
			}
		})
	}
	// Invalid UTF-8 from the input cannot break the status (it must marshal).
	bad, _ := apierr.ToStatus(apierr.InvalidMessage("field", "not JSON: \x81"+huge))
	if _, err := proto.Marshal(bad.Proto()); err != nil || !utf8.ValidString(bad.Message()) {
		t.Errorf("status with invalid UTF-8: %v", err)
	}
	st, _ := apierr.ToStatus(apierr.Invalid("from_date", "%q is not a date", huge))
	if st.Code() != codes.InvalidArgument || len(st.Details()) != 1 {
		t.Fatalf("status = %v", st)
	}
	br := st.Details()[0].(*errdetails.BadRequest)
	if fv := br.GetFieldViolations()[0]; fv.GetField() != "from_date" || len(fv.GetDescription()) > apierr.MaxMessage+len("…") {
		t.Errorf("violation = %s / %d bytes", fv.GetField(), len(fv.GetDescription()))
	}
}

func TestClip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{in: "short", n: 10, want: "short"},
		{in: "exactly10!", n: 10, want: "exactly10!"},
		{in: "abcdefghijk", n: 10, want: "abcdefghij…"},
		{in: "æøåæøå", n: 5, want: "æø…"}, // never half a character
		{in: "a\x81b", n: 10, want: "a\uFFFDb"},
	}
	for _, tc := range tests {
		if got := apierr.Clip(tc.in, tc.n); got != tc.want || !utf8.ValidString(got) {
			t.Errorf("Clip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

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
