package pos_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/pos"
)

func TestDataTypeRoundTrip(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, d := range pos.DataTypes {
		name := d.String()
		if seen[name] {
			t.Errorf("duplicate name %q", name)
		}
		seen[name] = true
		got, err := pos.ParseDataType(name)
		if err != nil || got != d {
			t.Errorf("ParseDataType(%q) = %v, %v; want %v", name, got, err, d)
		}
	}
	if len(seen) != 8 {
		t.Errorf("got %d data types, want 8", len(seen))
	}
	if _, err := pos.ParseDataType("revenue"); err == nil {
		t.Error("ParseDataType(revenue): want an error")
	}
	if pos.DataType(0).Valid() {
		t.Error("the zero DataType must not be valid")
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	d := decimal.RequireFromString
	var m pos.Metrics
	for i, dt := range pos.DataTypes {
		m.Set(dt, decimal.NewFromInt(int64(i+1)))
	}
	m.Add(pos.Metrics{GrossSales: d("0.5"), Visitors: d("2")})
	want := pos.Metrics{
		GrossSales: d("1.50"), NetSales: d("2"), Discounts: d("3"), Returns: d("4"),
		Transactions: d("5"), GoodsSold: d("6"), GoodsReturned: d("7"), Visitors: d("10"),
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
	if m.IsZero() || !(pos.Metrics{}).IsZero() {
		t.Error("IsZero is wrong")
	}
}

func TestSalesQueryValidate(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		q       pos.SalesQuery
		wantErr bool
	}{
		{name: "ok", q: pos.SalesQuery{From: t0, Until: t0.Add(time.Hour)}},
		{name: "empty", q: pos.SalesQuery{From: t0, Until: t0}, wantErr: true},
		{name: "inverted", q: pos.SalesQuery{From: t0.Add(time.Hour), Until: t0}, wantErr: true},
		{name: "unset", q: pos.SalesQuery{}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := tc.q.Validate(); (err != nil) != tc.wantErr {
				t.Errorf("Validate() = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

// TestErrors: a refused request is a 4xx other than 408 and 429; a sale error names its
// register and time and still unwraps to the data error that names the field.
func TestErrors(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]bool{400: true, 401: true, 403: true, 404: true, 408: false, 429: false, 500: false, 503: false} {
		if got := (&pos.StatusError{Status: status}).Refused(); got != want {
			t.Errorf("StatusError{%d}.Refused() = %v, want %v", status, got, want)
		}
	}
	de := &pos.DataError{Resource: "Sale", ID: "A1.2", Field: "quantity", Value: `"x"`, Err: errors.New("not a plain decimal number")}
	err := fmt.Errorf("list sales: %w", &pos.SaleError{LocationID: "1", RegisterID: "7", CompletedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("x", 3600)), Err: de})
	const want = `list sales: register 7 at 2026-03-01T11:00:00Z: Sale A1.2: field quantity: not a plain decimal number (got "x")`
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
	var got *pos.DataError
	var se *pos.SaleError
	if !errors.As(err, &got) || got != de || !errors.As(err, &se) || se.RegisterID != "7" {
		t.Errorf("errors.As through the sale error: %v %v", got, se)
	}
}
