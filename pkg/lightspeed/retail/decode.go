package retail

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/pos"
)

// Sale is a sale as the client reads it: the fields posimport uses, typed.
type Sale struct {
	ID         int64
	ShopID     int64
	RegisterID int64
	Completed  bool
	Voided     bool
	Archived   bool
	// CompleteTime is zero for an open sale.
	CompleteTime time.Time
	TimeStamp    time.Time
	Lines        []SaleLine
}

// SaleLine is one line of a sale.
type SaleLine struct {
	ID int64
	// ParentID is the refunded line of a refund line, else 0.
	ParentID                int64
	UnitQuantity            decimal.Decimal
	CalcSubtotal            decimal.Decimal
	CalcLineDiscount        decimal.Decimal
	CalcTransactionDiscount decimal.Decimal
	CalcTotal               decimal.Decimal
}

// scalar is a JSON value the API sends as a string, but which may come as a number, a boolean or
// null. Decoding never fails on the kind, so that the error can name the record and field.
type scalar struct {
	s    string
	set  bool // present and not null
	bad  bool // an object or array where a scalar belongs
	text bool // was a JSON string
}

// UnmarshalJSON keeps any JSON value; only a string with a bad escape fails.
func (v *scalar) UnmarshalJSON(b []byte) error {
	switch b[0] {
	case 'n':
		*v = scalar{}
	case '{', '[':
		*v = scalar{set: true, bad: true, s: shorten(b)}
	case '"':
		if bytes.IndexByte(b, '\\') < 0 {
			*v = scalar{s: string(b[1 : len(b)-1]), set: true, text: true}
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = scalar{s: s, set: true, text: true}
	default:
		*v = scalar{s: string(b), set: true}
	}
	return nil
}

func shorten(b []byte) string {
	const n = 40
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// shown is the value as an error shows it.
func (v scalar) shown() string {
	switch {
	case !v.set:
		return "nothing"
	case v.bad:
		return v.s
	}
	return strconv.Quote(shorten([]byte(v.s)))
}

var (
	errMissing = errors.New("missing")
	errNotText = errors.New("not a scalar")
	errDecimal = errors.New("not a decimal number")
	errInteger = errors.New("not an integer")
	errBoolean = errors.New("not a boolean")
	errTime    = errors.New("not an RFC 3339 time")
	// A default value some systems send for "no time"; it is also what absent decodes to, so
	// a required time may not be it.
	errZeroTime = errors.New("the zero time, where a time is required")
	errShape    = errors.New("neither an object nor an array")
	maxDecimals = 40
)

// fieldReader converts a record's scalars and keeps the first error.
type fieldReader struct {
	res, id, line string
	err           error
}

func (r *fieldReader) fail(field string, v scalar, err error) {
	if r.err == nil {
		r.err = &pos.DataError{Resource: r.res, ID: r.id, LineID: r.line, Field: field, Value: v.shown(), Err: err}
	}
}

func (r *fieldReader) present(field string, v scalar) bool {
	switch {
	case !v.set:
		r.fail(field, v, errMissing)
	case v.bad:
		r.fail(field, v, errNotText)
	default:
		return true
	}
	return false
}

// decimal reads a plain decimal ("-12.5"); exponents are refused, since a value like "1e999999"
// would make later arithmetic allocate without bound.
func (r *fieldReader) decimal(field string, v scalar) decimal.Decimal {
	if !r.present(field, v) {
		return decimal.Zero
	}
	if !plainDecimal(v.s) {
		r.fail(field, v, errDecimal)
		return decimal.Zero
	}
	d, err := decimal.NewFromString(v.s)
	if err != nil {
		r.fail(field, v, errDecimal)
	}
	return d
}

func plainDecimal(s string) bool {
	if len(s) == 0 || len(s) > maxDecimals {
		return false
	}
	i := 0
	if s[0] == '-' || s[0] == '+' {
		i++
	}
	digits, dot := 0, false
	for ; i < len(s); i++ {
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

func (r *fieldReader) int(field string, v scalar) int64 {
	if !r.present(field, v) {
		return 0
	}
	i, err := strconv.ParseInt(v.s, 10, 64)
	if err != nil {
		r.fail(field, v, errInteger)
	}
	return i
}

func (r *fieldReader) bool(field string, v scalar) bool {
	if !r.present(field, v) {
		return false
	}
	switch v.s {
	case "true", "1":
		return true
	case "false", "0":
		return false
	}
	r.fail(field, v, errBoolean)
	return false
}

// time reads a timestamp; optional ones may be absent or empty.
func (r *fieldReader) time(field string, v scalar, optional bool) time.Time {
	if optional && (!v.set || (v.s == "" && !v.bad)) {
		return time.Time{}
	}
	if !r.present(field, v) {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v.s)
	switch {
	case err != nil:
		r.fail(field, v, errTime)
	case t.IsZero() && !optional:
		r.fail(field, v, errZeroTime)
	}
	return t.UTC()
}

// oneOrMany splits a resource value that is an array of records, a single record, or absent.
func oneOrMany(raw json.RawMessage) ([]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	switch raw[0] {
	case '{':
		return []json.RawMessage{raw}, nil
	case '[':
		var out []json.RawMessage
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, err
		}
		return out, nil
	}
	return nil, errShape
}

// pageBody is a list response.
type pageBody struct {
	Attributes struct {
		Next     scalar `json:"next"`
		Previous scalar `json:"previous"`
		Count    scalar `json:"count"`
	} `json:"@attributes"`
	Sale     records[saleWire] `json:"Sale"`
	Shop     json.RawMessage   `json:"Shop"`
	Register json.RawMessage   `json:"Register"`
	Account  json.RawMessage   `json:"Account"`
}

// decodePage decodes a list response. The fast path rewrites single records as one-element
// arrays and decodes the page in one pass into slices; anything it cannot take (a malformed
// record, an unusual shape) goes the slow way, record by record, which also words the errors.
func decodePage(body []byte) (*pageBody, error) {
	if p, ok := decodePageFast(body); ok {
		return p, nil
	}
	var p pageBody
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, &pos.SyntaxError{Err: err}
	}
	return &p, nil
}

type fastPage struct {
	Attributes struct {
		Next     scalar `json:"next"`
		Previous scalar `json:"previous"`
		Count    scalar `json:"count"`
	} `json:"@attributes"`
	Sale     []fastSale      `json:"Sale"`
	Shop     json.RawMessage `json:"Shop"`
	Register json.RawMessage `json:"Register"`
	Account  json.RawMessage `json:"Account"`
}

type fastSale struct {
	saleWire
	// SaleLines shadows saleWire's: after arrayify the lines are always an array.
	SaleLines *struct {
		SaleLine []lineWire
	} `json:"SaleLines"`
}

func decodePageFast(body []byte) (*pageBody, bool) {
	if !json.Valid(body) {
		return nil, false
	}
	var fp fastPage
	if json.Unmarshal(arrayify(body), &fp) != nil {
		return nil, false
	}
	p := &pageBody{Shop: fp.Shop, Register: fp.Register, Account: fp.Account}
	p.Attributes.Next, p.Attributes.Previous, p.Attributes.Count = fp.Attributes.Next, fp.Attributes.Previous, fp.Attributes.Count
	if fp.Sale != nil {
		p.Sale.items = make([]saleWire, len(fp.Sale))
		for i := range fp.Sale {
			p.Sale.items[i] = fp.Sale[i].saleWire
			if sl := fp.Sale[i].SaleLines; sl != nil {
				p.Sale.items[i].SaleLines = saleLines{lines: records[lineWire]{items: sl.SaleLine}}
			}
		}
	}
	return p, true
}

// arrayify copies a JSON document, writing the value of every "Sale" and "SaleLine" key that is
// an object as a one-element array. It assumes valid JSON.
func arrayify(b []byte) []byte {
	out := make([]byte, 0, len(b)+256)
	var wrapped []bool // per open object or array: whether it closes with an extra ']'
	pending := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '"':
			j := i + 1
			for j < len(b) && b[j] != '"' {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j, len(b)-1)
			out = append(out, b[i:j+1]...)
			if key := string(b[i+1 : j]); key == "Sale" || key == "SaleLine" {
				k := skipSpace(b, j+1)
				if k < len(b) && b[k] == ':' {
					k = skipSpace(b, k+1)
					pending = k < len(b) && b[k] == '{'
				}
			}
			i = j
		case '{', '[':
			w := c == '{' && pending
			if w {
				out = append(out, '[')
			}
			pending = false
			wrapped = append(wrapped, w)
			out = append(out, c)
		case '}', ']':
			out = append(out, c)
			if n := len(wrapped); n > 0 {
				if wrapped[n-1] {
					out = append(out, ']')
				}
				wrapped = wrapped[:n-1]
			}
		default:
			out = append(out, c)
		}
	}
	return out
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// records is a resource value decoded in one pass: one record as an object, several as an
// array, or none. When that fails (a record of the wrong shape), raw keeps the value and the
// slow path (oneOrMany, record by record) finds the culprit for the error.
type records[T any] struct {
	items []T
	raw   json.RawMessage
}

// UnmarshalJSON never fails: a value it cannot take is kept in raw.
func (r *records[T]) UnmarshalJSON(b []byte) error {
	*r = records[T]{}
	switch b[0] {
	case 'n':
		return nil
	case '{':
		var one T
		if json.Unmarshal(b, &one) == nil {
			r.items = []T{one}
			return nil
		}
	case '[':
		if json.Unmarshal(b, &r.items) == nil {
			return nil
		}
	}
	r.items, r.raw = nil, bytes.Clone(b)
	return nil
}

type saleWire struct {
	SaleID       scalar    `json:"saleID"`
	ShopID       scalar    `json:"shopID"`
	RegisterID   scalar    `json:"registerID"`
	Completed    scalar    `json:"completed"`
	Voided       scalar    `json:"voided"`
	Archived     scalar    `json:"archived"`
	CompleteTime scalar    `json:"completeTime"`
	TimeStamp    scalar    `json:"timeStamp"`
	SaleLines    saleLines `json:"SaleLines"`
}

// saleLines is a sale's SaleLines value: {"SaleLine": one or many}, or absent, null or "" for
// none. Another shape is kept in raw for the error.
type saleLines struct {
	lines records[lineWire]
	raw   json.RawMessage
}

// UnmarshalJSON never fails: a value it cannot take is kept in raw.
func (l *saleLines) UnmarshalJSON(b []byte) error {
	*l = saleLines{}
	if string(b) == "null" || string(b) == `""` {
		return nil
	}
	if b[0] == '{' {
		var w struct {
			SaleLine records[lineWire]
		}
		if json.Unmarshal(b, &w) == nil {
			l.lines = w.SaleLine
			return nil
		}
	}
	l.raw = bytes.Clone(b)
	return nil
}

type lineWire struct {
	SaleLineID              scalar `json:"saleLineID"`
	ParentSaleLineID        scalar `json:"parentSaleLineID"`
	UnitQuantity            scalar `json:"unitQuantity"`
	CalcSubtotal            scalar `json:"calcSubtotal"`
	CalcLineDiscount        scalar `json:"calcLineDiscount"`
	CalcTransactionDiscount scalar `json:"calcTransactionDiscount"`
	CalcTotal               scalar `json:"calcTotal"`
}

// decodeSales converts the Sale value of a page.
func decodeSales(rec records[saleWire]) ([]Sale, error) {
	wires, err := saleWires(rec)
	if err != nil {
		return nil, err
	}
	out := make([]Sale, 0, len(wires))
	for i := range wires {
		s, err := convertSale(&wires[i], i)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// saleWires returns the records of a Sale value. The fast path decoded them already; otherwise
// they are decoded record by record, to name the one that is malformed.
func saleWires(rec records[saleWire]) ([]saleWire, error) {
	if rec.raw == nil {
		return rec.items, nil
	}
	items, err := oneOrMany(rec.raw)
	if err != nil {
		return nil, &pos.DataError{Resource: "Sale", ID: "list", Field: "Sale", Value: shorten(rec.raw), Err: err}
	}
	out := make([]saleWire, len(items))
	for i, item := range items {
		if err := json.Unmarshal(item, &out[i]); err != nil {
			return nil, &pos.DataError{Resource: "Sale", ID: "#" + strconv.Itoa(i), Field: "Sale", Value: shorten(item), Err: err}
		}
	}
	return out, nil
}

// label names a record in errors: by its id as sent, or by its position when the id is
// unreadable.
func label(id scalar, i int) string {
	if id.set && !id.bad {
		return shorten([]byte(id.s))
	}
	return "#" + strconv.Itoa(i)
}

func convertSale(w *saleWire, i int) (Sale, error) {
	s, err := convertSaleHead(w, i)
	if err != nil {
		return Sale{}, err
	}
	if s.Lines, err = convertLines(&w.SaleLines, label(w.SaleID, i)); err != nil {
		return Sale{}, err
	}
	return s, nil
}

// convertSaleHead reads a sale's own fields, not its lines.
func convertSaleHead(w *saleWire, i int) (Sale, error) {
	r := fieldReader{res: "Sale", id: label(w.SaleID, i)}
	s := Sale{
		ID:         r.int("saleID", w.SaleID),
		ShopID:     r.int("shopID", w.ShopID),
		RegisterID: r.int("registerID", w.RegisterID),
		Completed:  r.bool("completed", w.Completed),
		Voided:     r.bool("voided", w.Voided),
		Archived:   r.bool("archived", w.Archived),
		TimeStamp:  r.time("timeStamp", w.TimeStamp, false),
	}
	s.CompleteTime = r.time("completeTime", w.CompleteTime, !s.Completed)
	if r.err != nil {
		return Sale{}, r.err
	}
	return s, nil
}

func convertLines(sl *saleLines, saleID string) ([]SaleLine, error) {
	fail := func(field string, value []byte, err error) error {
		return &pos.DataError{Resource: "Sale", ID: saleID, Field: field, Value: shorten(value), Err: err}
	}
	if sl.raw != nil {
		// Not {"SaleLine": ...}: find out what is wrong, for the error.
		var wrap struct{ SaleLine json.RawMessage }
		if sl.raw[0] != '{' {
			return nil, fail("SaleLines", sl.raw, errShape)
		}
		if err := json.Unmarshal(sl.raw, &wrap); err != nil {
			return nil, fail("SaleLines", sl.raw, err)
		}
		sl.lines.raw = wrap.SaleLine
	}
	items := sl.lines.items
	if sl.lines.raw != nil {
		raws, err := oneOrMany(sl.lines.raw)
		if err != nil {
			return nil, fail("SaleLines.SaleLine", sl.lines.raw, err)
		}
		items = make([]lineWire, len(raws))
		for i, item := range raws {
			if err := json.Unmarshal(item, &items[i]); err != nil {
				return nil, fail("SaleLine", item, err)
			}
		}
	}
	if len(items) == 0 {
		return nil, nil
	}
	out := make([]SaleLine, 0, len(items))
	for i := range items {
		w := &items[i]
		r := fieldReader{res: "Sale", id: saleID, line: label(w.SaleLineID, i)}
		l := SaleLine{
			ID:                      r.int("saleLineID", w.SaleLineID),
			UnitQuantity:            r.decimal("unitQuantity", w.UnitQuantity),
			CalcSubtotal:            r.decimal("calcSubtotal", w.CalcSubtotal),
			CalcLineDiscount:        r.decimal("calcLineDiscount", w.CalcLineDiscount),
			CalcTransactionDiscount: r.decimal("calcTransactionDiscount", w.CalcTransactionDiscount),
			CalcTotal:               r.decimal("calcTotal", w.CalcTotal),
		}
		if w.ParentSaleLineID.set {
			l.ParentID = r.int("parentSaleLineID", w.ParentSaleLineID)
		}
		if r.err != nil {
			return nil, r.err
		}
		out = append(out, l)
	}
	return out, nil
}

// Shop is a store of the account.
type Shop struct {
	ID       int64
	Name     string
	TimeZone string
	Archived bool
}

// Register is a register of a shop.
type Register struct {
	ID       int64
	ShopID   int64
	Name     string
	Archived bool
}

// Account is the account a token gives access to.
type Account struct {
	ID   int64
	Name string
}

// decodeEach decodes a list value's records into wire values W and converts them with
// convert, which reads the fields through a fieldReader.
func decodeEach[W, T any](res string, raw json.RawMessage, convert func(w *W, r *fieldReader) T) ([]T, error) {
	items, err := oneOrMany(raw)
	if err != nil {
		return nil, &pos.DataError{Resource: res, ID: "list", Field: res, Value: shorten(raw), Err: err}
	}
	out := make([]T, 0, len(items))
	for i, item := range items {
		var w W
		if err := json.Unmarshal(item, &w); err != nil {
			return nil, &pos.DataError{Resource: res, ID: "#" + strconv.Itoa(i), Field: res, Value: shorten(item), Err: err}
		}
		r := &fieldReader{res: res, id: "#" + strconv.Itoa(i)}
		v := convert(&w, r)
		if r.err != nil {
			return nil, r.err
		}
		out = append(out, v)
	}
	return out, nil
}

type shopWire struct{ ShopID, Name, TimeZone, Archived scalar }

func decodeShops(raw json.RawMessage) ([]Shop, error) {
	return decodeEach("Shop", raw, func(w *shopWire, r *fieldReader) Shop {
		return Shop{ID: r.int("shopID", w.ShopID), Name: w.Name.s, TimeZone: w.TimeZone.s, Archived: w.Archived.s == "true"}
	})
}

type registerWire struct{ RegisterID, ShopID, Name, Archived scalar }

func decodeRegisters(raw json.RawMessage) ([]Register, error) {
	return decodeEach("Register", raw, func(w *registerWire, r *fieldReader) Register {
		return Register{ID: r.int("registerID", w.RegisterID), ShopID: r.int("shopID", w.ShopID), Name: w.Name.s, Archived: w.Archived.s == "true"}
	})
}

type accountWire struct{ AccountID, Name scalar }

func decodeAccounts(raw json.RawMessage) ([]Account, error) {
	return decodeEach("Account", raw, func(w *accountWire, r *fieldReader) Account {
		return Account{ID: r.int("accountID", w.AccountID), Name: w.Name.s}
	})
}
