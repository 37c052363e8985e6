// Package apierr is the one place where errors become gRPC status codes (and, through
// grpc-gateway, HTTP statuses). Service code returns the errors built here; the server's
// interceptor calls ToStatus once. Anything else is logged and answered as Internal with no
// internal text, so database or upstream details never reach a caller.
//
// A message echoes at most MaxEcho bytes of any one string argument and is at most
// MaxMessage bytes in all, so a caller who sends megabytes of input does not get them back;
// invalid UTF-8 in it is replaced, so it can always be sent.
package apierr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is an error a caller may see: a code, a message and, for invalid input, the field.
type Error struct {
	Code    codes.Code
	Field   string // request field at fault, for InvalidArgument
	Message string
	// Reason, when set, is sent as a google.rpc.ErrorInfo (domain Domain): a constant a
	// caller's code tells this error apart by, where the code alone is shared with others.
	Reason string
	cause  error
}

// Domain is the ErrorInfo domain of posimport's reasons.
const Domain = "posimport"

// ErrorInfo reasons callers act on.
const (
	// ReasonStaleFencingToken: a write carried an older attempt number of its job than one
	// already written (Aborted). The writer is a zombie: another attempt holds the job.
	ReasonStaleFencingToken = "STALE_FENCING_TOKEN"
)

// Error implements error. The field is named first so that the message alone says what to fix.
func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Unwrap returns the underlying cause, which is never shown to the caller.
func (e *Error) Unwrap() error { return e.cause }

// Is matches another *Error with the same code, so errors.Is(err, apierr.ErrNotFound) works.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Code == e.Code && t.Message == "" && t.Field == ""
}

// Sentinels for errors.Is checks on the code alone.
var (
	ErrNotFound           = &Error{Code: codes.NotFound}
	ErrAlreadyExists      = &Error{Code: codes.AlreadyExists}
	ErrInvalidArgument    = &Error{Code: codes.InvalidArgument}
	ErrPermissionDenied   = &Error{Code: codes.PermissionDenied}
	ErrUnauthenticated    = &Error{Code: codes.Unauthenticated}
	ErrFailedPrecondition = &Error{Code: codes.FailedPrecondition}
	ErrAborted            = &Error{Code: codes.Aborted}
	ErrUnavailable        = &Error{Code: codes.Unavailable}
)

// Bounds of what a message echoes.
const (
	// MaxEcho is how many bytes of one string argument a message quotes; longer ones are cut
	// and marked with "…".
	MaxEcho = 64
	// MaxMessage is the longest message, in bytes.
	MaxMessage = 1024
)

// sprintf formats a message, cutting long string arguments and the message itself.
func sprintf(format string, args ...any) string {
	var clipped []any
	for i, a := range args {
		if s, ok := a.(string); ok && len(s) > MaxEcho {
			if clipped == nil {
				clipped = slices.Clone(args)
			}
			clipped[i] = Clip(s, MaxEcho)
		}
	}
	if clipped != nil {
		args = clipped
	}
	return Clip(fmt.Sprintf(format, args...), MaxMessage)
}

// Clip returns s cut to at most n bytes on a character boundary, with "…" appended when cut,
// and its invalid UTF-8 replaced (a status message must be UTF-8, or it cannot be sent).
func Clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Invalid reports bad input in one request field, e.g. Invalid("settings.time_zone", "unknown time zone %q", tz).
func Invalid(field, format string, args ...any) error {
	return &Error{Code: codes.InvalidArgument, Field: field, Message: sprintf(format, args...)}
}

// InvalidMessage is Invalid with a message already worded, whose quotes of the input are
// already cut short; only its length is capped.
func InvalidMessage(field, message string) error {
	return &Error{Code: codes.InvalidArgument, Field: field, Message: Clip(message, MaxMessage)}
}

// NotFound reports a missing resource.
func NotFound(format string, args ...any) error {
	return &Error{Code: codes.NotFound, Message: sprintf(format, args...)}
}

// AlreadyExists reports a resource that exists already.
func AlreadyExists(format string, args ...any) error {
	return &Error{Code: codes.AlreadyExists, Message: sprintf(format, args...)}
}

// PermissionDenied reports an authenticated caller that may not do this.
func PermissionDenied(format string, args ...any) error {
	return &Error{Code: codes.PermissionDenied, Message: sprintf(format, args...)}
}

// Unauthenticated reports a missing or invalid credential.
func Unauthenticated(format string, args ...any) error {
	return &Error{Code: codes.Unauthenticated, Message: sprintf(format, args...)}
}

// FailedPrecondition reports a request the system's state does not allow now.
func FailedPrecondition(format string, args ...any) error {
	return &Error{Code: codes.FailedPrecondition, Message: sprintf(format, args...)}
}

// Aborted reports a conflict the caller may retry, e.g. a serialization failure.
func Aborted(format string, args ...any) error {
	return &Error{Code: codes.Aborted, Message: sprintf(format, args...)}
}

// AbortedFor reports a conflict with an ErrorInfo reason that tells it from other Aborted
// errors, e.g. AbortedFor(ReasonStaleFencingToken, ...).
func AbortedFor(reason, format string, args ...any) error {
	return &Error{Code: codes.Aborted, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Unavailable reports a transient failure the caller may retry, keeping the cause for logs.
func Unavailable(cause error, format string, args ...any) error {
	return &Error{Code: codes.Unavailable, Message: sprintf(format, args...), cause: cause}
}

// ToStatus converts err into a gRPC status. Errors built by this package keep their code and
// message (InvalidArgument carries a BadRequest detail naming the field); a status error from
// a downstream service keeps its code; context errors map to Canceled/DeadlineExceeded;
// everything else becomes Internal "internal error" and internal reports true so the caller
// logs the cause.
func ToStatus(err error) (st *status.Status, internal bool) {
	if err == nil {
		return status.New(codes.OK, ""), false
	}
	var ae *Error
	if errors.As(err, &ae) {
		st := status.New(ae.Code, Clip(ae.Error(), MaxMessage))
		if ae.Code == codes.InvalidArgument && ae.Field != "" {
			br := &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
				{Field: Clip(ae.Field, MaxEcho), Description: ae.Message},
			}}
			if withDetails, derr := st.WithDetails(br); derr == nil {
				st = withDetails
			}
		}
		if ae.Reason != "" {
			if withDetails, derr := st.WithDetails(&errdetails.ErrorInfo{Reason: ae.Reason, Domain: Domain}); derr == nil {
				st = withDetails
			}
		}
		return st, ae.Code == codes.Internal || ae.Code == codes.Unavailable
	}
	if s, ok := status.FromError(err); ok {
		return s, s.Code() == codes.Internal || s.Code() == codes.Unknown
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, "request canceled"), false
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, "deadline exceeded"), false
	}
	return status.New(codes.Internal, "internal error"), true
}

// ReasonOf returns the ErrorInfo reason of err in posimport's domain (an *Error, or a status
// error from another service), or "".
func ReasonOf(err error) string {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Reason
	}
	st, ok := status.FromError(err)
	if !ok {
		return ""
	}
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok && ei.GetDomain() == Domain {
			return ei.GetReason()
		}
	}
	return ""
}

// FieldOf returns the offending field of an InvalidArgument status, or "".
func FieldOf(err error) string {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Field
	}
	st, ok := status.FromError(err)
	if !ok {
		return ""
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			return br.GetFieldViolations()[0].GetField()
		}
	}
	return ""
}
