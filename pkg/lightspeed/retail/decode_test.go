package retail

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/pos"
)

const lineJSON = `{"saleLineID":"%s","unitQuantity":"2","calcSubtotal":"90","calcLineDiscount":"45","calcTransactionDiscount":"0","calcTotal":"51.73875","parentSaleLineID":"0"}`

func saleJSON(id, lines string) string {
	return `{"saleID":"` + id + `","shopID":"1","registerID":"2","completed":"true","voided":"false","archived":"false",
		"completeTime":"2021-06-06T15:19:18+00:00","timeStamp":"2021-06-06T15:19:18+00:00"` + lines + `}`
}

func line(id string) string { return strings.Replace(lineJSON, "%s", id, 1) }

func TestDecodeSales(t *testing.T) {
	t.Parallel()
	d := decimal.RequireFromString
	wantLine := func(id int64) SaleLine {
		return SaleLine{ID: id, UnitQuantity: d("2"), CalcSubtotal: d("90"), CalcLineDiscount: d("45"), CalcTransactionDiscount: d("0"), CalcTotal: d("51.73875")}
	}
	wantSale := func(id int64, lines ...SaleLine) Sale {
		ts := time.Date(2021, 6, 6, 15, 19, 18, 0, time.UTC)
		return Sale{ID: id, ShopID: 1, RegisterID: 2, Completed: true, CompleteTime: ts, TimeStamp: ts, Lines: lines}
	}
	tests := []struct {
		name string
		body string
		want []Sale
	}{
		{name: "empty result has no Sale key", body: `{"@attributes":{"next":"","previous":""}}`, want: []Sale{}},
		{name: "one sale is an object", body: `{"Sale":` + saleJSON("7", "") + `}`, want: []Sale{wantSale(7)}},
		{name: "several sales are an array", body: `{"Sale":[` + saleJSON("7", "") + `,` + saleJSON("8", "") + `]}`,
			want: []Sale{wantSale(7), wantSale(8)}},
		{name: "one line is an object", body: `{"Sale":` + saleJSON("7", `,"SaleLines":{"SaleLine":`+line("3")+`}`) + `}`,
			want: []Sale{wantSale(7, wantLine(3))}},
		{name: "several lines are an array", body: `{"Sale":` + saleJSON("7", `,"SaleLines":{"SaleLine":[`+line("3")+`,`+line("4")+`]}`) + `}`,
			want: []Sale{wantSale(7, wantLine(3), wantLine(4))}},
		{name: "numbers instead of strings", body: `{"Sale":{"saleID":7,"shopID":1,"registerID":2,"completed":true,"voided":false,"archived":0,
			"completeTime":"2021-06-06T15:19:18Z","timeStamp":"2021-06-06T15:19:18+00:00","SaleLines":{"SaleLine":{"saleLineID":3,"unitQuantity":2,
			"calcSubtotal":90,"calcLineDiscount":45.0,"calcTransactionDiscount":0,"calcTotal":51.73875}}}}`,
			want: []Sale{wantSale(7, wantLine(3))}},
		{name: "empty SaleLines", body: `{"Sale":` + saleJSON("7", `,"SaleLines":""`) + `}`, want: []Sale{wantSale(7)}},
		{name: "open sale without completeTime", body: `{"Sale":{"saleID":"9","shopID":"1","registerID":"2","completed":"false","voided":"false","archived":"false","timeStamp":"2021-06-06T15:19:18+00:00"}}`,
			want: []Sale{{ID: 9, ShopID: 1, RegisterID: 2, TimeStamp: time.Date(2021, 6, 6, 15, 19, 18, 0, time.UTC)}}},
		// An open sale's completeTime is optional: the zero time stands for none.
		{name: "open sale at the zero completeTime", body: `{"Sale":{"saleID":"9","shopID":"1","registerID":"2","completed":"false","voided":"false","archived":"false","completeTime":"0001-01-01T00:00:00Z","timeStamp":"2021-06-06T15:19:18+00:00"}}`,
			want: []Sale{{ID: 9, ShopID: 1, RegisterID: 2, TimeStamp: time.Date(2021, 6, 6, 15, 19, 18, 0, time.UTC)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := decodePage([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeSales(p.Sale)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("sales (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeErrorsNameSaleAndField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		body      string
		want      pos.DataError
		wantInMsg string
	}{
		{name: "bad decimal", body: `{"Sale":` + saleJSON("7", `,"SaleLines":{"SaleLine":`+strings.Replace(line("3"), `"calcTotal":"51.73875"`, `"calcTotal":"12,50"`, 1)+`}`) + `}`,
			want: pos.DataError{Resource: "Sale", ID: "7", LineID: "3", Field: "calcTotal", Value: `"12,50"`}, wantInMsg: "Sale 7 line 3: field calcTotal"},
		{name: "exponent refused", body: `{"Sale":` + saleJSON("7", `,"SaleLines":{"SaleLine":`+strings.Replace(line("3"), `"unitQuantity":"2"`, `"unitQuantity":"1e999999"`, 1)+`}`) + `}`,
			want: pos.DataError{Resource: "Sale", ID: "7", LineID: "3", Field: "unitQuantity", Value: `"1e999999"`}},
		{name: "missing field", body: `{"Sale":` + saleJSON("7", `,"SaleLines":{"SaleLine":{"saleLineID":"3","unitQuantity":"1"}}`) + `}`,
			want: pos.DataError{Resource: "Sale", ID: "7", LineID: "3", Field: "calcSubtotal", Value: "nothing"}},
		{name: "object for a scalar", body: `{"Sale":` + strings.Replace(saleJSON("7", ""), `"registerID":"2"`, `"registerID":{"x":1}`, 1) + `}`,
			want: pos.DataError{Resource: "Sale", ID: "7", Field: "registerID", Value: `{"x":1}`}},
		{name: "bad time", body: `{"Sale":` + strings.Replace(saleJSON("7", ""), `"completeTime":"2021-06-06T15:19:18+00:00"`, `"completeTime":"2021-06-06 15:19"`, 1) + `}`,
			want: pos.DataError{Resource: "Sale", ID: "7", Field: "completeTime", Value: `"2021-06-06 15:19"`}},
		{name: "completed sale at the zero time", body: `{"Sale":` + strings.Replace(saleJSON("7", ""), `"completeTime":"2021-06-06T15:19:18+00:00"`, `"completeTime":"0001-01-01T00:00:00Z"`, 1) + `}`,
			want: pos.DataError{Resource: "Sale", ID: "7", Field: "completeTime", Value: `"0001-01-01T00:00:00Z"`}},
		{name: "completed sale without completeTime", body: `{"Sale":` + strings.Replace(saleJSON("7", ""), `"completeTime":"2021-06-06T15:19:18+00:00",`, ``, 1) + `}`,
			want: pos.DataError{Resource: "Sale", ID: "7", Field: "completeTime", Value: "nothing"}},
		{name: "bad boolean", body: `{"Sale":` + strings.Replace(saleJSON("7", ""), `"voided":"false"`, `"voided":"nope"`, 1) + `}`,
			want: pos.DataError{Resource: "Sale", ID: "7", Field: "voided", Value: `"nope"`}},
		{name: "unreadable id", body: `{"Sale":[` + saleJSON("7", "") + `,` + saleJSON("x", "") + `]}`,
			want: pos.DataError{Resource: "Sale", ID: "x", Field: "saleID", Value: `"x"`}},
		{name: "Sale is a string", body: `{"Sale":"oops"}`,
			want: pos.DataError{Resource: "Sale", ID: "list", Field: "Sale", Value: `"oops"`}},
		{name: "SaleLine is a number", body: `{"Sale":` + saleJSON("7", `,"SaleLines":{"SaleLine":5}`) + `}`,
			want: pos.DataError{Resource: "Sale", ID: "7", Field: "SaleLines.SaleLine", Value: `5`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := decodePage([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			_, err = decodeSales(p.Sale)
			var de *pos.DataError
			if !errors.As(err, &de) {
				t.Fatalf("got %v, want a DataError", err)
			}
			got := *de
			got.Err = nil
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if !strings.Contains(err.Error(), tc.wantInMsg) {
				t.Errorf("message %q lacks %q", err, tc.wantInMsg)
			}
		})
	}
	if _, err := decodePage([]byte(`{"Sale":[{"saleID":"1"`)); !errors.As(err, new(*pos.SyntaxError)) {
		t.Errorf("truncated body: %v, want a pos.SyntaxError", err)
	}
}

func TestParseNext(t *testing.T) {
	t.Parallel()
	c := &Client{account: "5"}
	c.base, _ = parseBase("https://api.example.com/root")
	tests := []struct {
		next string
		ok   bool
	}{
		{"https://api.example.com/root/API/V3/Account/5/Sale.json?after=WzEwNV0%3D&limit=100", true},
		{"HTTPS://API.EXAMPLE.COM/root/API/V3/Account/5/Sale.json?after=x", true},
		{"http://api.example.com/root/API/V3/Account/5/Sale.json", false},
		{"https://evil.example.com/root/API/V3/Account/5/Sale.json", false},
		{"https://api.example.com/root/API/V3/Account/6/Sale.json", false},
		{"https://user:pw@api.example.com/root/API/V3/Account/5/Sale.json", false},
		{"/root/API/V3/Account/5/Sale.json", false},
		{"https://api.example.com/other/API/V3/Account/5/Sale.json", false},
		{"::", false},
	}
	for _, tc := range tests {
		u, err := c.parseNext(tc.next)
		if (err == nil) != tc.ok {
			t.Errorf("parseNext(%q) = %v, %v; want ok=%v", tc.next, u, err, tc.ok)
		}
		if err == nil && !strings.EqualFold(u.String(), tc.next) {
			t.Errorf("parseNext(%q) changed the URL to %q", tc.next, u)
		}
	}
}
