package restaurant

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/pos"
)

// Sale is a K-Series sale (an "account") as the client reads it: the fields posimport uses,
// typed.
type Sale struct {
	// FiscID is the accountFiscId ("A65315.17"); Reference the accountReference.
	FiscID    string
	Reference string
	// Type is SALE, REFUND, VOID, SPLIT, TRANSFER, …
	Type       string
	Cancelled  bool
	TimeClosed time.Time
	DeviceID   int64
	DeviceName string
	// NbCovers is the number of guests; zero when the API sends none.
	NbCovers decimal.Decimal
	// InitialAccountID names the sale a refund or void undoes.
	InitialAccountID string
	Lines            []SaleLine
}

// SaleLine is one line of a sale.
type SaleLine struct {
	ID                       string
	Quantity                 decimal.Decimal
	TotalNetAmountWithTax    decimal.Decimal
	TotalNetAmountWithoutTax decimal.Decimal
	TotalDiscountAmount      decimal.Decimal
}

// Label names the sale in logs and errors: its accountFiscId, else its accountReference.
func (s Sale) Label() string {
	if s.FiscID != "" {
		return s.FiscID
	}
	return s.Reference
}

// The wire forms keep every field raw, so that a value of the wrong kind becomes an error
// naming the sale and field rather than failing the page.
type salesPage struct {
	Sales         []json.RawMessage `json:"sales"`
	NextPageToken json.RawMessage   `json:"nextPageToken"`
}

type saleWire struct {
	AccountReference json.RawMessage `json:"accountReference"`
	AccountFiscID    json.RawMessage `json:"accountFiscId"`
	Type             json.RawMessage `json:"type"`
	Cancelled        json.RawMessage `json:"cancelled"`
	TimeClosed       json.RawMessage `json:"timeClosed"`
	DeviceID         json.RawMessage `json:"deviceId"`
	DeviceName       json.RawMessage `json:"deviceName"`
	NbCovers         json.RawMessage `json:"nbCovers"`
	Source           json.RawMessage `json:"source"`
	SalesLines       json.RawMessage `json:"salesLines"`
}

type lineWire struct {
	ID                       json.RawMessage `json:"id"`
	Quantity                 json.RawMessage `json:"quantity"`
	TotalNetAmountWithTax    json.RawMessage `json:"totalNetAmountWithTax"`
	TotalNetAmountWithoutTax json.RawMessage `json:"totalNetAmountWithoutTax"`
	TotalDiscountAmount      json.RawMessage `json:"totalDiscountAmount"`
}

var (
	errMissing = errors.New("missing")
	errKind    = errors.New("not a scalar")
	errDecimal = errors.New("not a plain decimal number")
	errInteger = errors.New("not an integer")
	errID      = errors.New("not a positive id")
	errBoolean = errors.New("not a boolean")
	errTime    = errors.New("not an ISO 8601 UTC time")
	// A default value some systems send for "no time"; it is also what absent decodes to.
	errZeroTime = errors.New("the zero time, not a time a sale closed")
	errArray    = errors.New("not an array")
)

// reader converts one record's raw fields and keeps the first error.
type reader struct {
	id, line string
	err      error
}

func (r *reader) fail(field string, raw json.RawMessage, err error) {
	if r.err == nil {
		r.err = &pos.DataError{Resource: "Sale", ID: r.id, LineID: r.line, Field: field, Value: shown(raw), Err: err}
	}
}

func shown(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "nothing"
	}
	if len(raw) > 40 {
		return string(raw[:40]) + "…"
	}
	return string(raw)
}

// text returns a scalar's text: a string's content, or a number's or boolean's literal. ok is
// false for null, absent, objects and arrays.
func text(raw json.RawMessage) (s string, ok bool) {
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", false
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false
		}
		return s, true
	case raw[0] == '{' || raw[0] == '[':
		return "", false
	}
	return string(raw), true
}

func (r *reader) scalar(field string, raw json.RawMessage, optional bool) (string, bool) {
	s, ok := text(raw)
	switch {
	case ok:
		return s, true
	case len(raw) == 0 || string(raw) == "null":
		if !optional {
			r.fail(field, raw, errMissing)
		}
	default:
		r.fail(field, raw, errKind)
	}
	return "", false
}

func (r *reader) str(field string, raw json.RawMessage) string {
	s, _ := r.scalar(field, raw, true)
	return s
}

// decimal reads a plain decimal ("-11.00", 2.0); exponents are refused, since "1e999999" would
// make later arithmetic allocate without bound. Optional ones are zero when absent.
func (r *reader) decimal(field string, raw json.RawMessage, optional bool) decimal.Decimal {
	s, ok := r.scalar(field, raw, optional)
	if !ok {
		return decimal.Zero
	}
	if !plainDecimal(s) {
		r.fail(field, raw, errDecimal)
		return decimal.Zero
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		r.fail(field, raw, errDecimal)
	}
	return d
}

func plainDecimal(s string) bool {
	if len(s) == 0 || len(s) > 40 {
		return false
	}
	s = strings.TrimPrefix(s, "-")
	digits := 0
	for i, dot := 0, false; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

func (r *reader) int(field string, raw json.RawMessage) int64 {
	s, ok := r.scalar(field, raw, false)
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		r.fail(field, raw, errInteger)
	}
	return n
}

func (r *reader) bool(field string, raw json.RawMessage) bool {
	switch string(raw) {
	case "true":
		return true
	case "false":
		return false
	}
	r.fail(field, raw, errBoolean)
	return false
}

// time reads a UTC timestamp such as 2023-02-14T20:04:08.734Z (any offset is accepted and
// converted).
func (r *reader) time(field string, raw json.RawMessage) time.Time {
	s, ok := r.scalar(field, raw, false)
	if !ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	switch {
	case err != nil:
		r.fail(field, raw, errTime)
	case t.IsZero():
		r.fail(field, raw, errZeroTime)
	}
	return t.UTC()
}

// decodeSalesPage decodes a sales page: the sales and the next page token ("" on the last
// page). A body that is not JSON (truncated) is a [*pos.SyntaxError]; a sale of the wrong
// shape a [*pos.DataError] naming it.
func decodeSalesPage(body []byte) ([]Sale, string, error) {
	if sales, token, ok := decodeSalesPageFast(body); ok {
		return sales, token, nil
	}
	return decodeSalesPageSlowly(body)
}

// decodeSalesPageSlowly decodes a page sale by sale, to name the one that is malformed.
func decodeSalesPageSlowly(body []byte) ([]Sale, string, error) {
	var p salesPage
	if err := json.Unmarshal(body, &p); err != nil {
		if !json.Valid(body) {
			return nil, "", &pos.SyntaxError{Err: err}
		}
		return nil, "", &pos.DataError{Resource: "Sale", ID: "page", Field: "sales", Value: shown(body), Err: err}
	}
	r := reader{id: "page"}
	token := r.str("nextPageToken", p.NextPageToken)
	if r.err != nil {
		return nil, "", r.err
	}
	out := make([]Sale, 0, len(p.Sales))
	for i, raw := range p.Sales {
		s, err := decodeSale(raw, i)
		if err != nil {
			return nil, "", err
		}
		out = append(out, s)
	}
	return out, token, nil
}

// decodeSalesPageFast decodes a well-formed page in one pass; anything it cannot take (a
// malformed page or sale) is left to the record-by-record path, which also words the error.
func decodeSalesPageFast(body []byte) ([]Sale, string, bool) {
	var p struct {
		Sales []struct {
			saleWire
			// SalesLines shadows saleWire's: the lines decode in the same pass.
			SalesLines []lineWire `json:"salesLines"`
		} `json:"sales"`
		NextPageToken *string `json:"nextPageToken"`
	}
	if json.Unmarshal(body, &p) != nil {
		return nil, "", false
	}
	out := make([]Sale, 0, len(p.Sales))
	for i := range p.Sales {
		s, err := convertSale(&p.Sales[i].saleWire, p.Sales[i].SalesLines, i)
		if err != nil {
			return nil, "", false
		}
		out = append(out, s)
	}
	token := ""
	if p.NextPageToken != nil {
		token = *p.NextPageToken
	}
	return out, token, true
}

func decodeSale(raw json.RawMessage, i int) (Sale, error) {
	var w saleWire
	if err := json.Unmarshal(raw, &w); err != nil {
		return Sale{}, &pos.DataError{Resource: "Sale", ID: "#" + strconv.Itoa(i), Field: "sale", Value: shown(raw), Err: err}
	}
	var lines []lineWire
	if len(w.SalesLines) > 0 && string(w.SalesLines) != "null" {
		var raws []json.RawMessage
		if w.SalesLines[0] != '[' || json.Unmarshal(w.SalesLines, &raws) != nil {
			return Sale{}, &pos.DataError{Resource: "Sale", ID: saleLabel(&w, i), Field: "salesLines", Value: shown(w.SalesLines), Err: errArray}
		}
		lines = make([]lineWire, len(raws))
		for j, lraw := range raws {
			if err := json.Unmarshal(lraw, &lines[j]); err != nil {
				return Sale{}, &pos.DataError{Resource: "Sale", ID: saleLabel(&w, i), LineID: "#" + strconv.Itoa(j), Field: "salesLine", Value: shown(lraw), Err: err}
			}
		}
	}
	return convertSale(&w, lines, i)
}

// saleLabel names a sale in errors: its accountFiscId, else its accountReference, else its
// position in the page.
func saleLabel(w *saleWire, i int) string {
	if s, ok := text(w.AccountFiscID); ok && s != "" {
		return s
	}
	if s, ok := text(w.AccountReference); ok && s != "" {
		return s
	}
	return "#" + strconv.Itoa(i)
}

func convertSale(w *saleWire, lines []lineWire, i int) (Sale, error) {
	label := saleLabel(w, i)
	r := reader{id: label}
	s := Sale{
		FiscID: r.str("accountFiscId", w.AccountFiscID), Reference: r.str("accountReference", w.AccountReference),
		Cancelled: r.bool("cancelled", w.Cancelled), TimeClosed: r.time("timeClosed", w.TimeClosed),
		DeviceID: r.int("deviceId", w.DeviceID), DeviceName: r.str("deviceName", w.DeviceName),
		NbCovers: r.decimal("nbCovers", w.NbCovers, true),
	}
	if s.Type, _ = r.scalar("type", w.Type, false); s.Type == "" {
		r.fail("type", w.Type, errMissing)
	}
	if s.DeviceID <= 0 {
		r.fail("deviceId", w.DeviceID, errID)
	}
	if len(w.Source) > 0 && string(w.Source) != "null" {
		var src struct {
			InitialAccountID json.RawMessage `json:"initialAccountId"`
		}
		if err := json.Unmarshal(w.Source, &src); err != nil {
			r.fail("source", w.Source, err)
		}
		s.InitialAccountID = r.str("source.initialAccountId", src.InitialAccountID)
	}
	if s.NbCovers.IsNegative() {
		r.fail("nbCovers", w.NbCovers, errors.New("negative"))
	}
	if r.err != nil {
		return Sale{}, r.err
	}
	for j := range lines {
		lw := &lines[j]
		lr := reader{id: label, line: "#" + strconv.Itoa(j)}
		if id, ok := text(lw.ID); ok && id != "" {
			lr.line = id
		}
		s.Lines = append(s.Lines, SaleLine{
			ID:                       lr.str("id", lw.ID),
			Quantity:                 lr.decimal("quantity", lw.Quantity, false),
			TotalNetAmountWithTax:    lr.decimal("totalNetAmountWithTax", lw.TotalNetAmountWithTax, false),
			TotalNetAmountWithoutTax: lr.decimal("totalNetAmountWithoutTax", lw.TotalNetAmountWithoutTax, false),
			TotalDiscountAmount:      lr.decimal("totalDiscountAmount", lw.TotalDiscountAmount, true),
		})
		if lr.err != nil {
			return Sale{}, lr.err
		}
	}
	return s, nil
}

// Business is a business the token gives access to, with its locations.
type Business struct {
	ID        int64
	Name      string
	Currency  string
	Locations []Location
}

// Location is a business location.
type Location struct {
	ID       int64
	Name     string
	Country  string
	TimeZone string
}

type businessesPage struct {
	Embedded struct {
		BusinessList []struct {
			BusinessName      string `json:"businessName"`
			BusinessID        int64  `json:"businessId"`
			CurrencyCode      string `json:"currencyCode"`
			BusinessLocations []struct {
				BLName   string `json:"blName"`
				BLID     int64  `json:"blID"`
				Country  string `json:"country"`
				Timezone string `json:"timezone"`
			} `json:"businessLocations"`
		} `json:"businessList"`
	} `json:"_embedded"`
	Page struct {
		TotalPages int `json:"totalPages"`
		Number     int `json:"number"`
	} `json:"page"`
}

func decodeBusinesses(body []byte) ([]Business, bool, error) {
	var p businessesPage
	if err := json.Unmarshal(body, &p); err != nil {
		if !json.Valid(body) {
			return nil, false, &pos.SyntaxError{Err: err}
		}
		return nil, false, &pos.DataError{Resource: "Business", ID: "page", Field: "businessList", Value: shown(body), Err: err}
	}
	var out []Business
	for _, b := range p.Embedded.BusinessList {
		bb := Business{ID: b.BusinessID, Name: b.BusinessName, Currency: b.CurrencyCode}
		for _, l := range b.BusinessLocations {
			if l.BLID <= 0 {
				return nil, false, &pos.DataError{Resource: "Business", ID: strconv.FormatInt(b.BusinessID, 10), Field: "businessLocations.blID", Value: strconv.FormatInt(l.BLID, 10), Err: errInteger}
			}
			bb.Locations = append(bb.Locations, Location{ID: l.BLID, Name: l.BLName, Country: l.Country, TimeZone: l.Timezone})
		}
		out = append(out, bb)
	}
	return out, p.Page.Number+1 < p.Page.TotalPages, nil
}
