package pos

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// The errors a [Source] returns, shared by every provider so that a caller classifies them
// once: [ErrUnauthorized] (re-authorize), [*RateLimitError] (retry after its wait),
// [*StatusError] (the provider refused the request; 4xx is permanent), [*DataError] (malformed
// data: permanent) and [*SaleError] (one malformed sale, attributed to its register and time).
// A [*SyntaxError] (a truncated or non-JSON body) is transient: providers retry it themselves
// and return it only when their attempts ran out.

// ErrUnauthorized is wrapped by a [Source] whose credentials the provider refused even after a
// fresh token: the client must re-authorize the connection. It is not worth retrying.
var ErrUnauthorized = errors.New("pos: provider refused the credentials")

// RateLimitError is returned when the provider asks for a wait longer than the source sits out
// itself, or when its attempts ran out on 429s: the caller should retry the work after
// RetryAfter.
type RateLimitError struct {
	RetryAfter time.Duration
}

// Error names the wait.
func (e *RateLimitError) Error() string {
	return fmt.Sprintf("POS rate limit: retry after %v", e.RetryAfter)
}

// StatusError is an HTTP error response of the provider that the source did not retry (or
// retried to the end, for 5xx).
type StatusError struct {
	Status int
	// Message is the API's error message, if the body had one, shortened.
	Message string
}

// Error gives the status and the API's message.
func (e *StatusError) Error() string {
	return fmt.Sprintf("POS answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// Refused reports whether the provider refused the request for good: a 4xx other than 408
// (timeout) and 429 (rate limit). Retrying the same request cannot succeed.
func (e *StatusError) Refused() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusRequestTimeout && e.Status != http.StatusTooManyRequests
}

// DataError is malformed data in a response, located down to the field.
type DataError struct {
	// Resource is the provider's name for the record, e.g. "Sale", "Shop", "Business".
	Resource string
	// ID is the record's id as sent, or "#n" (its position in the page) when the id itself
	// is unreadable.
	ID string
	// LineID is set for a field of a sale line.
	LineID string
	Field  string
	// Value is the offending value, shortened.
	Value string
	Err   error
}

// Error reads like "Sale 7 line 3: field calcTotal: not a decimal number (got \"12,50\")".
func (e *DataError) Error() string {
	where := e.Resource + " " + e.ID
	if e.LineID != "" {
		where += " line " + e.LineID
	}
	return fmt.Sprintf("%s: field %s: %v (got %s)", where, e.Field, e.Err, e.Value)
}

// Unwrap returns the cause.
func (e *DataError) Unwrap() error { return e.Err }

// SaleError is a malformed sale whose register and completion time could still be read: it
// concerns only that register's local day, and a caller that fetches a whole location can fail
// that register-day alone (see [SalesQuery.OnSaleError]). A malformed sale whose register or
// time cannot be read is a plain [*DataError], which concerns the whole query.
type SaleError struct {
	// LocationID, RegisterID and CompletedAt are as [SaleFigures] would have carried them.
	LocationID string
	RegisterID string
	// CompletedAt is in UTC; the caller's time zone decides the local day it falls on.
	CompletedAt time.Time
	// Err is the *DataError that names the sale, line and field.
	Err error
}

// Error names the register and time, then the data error.
func (e *SaleError) Error() string {
	return fmt.Sprintf("register %s at %s: %v", e.RegisterID, e.CompletedAt.UTC().Format(time.RFC3339), e.Err)
}

// Unwrap returns the data error, so that errors.As finds the *DataError too.
func (e *SaleError) Unwrap() error { return e.Err }

// SyntaxError is a response body that is not the JSON expected: truncated, or not JSON at all.
// Sources retry it like a network error.
type SyntaxError struct{ Err error }

// Error describes the body's defect.
func (e *SyntaxError) Error() string { return "malformed response body: " + e.Err.Error() }

// Unwrap returns the JSON error.
func (e *SyntaxError) Unwrap() error { return e.Err }
