package provider_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/pos"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/internal/provider"
)

// TestClassifyOnceForEveryProduct: the shared pos error types are told apart the same way for
// Lightspeed Retail and Lightspeed Restaurant: malformed data and refused requests are
// permanent (with a reason a person can act on), a rate limit is retried after its wait, and
// everything else (5xx, timeouts, 408, 429 as a status) is transient.
func TestClassifyOnceForEveryProduct(t *testing.T) {
	t.Parallel()
	data := &pos.DataError{Resource: "Sale", ID: "A1.7", LineID: "S1.3", Field: "quantity", Value: `"x"`, Err: errors.New("not a plain decimal number")}
	tests := []struct {
		name       string
		err        error
		wantReason string // "" when not permanent
		wantWait   time.Duration
	}{
		{name: "malformed data", err: fmt.Errorf("list sales: %w", data),
			wantReason: `Lightspeed sent malformed data: list sales: Sale A1.7 line S1.3: field quantity: not a plain decimal number (got "x")`},
		{name: "malformed sale of one register", err: &pos.SaleError{LocationID: "1", RegisterID: "7", CompletedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Err: data},
			wantReason: `Lightspeed sent malformed data: register 7 at 2026-03-01T12:00:00Z: Sale A1.7 line S1.3: field quantity: not a plain decimal number (got "x")`},
		{name: "refused", err: fmt.Errorf("get Sale: %w", &pos.StatusError{Status: 404, Message: "Business location 9 not found"}),
			wantReason: "Lightspeed refused the request (404): Business location 9 not found"},
		{name: "server error", err: &pos.StatusError{Status: 503, Message: "busy"}},
		{name: "request timeout status", err: &pos.StatusError{Status: 408}},
		{name: "too many requests status", err: &pos.StatusError{Status: 429}},
		{name: "rate limited", err: fmt.Errorf("get Sale: %w", &pos.RateLimitError{RetryAfter: 42 * time.Second}), wantWait: 42 * time.Second},
		{name: "truncated body after every attempt", err: &pos.SyntaxError{Err: errors.New("unexpected end of JSON input")}},
		{name: "timeout", err: context.DeadlineExceeded},
		{name: "unauthorized is the worker's to word", err: fmt.Errorf("x: %w", pos.ErrUnauthorized)},
	}
	reg := provider.Default(provider.Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, id := range []posimportv1.PosProvider{posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RETAIL, posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RESTAURANT} {
				p, err := reg.Get(id)
				if err != nil {
					t.Fatal(err)
				}
				reason, permanent := p.Permanent(tc.err)
				if permanent != (tc.wantReason != "") || reason != tc.wantReason {
					t.Errorf("%s: Permanent = %q, %v; want %q", id, reason, permanent, tc.wantReason)
				}
				wait, ok := p.RetryAfter(tc.err)
				if ok != (tc.wantWait != 0) || wait != tc.wantWait {
					t.Errorf("%s: RetryAfter = %v, %v; want %v", id, wait, ok, tc.wantWait)
				}
			}
		})
	}
}
