package retail

import (
	"encoding/json"
	"path"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func FuzzDecodeSales(f *testing.F) {
	f.Add([]byte(`{"@attributes":{"next":"","previous":""}}`))
	f.Add([]byte(`{"Sale":` + saleJSON("7", `,"SaleLines":{"SaleLine":`+line("3")+`}`) + `}`))
	f.Add([]byte(`{"Sale":[` + saleJSON("7", "") + `,` + saleJSON("8", `,"SaleLines":{"SaleLine":[`+line("3")+`,`+line("4")+`]}`) + `]}`))
	f.Add([]byte(`{"Sale":{"saleID":7,"completed":true,"completeTime":"2021-06-06T15:19:18Z","SaleLines":""}}`))
	f.Add([]byte(`{"Sale":"x"}`))
	f.Add([]byte(`{"Sale" : {"note":"a\"}{\\","Sale":{"x":1},` + saleJSON("7", `,"SaleLines":{"SaleLine" :`+line("3")+`}`)[1:] + `}`))
	f.Add([]byte(`{"Shop":{"shopID":"1","timeZone":"US/Eastern"},"@attributes":{"next":"https://x/y","previous":""}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodePage(body)
		if err != nil {
			return
		}
		sales, err := decodeSales(p.Sale)
		// The fast path must agree with the record-by-record one.
		var slow pageBody
		if json.Unmarshal(body, &slow) != nil {
			t.Fatalf("decodePage accepted a body the slow path refuses: %q", body)
		}
		slowSales, slowErr := decodeSales(slow.Sale)
		if (err == nil) != (slowErr == nil) || !cmp.Equal(sales, slowSales) {
			t.Fatalf("fast and slow decoding differ on %q:\n fast %v %v\n slow %v %v", body, sales, err, slowSales, slowErr)
		}
		if err != nil {
			if !strings.Contains(err.Error(), "field") {
				t.Errorf("error %q does not name a field", err)
			}
			return
		}
		for _, s := range sales {
			if s.Completed && s.CompleteTime.IsZero() {
				t.Errorf("completed sale %d without a completeTime", s.ID)
			}
			f := Figures(s)
			if f.Metrics.Returns.IsNegative() || f.Metrics.GoodsReturned.IsNegative() || f.Metrics.GoodsSold.IsNegative() {
				t.Errorf("sale %d: negative returns or goods: %+v", s.ID, f.Metrics)
			}
		}
	})
}

func FuzzParseNext(f *testing.F) {
	base, err := parseBase("https://api.lightspeedapp.com")
	if err != nil {
		f.Fatal(err)
	}
	c := &Client{base: base, account: "182255"}
	f.Add("https://api.lightspeedapp.com/API/V3/Account/182255/Sale.json?sort=saleID&limit=100&after=WzEwNV0%3D")
	f.Add("https://api.lightspeedapp.com/API/V3/Account/182255/../182256/Sale.json")
	f.Add("https://api.lightspeedapp.com@evil.com/API/V3/Account/182255/Sale.json")
	f.Add("//evil.com/API/V3/Account/182255/Sale.json")
	f.Fuzz(func(t *testing.T, next string) {
		u, err := c.parseNext(next)
		if err != nil {
			return
		}
		if !strings.EqualFold(u.Host, "api.lightspeedapp.com") || !strings.EqualFold(u.Scheme, "https") || u.User != nil {
			t.Errorf("accepted %q: host %q scheme %q", next, u.Host, u.Scheme)
		}
		if !strings.HasPrefix(path.Clean(u.Path), "/API/V3/Account/182255/") {
			t.Errorf("accepted %q with path %q", next, u.Path)
		}
	})
}
