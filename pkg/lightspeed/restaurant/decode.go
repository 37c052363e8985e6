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
	// TaxAmount is the line's tax total (taxAmount); zero when the API sends none.
	TaxAmount decimal.Decimal
	// TaxExclusive is set when the line's taxLines say taxIncluded: false, the mark of a
	// tax-exclusive business (e.g. in the US), whose prices do not include the tax. The docs
	// reserve totalNetAmountWithTax for tax-inclusive businesses and point the others to
	// taxAmount and taxLines.
	TaxExclusive bool
}

// Gross is the line's amount including tax: totalNetAmountWithTax at a tax-inclusive
// business, totalNetAmountWithoutTax + taxAmount at a tax-exclusive one.
func (l SaleLine) Gross() decimal.Decimal {
	if l.TaxExclusive {
		return l.TotalNetAmountWithoutTax.Add(l.TaxAmount)
	}
	return l.TotalNetAmountWithTax
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
	TaxAmount                json.RawMessage `json:"taxAmount"`
	TaxLines                 json.RawMessage `json:"taxLines"`
}

type taxLineWire struct {
	TaxIncluded json.RawMessage `json:"taxIncluded"`
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
	err      *pos.DataError
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

// salesPage is one decoded page of sales: the well-formed sales, the malformed ones, and the
// next page token ("" on the last page).
type salesPage struct {
	sales []Sale
	bad   []badSale
	token string
}

// badSale is a malformed sale, with its device and close time when those could be read
// (attributable), so that it concerns one device's day rather than the whole page.
type badSale struct {
	deviceID int64
	closed   time.Time
	err      *pos.DataError
}

// attributable reports whether the sale's device and close time are known.
func (b badSale) attributable() bool { return b.deviceID > 0 && !b.closed.IsZero() }

// decodeSalesPage decodes a sales page. A body that is not JSON (truncated) is a
// [*pos.SyntaxError], a page of the wrong shape a [*pos.DataError]; a malformed sale does not
// fail the page but is returned among the bad ones, attributed where the wire allows it.
func decodeSalesPage(body []byte) (salesPage, error) {
	if p, ok := decodeSalesPageFast(body); ok {
		return p, nil
	}
	return decodeSalesPageSlowly(body)
}

// decodeSalesPageSlowly decodes a page sale by sale, to tell the malformed ones apart.
func decodeSalesPageSlowly(body []byte) (salesPage, error) {
	var w struct {
		Sales         []json.RawMessage `json:"sales"`
		NextPageToken json.RawMessage   `json:"nextPageToken"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		if !json.Valid(body) {
			return salesPage{}, &pos.SyntaxError{Err: err}
		}
		return salesPage{}, &pos.DataError{Resource: "Sale", ID: "page", Field: "sales", Value: shown(body), Err: err}
	}
	r := reader{id: "page"}
	p := salesPage{token: r.str("nextPageToken", w.NextPageToken)}
	if r.err != nil {
		return salesPage{}, r.err
	}
	p.sales = make([]Sale, 0, len(w.Sales))
	for i, raw := range w.Sales {
		s, bad := decodeSale(raw, i)
		if bad != nil {
			p.bad = append(p.bad, *bad)
			continue
		}
		p.sales = append(p.sales, s)
	}
	return p, nil
}

// decodeSalesPageFast decodes a well-formed page in one pass; anything it cannot take (a
// malformed page or sale) is left to the sale-by-sale path, which also words the errors.
func decodeSalesPageFast(body []byte) (salesPage, bool) {
	var w struct {
		Sales []struct {
			saleWire
			// SalesLines shadows saleWire's: the lines, and their taxLines, decode in the same
			// pass.
			SalesLines []struct {
				lineWire
				TaxLines []taxLineWire `json:"taxLines"`
			} `json:"salesLines"`
		} `json:"sales"`
		NextPageToken *string `json:"nextPageToken"`
	}
	if json.Unmarshal(body, &w) != nil {
		return salesPage{}, false
	}
	p := salesPage{sales: make([]Sale, 0, len(w.Sales))}
	var lines []lineWire
	var taxLines [][]taxLineWire
	for i := range w.Sales {
		lines, taxLines = lines[:0], taxLines[:0]
		for _, l := range w.Sales[i].SalesLines {
			lines = append(lines, l.lineWire)
			taxLines = append(taxLines, l.TaxLines)
		}
		s, bad := convertSale(&w.Sales[i].saleWire, lines, taxLines, i)
		if bad != nil {
			return salesPage{}, false
		}
		p.sales = append(p.sales, s)
	}
	if w.NextPageToken != nil {
		p.token = *w.NextPageToken
	}
	return p, true
}

// decodeSale decodes one sale of a page; a malformed one comes back as a badSale.
func decodeSale(raw json.RawMessage, i int) (Sale, *badSale) {
	var w saleWire
	if err := json.Unmarshal(raw, &w); err != nil {
		// Not even an object: nothing tells whose sale it is.
		return Sale{}, &badSale{err: &pos.DataError{Resource: "Sale", ID: "#" + strconv.Itoa(i), Field: "sale", Value: shown(raw), Err: err}}
	}
	var lines []lineWire
	if len(w.SalesLines) > 0 && string(w.SalesLines) != "null" {
		var raws []json.RawMessage
		if w.SalesLines[0] != '[' || json.Unmarshal(w.SalesLines, &raws) != nil {
			return Sale{}, attribute(&w, &pos.DataError{Resource: "Sale", ID: saleLabel(&w, i), Field: "salesLines", Value: shown(w.SalesLines), Err: errArray})
		}
		lines = make([]lineWire, len(raws))
		for j, lraw := range raws {
			if err := json.Unmarshal(lraw, &lines[j]); err != nil {
				return Sale{}, attribute(&w, &pos.DataError{Resource: "Sale", ID: saleLabel(&w, i), LineID: "#" + strconv.Itoa(j), Field: "salesLine", Value: shown(lraw), Err: err})
			}
		}
	}
	return convertSale(&w, lines, nil, i)
}

// attribute pairs a sale's data error with its device and close time, where those fields are
// themselves readable.
func attribute(w *saleWire, err *pos.DataError) *badSale {
	r := reader{}
	b := &badSale{err: err, deviceID: r.int("deviceId", w.DeviceID), closed: r.time("timeClosed", w.TimeClosed)}
	if r.err != nil || b.deviceID <= 0 {
		b.deviceID, b.closed = 0, time.Time{}
	}
	return b
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

// convertSale converts a sale's wire form. taxLines holds each line's decoded taxLines when
// the one-pass decoder read them; nil has convertLine read them from the line's raw field.
func convertSale(w *saleWire, lines []lineWire, taxLines [][]taxLineWire, i int) (Sale, *badSale) {
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
		return Sale{}, attribute(w, r.err)
	}
	for j := range lines {
		var tls []taxLineWire
		if taxLines != nil {
			tls = taxLines[j]
		}
		l, err := convertLine(&lines[j], tls, taxLines != nil, label, j)
		if err != nil {
			return Sale{}, attribute(w, err)
		}
		s.Lines = append(s.Lines, l)
	}
	return s, nil
}

func convertLine(lw *lineWire, tls []taxLineWire, decoded bool, label string, j int) (SaleLine, *pos.DataError) {
	lr := reader{id: label, line: "#" + strconv.Itoa(j)}
	if id, ok := text(lw.ID); ok && id != "" {
		lr.line = id
	}
	l := SaleLine{
		ID:                       lr.str("id", lw.ID),
		Quantity:                 lr.decimal("quantity", lw.Quantity, false),
		TotalNetAmountWithTax:    lr.decimal("totalNetAmountWithTax", lw.TotalNetAmountWithTax, false),
		TotalNetAmountWithoutTax: lr.decimal("totalNetAmountWithoutTax", lw.TotalNetAmountWithoutTax, false),
		TotalDiscountAmount:      lr.decimal("totalDiscountAmount", lw.TotalDiscountAmount, true),
	}
	if !decoded {
		tls = lr.taxLines(lw.TaxLines)
	}
	l.TaxExclusive = lr.taxExclusive(tls)
	// A tax-exclusive line's gross needs its tax; elsewhere the tax is informative.
	l.TaxAmount = lr.decimal("taxAmount", lw.TaxAmount, !l.TaxExclusive)
	return l, lr.err
}

// taxLines reads a line's raw taxLines: an array of objects, or absent.
func (r *reader) taxLines(raw json.RawMessage) []taxLineWire {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var tls []taxLineWire
	if raw[0] != '[' || json.Unmarshal(raw, &tls) != nil {
		r.fail("taxLines", raw, errArray)
		return nil
	}
	return tls
}

// taxExclusive reads a line's taxLines: true when they say taxIncluded: false ("whether or not
// the business is tax inclusive"), false when they say true, are empty (as in the docs'
// tax-inclusive example) or absent. Lines that say both are refused: their gross is unknown.
func (r *reader) taxExclusive(tls []taxLineWire) bool {
	included, excluded := false, false
	for _, tl := range tls {
		switch string(tl.TaxIncluded) {
		case "", "null":
		case "true":
			included = true
		case "false":
			excluded = true
		default:
			r.fail("taxLines.taxIncluded", tl.TaxIncluded, errBoolean)
			return false
		}
	}
	if included && excluded {
		r.fail("taxLines.taxIncluded", json.RawMessage("true and false"), errors.New("both true and false on one line"))
		return false
	}
	return excluded
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
