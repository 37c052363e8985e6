package apierr_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
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
