package sim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file is the R-Series query language over one resource: filters with operators, sorting,
// limit, count and keyset cursors. It is generic over the record type so that Sale, Shop and
// Register share it.

type kind int

const (
	kindInt kind = iota
	kindTime
	kindBool
	kindString
)

// value is a field's value; null marks an unset one (an open sale's completeTime), which no
// comparison matches.
type value struct {
	i    int64
	t    time.Time
	b    bool
	s    string
	null bool
}

type field[T any] struct {
	kind kind
	get  func(T) value
}

// resource describes a listable resource.
type resource[T any] struct {
	name    string // the JSON key: "Sale"
	idField string
	id      func(T) int64
	fields  map[string]field[T]
	// sorts are the sortable fields, in the order the error message lists them.
	sorts []string
}

func compareValues(k kind, a, b value) int {
	switch {
	case a.null && b.null:
		return 0
	case a.null:
		return -1
	case b.null:
		return 1
	}
	switch k {
	case kindInt:
		return cmpOrdered(a.i, b.i)
	case kindTime:
		return a.t.Compare(b.t)
	case kindBool:
		return cmpOrdered(boolInt(a.b), boolInt(b.b))
	}
	return strings.Compare(a.s, b.s)
}

func cmpOrdered[N int64 | int](a, b N) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// apiError is a client error in the API's error body.
type apiError struct {
	status int
	msg    string
}

// Error returns the message the API sends.
func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) *apiError {
	return &apiError{status: 400, msg: fmt.Sprintf(format, args...)}
}

type condition struct {
	field string
	op    string
	args  []value
}

// operators in the order they are tried: longer first, so ">=" is not read as ">".
var operators = []string{"><", ">=", "<=", "!=", "!~", ">", "<", "=", "~", "IN"}

// parseTime reads a filter timestamp: RFC 3339, or a date or date-time without offset, taken as
// UTC. A '+' that arrived unencoded reads as a space and is put back.
func parseTime(s string) (time.Time, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "+")
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid timestamp %q", s)
}

func parseValue(k kind, s string) (value, error) {
	switch k {
	case kindInt:
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return value{}, fmt.Errorf("invalid integer %q", s)
		}
		return value{i: i}, nil
	case kindTime:
		t, err := parseTime(s)
		return value{t: t}, err
	case kindBool:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "1":
			return value{b: true}, nil
		case "false", "0":
			return value{b: false}, nil
		}
		return value{}, fmt.Errorf("invalid boolean %q", s)
	}
	return value{s: s}, nil
}

// parseCondition reads "op,args" (or a bare value, meaning equality) for field name.
func (res *resource[T]) parseCondition(name, raw string) (condition, error) {
	f, ok := res.fields[name]
	if !ok {
		return condition{}, badRequest("%s does not have a field %q to filter on", res.name, name)
	}
	op, rest := "=", raw
	for _, o := range operators {
		if after, ok := strings.CutPrefix(raw, o+","); ok {
			op, rest = o, after
			break
		}
	}
	var parts []string
	switch op {
	case "><":
		parts = strings.SplitN(rest, ",", 2)
		if len(parts) != 2 {
			return condition{}, badRequest("the >< operator on %s needs two values", name)
		}
	case "IN":
		inner, ok := strings.CutPrefix(strings.TrimSpace(rest), "[")
		inner, ok2 := strings.CutSuffix(inner, "]")
		if !ok || !ok2 {
			return condition{}, badRequest("the IN operator on %s needs a list like IN,[1,2]", name)
		}
		parts = strings.Split(inner, ",")
	default:
		parts = []string{rest}
	}
	c := condition{field: name, op: op}
	for _, p := range parts {
		v, err := parseValue(f.kind, p)
		if err != nil {
			return condition{}, badRequest("filter %s: %v", name, err)
		}
		c.args = append(c.args, v)
	}
	return c, nil
}

func (res *resource[T]) matches(rec T, conds []condition) bool {
	for _, c := range conds {
		f := res.fields[c.field]
		v := f.get(rec)
		if v.null {
			return false
		}
		cmp0 := compareValues(f.kind, v, c.args[0])
		ok := false
		switch c.op {
		case "=":
			ok = cmp0 == 0
		case "!=":
			ok = cmp0 != 0
		case ">":
			ok = cmp0 > 0
		case "<":
			ok = cmp0 < 0
		case ">=":
			ok = cmp0 >= 0
		case "<=":
			ok = cmp0 <= 0
		case "><": // between, both ends included
			ok = cmp0 >= 0 && compareValues(f.kind, v, c.args[1]) <= 0
		case "IN":
			for _, a := range c.args {
				ok = ok || compareValues(f.kind, v, a) == 0
			}
		case "~":
			ok = strings.Contains(strings.ToLower(v.s), strings.ToLower(strings.Trim(c.args[0].s, "%")))
		case "!~":
			ok = !strings.Contains(strings.ToLower(v.s), strings.ToLower(strings.Trim(c.args[0].s, "%")))
		}
		if !ok {
			return false
		}
	}
	return true
}

// listQuery is a parsed list request.
type listQuery struct {
	conds     []condition
	sortField string
	desc      bool
	limit     int
	count     bool
	cursor    *cursorKey
	before    bool
	relations map[string]bool
	// params are the request's parameters, less the cursor, for the paging URLs.
	params url.Values
}

// cursorKey is the position a cursor encodes: the sort value and the id.
type cursorKey struct {
	v  value
	id int64
}

// reserved are the parameters that are not filters.
var reserved = map[string]bool{"sort": true, "limit": true, "after": true, "before": true, "count": true, "load_relations": true, "offset": true}

// relationsOf lists the documented relations of Sale; only SaleLines has data here.
var saleRelations = []string{"SaleLines", "SaleLines.Discount", "SaleLines.TaxClass", "SaleLines.Note",
	"SaleLines.Item", "SaleLines.InventorySales", "SaleNotes", "SalePayments", "SalePayments.PaymentType",
	"SalePayments.CCCharge", "SalePayments.SaleAccounts", "SalePayments.Signatures", "ShipTo",
	"ShipTo.Contact", "Customer", "Customer.Contact", "Discount", "TaxCategory",
	"TaxCategory.TaxCategoryClasses", "Quote"}

func (res *resource[T]) parseQuery(q url.Values, allowedRelations []string) (listQuery, error) {
	lq := listQuery{sortField: res.idField, limit: 100, params: url.Values{}, relations: map[string]bool{}}
	for k, vs := range q {
		if k == "after" || k == "before" {
			continue
		}
		lq.params[k] = vs
	}
	if q.Get("count") == "1" {
		lq.count = true
		for _, k := range []string{"limit", "sort", "after", "before", "next", "previous"} {
			if q.Has(k) {
				return lq, badRequest("count cannot be combined with %s", k)
			}
		}
	}
	if s := q.Get("sort"); s != "" {
		name, desc := strings.CutPrefix(s, "-")
		found := false
		for _, f := range res.sorts {
			found = found || f == name
		}
		if !found {
			return lq, badRequest("Invalid sort field %q. Sortable fields for %s are: %s", name, res.name, strings.Join(res.sorts, ", "))
		}
		lq.sortField, lq.desc = name, desc
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			return lq, badRequest("limit must be a whole number from 1 to 100, got %q", l)
		}
		lq.limit = n
	}
	if !lq.count {
		lq.params.Set("sort", q.Get("sort"))
		if q.Get("sort") == "" {
			lq.params.Set("sort", res.idField)
		}
		lq.params.Set("limit", strconv.Itoa(lq.limit))
	}
	if q.Has("after") && q.Has("before") {
		return lq, badRequest("after and before are exclusive")
	}
	for _, k := range []string{"after", "before"} {
		if c := q.Get(k); c != "" || q.Has(k) {
			key, err := res.decodeCursor(c, lq.sortField)
			if err != nil {
				return lq, err
			}
			lq.cursor, lq.before = &key, k == "before"
		}
	}
	if rel := q.Get("load_relations"); rel != "" {
		var names []string
		if rel == "all" {
			names = allowedRelations
		} else if err := json.Unmarshal([]byte(rel), &names); err != nil {
			return lq, badRequest("load_relations must be a JSON array of relation names or \"all\"")
		}
		for _, n := range names {
			ok := false
			for _, a := range allowedRelations {
				ok = ok || a == n
			}
			if !ok {
				return lq, badRequest("Invalid relation %q for %s", n, res.name)
			}
			lq.relations[strings.SplitN(n, ".", 2)[0]] = true
		}
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if reserved[k] {
			continue
		}
		for _, raw := range q[k] {
			c, err := res.parseCondition(k, raw)
			if err != nil {
				return lq, err
			}
			lq.conds = append(lq.conds, c)
		}
	}
	return lq, nil
}

// encodeCursor writes a position as the API does: base64 of a JSON array, [id] when sorting by
// id, else [sortValue, id].
func (res *resource[T]) encodeCursor(rec T, sortField string) string {
	id := res.id(rec)
	var arr []any
	if sortField == res.idField {
		arr = []any{id}
	} else {
		f := res.fields[sortField]
		v := f.get(rec)
		switch {
		case v.null:
			arr = []any{nil, id}
		case f.kind == kindTime:
			arr = []any{formatTime(v.t), id}
		case f.kind == kindInt:
			arr = []any{v.i, id}
		default:
			arr = []any{v.s, id}
		}
	}
	b, _ := json.Marshal(arr)
	return base64.StdEncoding.EncodeToString(b)
}

func (res *resource[T]) decodeCursor(s, sortField string) (cursorKey, error) {
	bad := badRequest("invalid cursor")
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return cursorKey{}, bad
	}
	var arr []json.RawMessage
	if err := json.Unmarshal(b, &arr); err != nil {
		return cursorKey{}, bad
	}
	want := 2
	if sortField == res.idField {
		want = 1
	}
	if len(arr) != want {
		return cursorKey{}, bad
	}
	var key cursorKey
	if err := json.Unmarshal(arr[len(arr)-1], &key.id); err != nil {
		return cursorKey{}, bad
	}
	if want == 1 {
		key.v = value{i: key.id}
		return key, nil
	}
	if string(arr[0]) == "null" {
		key.v = value{null: true}
		return key, nil
	}
	f := res.fields[sortField]
	switch f.kind {
	case kindInt:
		if err := json.Unmarshal(arr[0], &key.v.i); err != nil {
			return cursorKey{}, bad
		}
	default:
		var s string
		if err := json.Unmarshal(arr[0], &s); err != nil {
			return cursorKey{}, bad
		}
		if key.v, err = parseValue(f.kind, s); err != nil {
			return cursorKey{}, bad
		}
	}
	return key, nil
}

// page is one page of results.
type page[T any] struct {
	records        []T
	count          int
	next, previous string // cursors; "" when there is no page that way
}

// run executes the query over recs, which are in id order. Sorting by id scans recs from the
// cursor, filtering as it goes; other sorts filter first and then sort.
func (res *resource[T]) run(recs []T, lq listQuery) page[T] {
	if lq.count {
		n := 0
		for _, r := range recs {
			if res.matches(r, lq.conds) {
				n++
			}
		}
		return page[T]{count: n}
	}
	ordered, filtered := recs, false
	f := res.fields[lq.sortField]
	key := func(r T) cursorKey { return cursorKey{v: f.get(r), id: res.id(r)} }
	if lq.sortField != res.idField {
		ordered = nil
		for _, r := range recs {
			if res.matches(r, lq.conds) {
				ordered = append(ordered, r)
			}
		}
		filtered = true
		sort.SliceStable(ordered, func(i, j int) bool { return compareKeys(f.kind, key(ordered[i]), key(ordered[j])) < 0 })
	}
	// In ascending index order; a descending sort reads the slice backwards.
	n := len(ordered)
	at := func(i int) T {
		if lq.desc {
			return ordered[n-1-i]
		}
		return ordered[i]
	}
	cmpAt := func(i int, k cursorKey) int {
		c := compareKeys(f.kind, key(at(i)), k)
		if lq.desc {
			return -c
		}
		return c
	}
	start, step := 0, 1
	if lq.cursor != nil {
		if lq.before {
			start = sort.Search(n, func(i int) bool { return cmpAt(i, *lq.cursor) >= 0 }) - 1
			step = -1
		} else {
			start = sort.Search(n, func(i int) bool { return cmpAt(i, *lq.cursor) > 0 })
		}
	}
	var out []T
	more := false
	for i := start; i >= 0 && i < n; i += step {
		r := at(i)
		if !filtered && !res.matches(r, lq.conds) {
			continue
		}
		if len(out) == lq.limit {
			more = true
			break
		}
		out = append(out, r)
	}
	p := page[T]{}
	if lq.before {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	p.records = out
	if len(out) == 0 {
		return p
	}
	first, last := res.encodeCursor(out[0], lq.sortField), res.encodeCursor(out[len(out)-1], lq.sortField)
	switch {
	case lq.cursor == nil: // page 1
		if more {
			p.next = last
		}
	case lq.before:
		p.next = last
		if more {
			p.previous = first
		}
	default:
		p.previous = first
		if more {
			p.next = last
		}
	}
	return p
}

func compareKeys(k kind, a, b cursorKey) int {
	if c := compareValues(k, a.v, b.v); c != 0 {
		return c
	}
	return cmpOrdered(a.id, b.id)
}

// pageURL is the full URL of the page after or before a cursor.
func pageURL(base string, params url.Values, dir, cursor string) string {
	if cursor == "" {
		return ""
	}
	q := url.Values{}
	for k, v := range params {
		q[k] = v
	}
	q.Set(dir, cursor)
	return base + "?" + q.Encode()
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05-07:00") }
