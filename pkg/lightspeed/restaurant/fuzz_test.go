package restaurant

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/posimport/posimport/pkg/pos"
)

func FuzzDecodeSalesPage(f *testing.F) {
	f.Add([]byte(`{"sales":[]}`))
	f.Add([]byte(`{"sales":[{"accountFiscId":"A1.1","type":"SALE","cancelled":false,"timeClosed":"2025-06-01T10:00:00.000Z","deviceId":7,"nbCovers":2.0,` +
		`"salesLines":[{"id":"S1.1","quantity":"1.000","totalNetAmountWithTax":"11.00","totalNetAmountWithoutTax":"8.33","totalDiscountAmount":"0.00"}]}],"nextPageToken":"MjAy"}`))
	f.Add([]byte(`{"sales":[{"type":"REFUND","cancelled":false,"timeClosed":"2025-06-01T10:00:00Z","deviceId":"7","source":{"initialAccountId":"A1.1"},` +
		`"salesLines":[{"quantity":"-1.000","totalNetAmountWithTax":"-10.00","totalNetAmountWithoutTax":"-8.33"}]}]}`))
	f.Add([]byte(`{"sales":[{"salesLines":{}}]}`))
	f.Add([]byte(`{"sales":"x","nextPageToken":5}`))
	f.Add([]byte(`{"sales":[{"nbCovers":"1e9999999"}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		sales, token, err := decodeSalesPage(body)
		// The one-pass path must agree with the sale-by-sale one.
		slow, slowToken, slowErr := decodeSalesPageSlowly(body)
		if (err == nil) != (slowErr == nil) || token != slowToken || !cmp.Equal(sales, slow) {
			t.Fatalf("fast and slow decoding differ on %q:\n fast %v %q %v\n slow %v %q %v", body, sales, token, err, slow, slowToken, slowErr)
		}
		if err != nil {
			var de *pos.DataError
			var se *pos.SyntaxError
			switch {
			case errors.As(err, &de):
				if !strings.Contains(err.Error(), "field") {
					t.Errorf("data error %q does not name a field", err)
				}
			case !errors.As(err, &se):
				t.Errorf("error %v is neither a DataError nor a SyntaxError", err)
			}
			return
		}
		for _, s := range sales {
			if s.TimeClosed.IsZero() || s.Type == "" {
				t.Errorf("sale %s decoded without a time or type", s.Label())
			}
			f := Figures(s, "1")
			m := f.Metrics
			if m.Returns.IsNegative() || m.GoodsReturned.IsNegative() || m.Visitors.IsNegative() || m.Transactions.IsNegative() {
				t.Errorf("sale %s: negative returns, goods returned, visitors or transactions: %+v", s.Label(), m)
			}
		}
	})
}
