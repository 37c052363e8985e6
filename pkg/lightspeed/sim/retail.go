package sim

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// This file serves the R-Series API V3 under /API/V3/.

func (s *Server) retailRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /API/V3/Account.json", s.api(s.accountJSON))
	mux.HandleFunc("GET /API/V3/Account/{accountID}/{resource}", s.api(s.listJSON))
	mux.HandleFunc("GET /API/V3/Account/{accountID}/Sale/{file}", s.api(s.saleJSON))
}

// apiHandler serves one authenticated API request for an account; it returns the status and
// body to write, which the wrapper encodes after the X-LS headers are set.
type apiHandler func(r *http.Request, acct *accountData) (int, any)

// lsError is the API's error body.
func lsError(status int, msg string) map[string]string {
	return map[string]string{"httpCode": strconv.Itoa(status), "httpMessage": http.StatusText(status), "message": msg, "errorClass": errorClass(status)}
}

func errorClass(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "RateLimitException"
	case http.StatusNotFound:
		return "NotFoundException"
	case http.StatusForbidden:
		return "ForbiddenException"
	}
	return "Exception"
}

// api authenticates the request, charges the account's bucket and sets the X-LS-* headers,
// which every API response carries, refusals included.
func (s *Server) api(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ray := randomToken("", 8) + "-SIM"
		info, hint, ok := s.oauth.authenticate(r)
		if !ok {
			w.Header()["Cf-Ray"] = []string{ray}
			unauthorized(w, hint)
			return
		}
		s.store.mu.RLock()
		acct, err := s.store.account(info.accountID)
		registers := 0
		if err == nil {
			registers = acct.registerN // a register added later grows the bucket
		}
		s.store.mu.RUnlock()
		if err != nil {
			unauthorized(w, "Access token could not be verified")
			return
		}
		cost := 1.0
		if r.URL.Query().Get("count") == "1" {
			cost = 10
		}
		v := s.limits.take(bucketKey{accountID: acct.ID, clientID: info.clientID}, registers, cost)
		v.setHeaders(w.Header(), info, ray)
		if v.limitType != "" {
			s.counts.limited(endpointOf(r))
			msg := "Rate limit exceeded: leaky bucket is full"
			if v.limitType == "api-burst-limiter" {
				msg = "burst rate limit exceeded"
			}
			writeJSON(w, http.StatusTooManyRequests, lsError(http.StatusTooManyRequests, msg))
			return
		}
		if id := r.PathValue("accountID"); id != "" && id != strconv.FormatInt(acct.ID, 10) {
			writeJSON(w, http.StatusForbidden, lsError(http.StatusForbidden, "The access token is not valid for account "+id))
			return
		}
		status, body := h(r, acct)
		writeJSON(w, status, body)
	}
}

type attributes struct {
	Count    string  `json:"count,omitempty"`
	Next     *string `json:"next,omitempty"`
	Previous *string `json:"previous,omitempty"`
}

func (s *Server) accountJSON(_ *http.Request, a *accountData) (int, any) {
	return http.StatusOK, map[string]any{
		"@attributes": attributes{Count: "1"},
		"Account": map[string]any{
			"accountID": strconv.FormatInt(a.ID, 10),
			"name":      a.Name,
			"link":      map[string]any{"@attributes": map[string]string{"href": "/API/Account/" + strconv.FormatInt(a.ID, 10)}},
		},
	}
}

func (s *Server) listJSON(r *http.Request, a *accountData) (int, any) {
	// The listing runs under the read lock: a sale or register changed meanwhile waits for it,
	// so one page is one consistent view; between pages anything may change.
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	switch r.PathValue("resource") {
	case "Sale.json":
		return listResource(s, r, &saleResource, a.sales, saleRelations, func(sale *Sale, rel map[string]bool) any { return renderSale(sale, rel["SaleLines"]) })
	case "Shop.json":
		shops := make([]*Shop, len(a.Shops))
		for i := range a.Shops {
			shops[i] = &a.Shops[i]
		}
		return listResource(s, r, &shopResource, shops, nil, func(sh *Shop, _ map[string]bool) any { return renderShop(sh) })
	case "Register.json":
		var regs []*Register
		for i := range a.Shops {
			for j := range a.Shops[i].Registers {
				regs = append(regs, &a.Shops[i].Registers[j])
			}
		}
		return listResource(s, r, &registerResource, regs, nil, func(rg *Register, _ map[string]bool) any { return renderRegister(rg) })
	}
	return http.StatusNotFound, lsError(http.StatusNotFound, "Unknown resource "+r.PathValue("resource"))
}

// listResource runs a list query and shapes the body with the API's quirks: a single record is
// an object, an empty result has no resource key, and paging URLs are absolute.
func listResource[T any](s *Server, r *http.Request, res *resource[T], recs []T, relations []string, render func(T, map[string]bool) any) (int, any) {
	lq, err := res.parseQuery(r.URL.Query(), relations)
	if err != nil {
		var ae *apiError
		errors.As(err, &ae) // parseQuery's errors are all *apiError
		return ae.status, lsError(ae.status, ae.Error())
	}
	p := res.run(recs, lq)
	body := map[string]any{}
	if lq.count {
		body["@attributes"] = attributes{Count: strconv.Itoa(p.count)}
		return http.StatusOK, body
	}
	base := s.publicBase(r) + r.URL.Path
	next, prev := pageURL(base, lq.params, "after", p.next), pageURL(base, lq.params, "before", p.previous)
	body["@attributes"] = attributes{Next: &next, Previous: &prev}
	switch len(p.records) {
	case 0:
	case 1:
		body[res.name] = render(p.records[0], lq.relations)
	default:
		out := make([]any, len(p.records))
		for i, rec := range p.records {
			out[i] = render(rec, lq.relations)
		}
		body[res.name] = out
	}
	return http.StatusOK, body
}

func (s *Server) saleJSON(r *http.Request, a *accountData) (int, any) {
	idText, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil {
		return http.StatusNotFound, lsError(http.StatusNotFound, "Not a sale: "+r.PathValue("file"))
	}
	lq, err := saleResource.parseQuery(r.URL.Query(), saleRelations)
	if err != nil {
		return http.StatusBadRequest, lsError(http.StatusBadRequest, err.Error())
	}
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	sale, ok := a.saleByID[id]
	if !ok {
		return http.StatusNotFound, lsError(http.StatusNotFound, fmt.Sprintf("Sale with ID %d not found", id))
	}
	return http.StatusOK, map[string]any{"@attributes": attributes{Count: "1"}, "Sale": renderSale(sale, lq.relations["SaleLines"])}
}

func intValue(i int64) value { return value{i: i} }

var saleResource = resource[*Sale]{
	name: "Sale", idField: "saleID",
	id: func(s *Sale) int64 { return s.ID },
	fields: map[string]field[*Sale]{
		"saleID":     {kindInt, func(s *Sale) value { return intValue(s.ID) }},
		"shopID":     {kindInt, func(s *Sale) value { return intValue(s.ShopID) }},
		"registerID": {kindInt, func(s *Sale) value { return intValue(s.RegisterID) }},
		"employeeID": {kindInt, func(s *Sale) value { return intValue(s.EmployeeID) }},
		"customerID": {kindInt, func(*Sale) value { return intValue(0) }},
		"completed":  {kindBool, func(s *Sale) value { return value{b: s.Completed} }},
		"voided":     {kindBool, func(s *Sale) value { return value{b: s.Voided} }},
		"archived":   {kindBool, func(s *Sale) value { return value{b: s.Archived} }},
		"completeTime": {kindTime, func(s *Sale) value {
			return value{t: s.CompleteTime, null: s.CompleteTime.IsZero()}
		}},
		"createTime": {kindTime, func(s *Sale) value { return value{t: s.CreateTime} }},
		"timeStamp":  {kindTime, func(s *Sale) value { return value{t: s.TimeStamp} }},
		"updatetime": {kindTime, func(s *Sale) value { return value{t: s.TimeStamp} }},
	},
	sorts: []string{"saleID", "timeStamp", "completeTime", "updatetime"},
}

var shopResource = resource[*Shop]{
	name: "Shop", idField: "shopID",
	id: func(s *Shop) int64 { return s.ID },
	fields: map[string]field[*Shop]{
		"shopID":    {kindInt, func(s *Shop) value { return intValue(s.ID) }},
		"name":      {kindString, func(s *Shop) value { return value{s: s.Name} }},
		"archived":  {kindBool, func(*Shop) value { return value{} }},
		"timeStamp": {kindTime, func(s *Shop) value { return value{t: s.TimeStamp} }},
	},
	sorts: []string{"shopID", "name", "timeStamp"},
}

var registerResource = resource[*Register]{
	name: "Register", idField: "registerID",
	id: func(r *Register) int64 { return r.ID },
	fields: map[string]field[*Register]{
		"registerID": {kindInt, func(r *Register) value { return intValue(r.ID) }},
		"shopID":     {kindInt, func(r *Register) value { return intValue(r.ShopID) }},
		"name":       {kindString, func(r *Register) value { return value{s: r.Name} }},
		"archived":   {kindBool, func(*Register) value { return value{} }},
		"timeStamp":  {kindTime, func(r *Register) value { return value{t: r.TimeStamp} }},
	},
	sorts: []string{"registerID", "name", "timeStamp"},
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func btoa(b bool) string { return strconv.FormatBool(b) }

func renderShop(s *Shop) any {
	return map[string]string{
		"shopID": itoa(s.ID), "name": s.Name, "serviceRate": "0", "timeZone": s.TimeZone, "taxLabor": "false",
		"labelTitle": "Shop Name", "labelMsrp": "false", "archived": "false", "timeStamp": formatTime(s.TimeStamp),
		"companyRegistrationNumber": "", "vatNumber": "", "zebraBrowserPrint": "false", "contactID": itoa(s.ID),
		"taxCategoryID": "1", "receiptSetupID": "1", "ccGatewayID": "0", "gatewayConfigID": "", "priceLevelID": "1",
	}
}

func renderRegister(r *Register) any {
	return map[string]string{
		"registerID": itoa(r.ID), "name": r.Name, "open": "false", "openTime": "", "openEmployeeID": "0",
		"requirePasswordForSale": "false", "archived": "false", "tipEnabled": "false", "timeStamp": formatTime(r.TimeStamp),
		"shopID": itoa(r.ShopID), "ccTerminalID": "0", "cashDrawerID": "0",
	}
}

// saleJSON is a sale on the wire: every scalar a string, in the order of the docs' samples.
type saleJSON struct {
	SaleID                string `json:"saleID"`
	TimeStamp             string `json:"timeStamp"`
	DiscountPercent       string `json:"discountPercent"`
	Completed             string `json:"completed"`
	Archived              string `json:"archived"`
	Voided                string `json:"voided"`
	EnablePromotions      string `json:"enablePromotions"`
	IsTaxInclusive        string `json:"isTaxInclusive"`
	CreateTime            string `json:"createTime"`
	UpdateTime            string `json:"updatetime"`
	CompleteTime          string `json:"completeTime,omitempty"`
	ReferenceNumber       string `json:"referenceNumber"`
	ReferenceNumberSource string `json:"referenceNumberSource"`
	Tax1Rate              string `json:"tax1Rate"`
	Tax2Rate              string `json:"tax2Rate"`
	Change                string `json:"change"`
	ReceiptPreference     string `json:"receiptPreference"`
	DisplayableSubtotal   string `json:"displayableSubtotal"`
	TicketNumber          string `json:"ticketNumber"`
	CalcDiscount          string `json:"calcDiscount"`
	CalcTotal             string `json:"calcTotal"`
	CalcSubtotal          string `json:"calcSubtotal"`
	CalcTaxable           string `json:"calcTaxable"`
	CalcNonTaxable        string `json:"calcNonTaxable"`
	CalcAvgCost           string `json:"calcAvgCost"`
	CalcFIFOCost          string `json:"calcFIFOCost"`
	CalcTax1              string `json:"calcTax1"`
	CalcTax2              string `json:"calcTax2"`
	CalcPayments          string `json:"calcPayments"`
	CalcTips              string `json:"calcTips"`
	Total                 string `json:"total"`
	TotalDue              string `json:"totalDue"`
	DisplayableTotal      string `json:"displayableTotal"`
	Balance               string `json:"balance"`
	CustomerID            string `json:"customerID"`
	DiscountID            string `json:"discountID"`
	EmployeeID            string `json:"employeeID"`
	QuoteID               string `json:"quoteID"`
	RegisterID            string `json:"registerID"`
	ShipToID              string `json:"shipToID"`
	ShopID                string `json:"shopID"`
	TaxCategoryID         string `json:"taxCategoryID"`
	TipEmployeeID         string `json:"tipEmployeeID"`
	TaxTotal              string `json:"taxTotal"`
	// SaleLines is {"SaleLine": line} for one line, {"SaleLine": [lines]} for several.
	SaleLines any `json:"SaleLines,omitempty"`
}

type saleLineJSON struct {
	SaleLineID              string `json:"saleLineID"`
	CreateTime              string `json:"createTime"`
	TimeStamp               string `json:"timeStamp"`
	UnitQuantity            string `json:"unitQuantity"`
	UnitPrice               string `json:"unitPrice"`
	NormalUnitPrice         string `json:"normalUnitPrice"`
	DiscountAmount          string `json:"discountAmount"`
	DiscountPercent         string `json:"discountPercent"`
	AvgCost                 string `json:"avgCost"`
	FifoCost                string `json:"fifoCost"`
	Tax                     string `json:"tax"`
	Tax1Rate                string `json:"tax1Rate"`
	Tax2Rate                string `json:"tax2Rate"`
	IsLayaway               string `json:"isLayaway"`
	IsWorkorder             string `json:"isWorkorder"`
	IsSpecialOrder          string `json:"isSpecialOrder"`
	DisplayableSubtotal     string `json:"displayableSubtotal"`
	DisplayableUnitPrice    string `json:"displayableUnitPrice"`
	CalcLineDiscount        string `json:"calcLineDiscount"`
	CalcTransactionDiscount string `json:"calcTransactionDiscount"`
	CalcTotal               string `json:"calcTotal"`
	CalcSubtotal            string `json:"calcSubtotal"`
	CalcTax1                string `json:"calcTax1"`
	CalcTax2                string `json:"calcTax2"`
	TaxClassID              string `json:"taxClassID"`
	CustomerID              string `json:"customerID"`
	DiscountID              string `json:"discountID"`
	EmployeeID              string `json:"employeeID"`
	ItemID                  string `json:"itemID"`
	NoteID                  string `json:"noteID"`
	ParentSaleLineID        string `json:"parentSaleLineID"`
	ShopID                  string `json:"shopID"`
	SaleID                  string `json:"saleID"`
}

// renderSale renders a sale with every scalar as a string. Open sales have no completeTime key.
func renderSale(s *Sale, lines bool) any {
	var sub, disc, t1, t2, total decimal.Decimal
	for _, l := range s.Lines {
		sub = sub.Add(l.CalcSubtotal)
		disc = disc.Add(l.CalcLineDiscount).Add(l.CalcTransactionDiscount)
		t1 = t1.Add(l.CalcTax1)
		t2 = t2.Add(l.CalcTax2)
		total = total.Add(l.CalcTotal)
	}
	payments := decimal.Zero
	if s.Completed && !s.Voided {
		payments = total
	}
	out := &saleJSON{
		SaleID: itoa(s.ID), TimeStamp: formatTime(s.TimeStamp), DiscountPercent: s.DiscountPercent.String(),
		Completed: btoa(s.Completed), Archived: btoa(s.Archived), Voided: btoa(s.Voided),
		EnablePromotions: "true", IsTaxInclusive: btoa(s.TaxInclusive),
		CreateTime: formatTime(s.CreateTime), UpdateTime: formatTime(s.TimeStamp),
		Tax1Rate: s.Tax1Rate.String(), Tax2Rate: s.Tax2Rate.String(), Change: "0",
		ReceiptPreference: "printed", DisplayableSubtotal: sub.Sub(disc).String(),
		TicketNumber: fmt.Sprintf("22%010d", s.ID),
		CalcDiscount: disc.String(), CalcTotal: total.String(), CalcSubtotal: sub.String(),
		CalcTaxable: sub.Sub(disc).String(), CalcNonTaxable: "0", CalcAvgCost: "0", CalcFIFOCost: "0",
		CalcTax1: t1.String(), CalcTax2: t2.String(), CalcPayments: payments.String(), CalcTips: "0",
		Total: total.String(), TotalDue: total.String(), DisplayableTotal: total.String(),
		Balance: total.Sub(payments).String(), TaxTotal: t1.Add(t2).String(),
		CustomerID: "0", DiscountID: "0", EmployeeID: itoa(s.EmployeeID), QuoteID: "0",
		RegisterID: itoa(s.RegisterID), ShipToID: "0", ShopID: itoa(s.ShopID), TaxCategoryID: "1", TipEmployeeID: "0",
	}
	if !s.CompleteTime.IsZero() {
		out.CompleteTime = formatTime(s.CompleteTime)
	}
	if lines && len(s.Lines) > 0 {
		ls := make([]saleLineJSON, len(s.Lines))
		for i := range s.Lines {
			ls[i] = renderLine(s, &s.Lines[i])
		}
		if len(ls) == 1 {
			out.SaleLines = map[string]any{"SaleLine": ls[0]}
		} else {
			out.SaleLines = map[string]any{"SaleLine": ls}
		}
	}
	return out
}

func renderLine(s *Sale, l *SaleLine) saleLineJSON {
	unit := l.UnitPrice.String()
	return saleLineJSON{
		SaleLineID: itoa(l.ID), CreateTime: formatTime(s.CreateTime), TimeStamp: formatTime(s.TimeStamp),
		UnitQuantity: l.UnitQuantity.String(), UnitPrice: unit, NormalUnitPrice: unit,
		DiscountAmount: l.DiscountAmount.String(), DiscountPercent: l.DiscountPercent.String(),
		AvgCost: "0", FifoCost: "0", Tax: btoa(!l.CalcTax1.IsZero() || !l.CalcTax2.IsZero()),
		Tax1Rate: s.Tax1Rate.String(), Tax2Rate: s.Tax2Rate.String(),
		IsLayaway: "false", IsWorkorder: "false", IsSpecialOrder: "false",
		DisplayableSubtotal: l.CalcSubtotal.Sub(l.CalcLineDiscount).String(), DisplayableUnitPrice: unit,
		CalcLineDiscount: l.CalcLineDiscount.String(), CalcTransactionDiscount: l.CalcTransactionDiscount.String(),
		CalcTotal: l.CalcTotal.String(), CalcSubtotal: l.CalcSubtotal.String(),
		CalcTax1: l.CalcTax1.String(), CalcTax2: l.CalcTax2.String(),
		TaxClassID: "1", CustomerID: "0", DiscountID: "0", EmployeeID: itoa(s.EmployeeID),
		ItemID: itoa(l.ItemID), NoteID: "0", ParentSaleLineID: itoa(l.ParentID), ShopID: itoa(s.ShopID),
		SaleID: itoa(s.ID),
	}
}
