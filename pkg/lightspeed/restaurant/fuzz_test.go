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
	f.Add([]byte(`{"sales":[{"accountFiscId":"A1.2","type":"SALE","cancelled":false,"timeClosed":"2025-06-01T10:00:00.000Z","deviceId":7,` +
		`"salesLines":[{"quantity":"1.000","totalNetAmountWithTax":"10.00","totalNetAmountWithoutTax":"10.00","taxAmount":"0.8875","taxLines":[{"taxIncluded":false}]}]}]}`))
	f.Add([]byte(`{"sales":[{"accountFiscId":"A1.3","type":"SALE","cancelled":false,"timeClosed":"2025-06-01T10:00:00.000Z","deviceId":7,` +
		`"salesLines":[{"quantity":"x"}]},{"accountFiscId":"A1.4","type":"SALE","cancelled":false,"timeClosed":"2025-06-01T10:01:00.000Z","deviceId":8,"salesLines":[]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodeSalesPage(body)
		// The one-pass path must agree with the sale-by-sale one.
		slow, slowErr := decodeSalesPageSlowly(body)
		if (err == nil) != (slowErr == nil) || p.token != slow.token || !cmp.Equal(p.sales, slow.sales) || len(p.bad) != len(slow.bad) {
			t.Fatalf("fast and slow decoding differ on %q:\n fast %+v %v\n slow %+v %v", body, p, err, slow, slowErr)
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
		for _, b := range p.bad {
			if b.err == nil || !strings.Contains(b.err.Error(), "field") {
				t.Errorf("malformed sale without a data error naming a field: %+v", b)
			}
			if (b.deviceID > 0) != !b.closed.IsZero() {
				t.Errorf("malformed sale half attributed: %+v", b)
			}
		}
		for _, s := range p.sales {
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
