package sim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// This file serves the K-Series (Lightspeed Restaurant) OAuth under /oauth/ and the Financial
// API under /f/: GET /f/data/businesses, GET /f/v2/business-location/{id}/sales and
// GET /f/v2/business-location/{id}/sales-daily.

// restaurant is the K-Series side of the simulator.
type restaurant struct {
	clock  Clock
	store  *kstore
	oauth  *oauthServer
	limits *kLimiter
}

// FinancialScope is the OAuth scope the Financial API requires.
const FinancialScope = "financial-api"

func newRestaurant(opts Options, clock Clock) (*restaurant, error) {
	ro := opts.Restaurant
	if ro.AccessTokenTTL == 0 {
		ro.AccessTokenTTL = defaultRestaurantAccessTTL
	}
	if ro.RefreshTokenTTL == 0 {
		ro.RefreshTokenTTL = defaultRestaurantRefreshTTL
	}
	k := newKStore()
	if err := generateRestaurants(k, opts.Seed, ro.Data, clock.Now()); err != nil {
		return nil, fmt.Errorf("generate restaurant data: %w", err)
	}
	rest := &restaurant{clock: clock, store: k, limits: newKLimiter(ro.RateLimit, clock)}
	rest.oauth = newOAuthServer(oauthRules{
		product: "Lightspeed Restaurant", issuer: "https://api.lsk.lightspeed.app",
		accessTTL: ro.AccessTokenTTL, refreshTTL: ro.RefreshTokenTTL, singleUse: true, basicAuth: true, multiAccount: true,
	}, clock, opts.Clients, k.consentAccounts, opts.AutoConsent)
	return rest, nil
}

func (s *Server) restaurantRoutes(mux *http.ServeMux) {
	s.rest.oauth.routes(mux, "/oauth/")
	mux.HandleFunc("GET /f/data/businesses", s.restaurantAPI(s.rest.businesses))
	mux.HandleFunc("GET /f/v2/business-location/{locationID}/sales", s.restaurantAPI(s.rest.sales))
	mux.HandleFunc("GET /f/v2/business-location/{locationID}/sales-daily", s.restaurantAPI(s.rest.salesDaily))
}

// kError is the Financial API's 400/403/404 body.
func kError(msg string) map[string]string { return map[string]string{"error": msg} }

// springError is the body of the Financial API's 401 and 5xx answers.
func springError(r *http.Request, status int, now time.Time) map[string]any {
	return map[string]any{"timestamp": now.UTC().Format(time.RFC3339Nano), "path": r.URL.Path, "status": status,
		"error": http.StatusText(status), "requestId": randomToken("", 8)}
}

// restaurantAPI authenticates the request, checks the scope and the rate limit, and serves it
// for the token's businesses (in id order).
func (s *Server) restaurantAPI(h func(r *http.Request, bs []*Business) (int, any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		now := s.clock.Now()
		info, _, ok := s.rest.oauth.authenticate(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="The access token is invalid or has expired"`)
			writeJSON(w, http.StatusUnauthorized, springError(r, http.StatusUnauthorized, now))
			return
		}
		if !strings.Contains(" "+info.scope+" ", " "+FinancialScope+" ") {
			writeJSON(w, http.StatusForbidden, kError("insufficient scope: "+FinancialScope+" is required"))
			return
		}
		if wait, limited := s.rest.limits.take(info.grantID); limited {
			s.counts.limited(endpointOf(r))
			w.Header().Set("Retry-After", strconv.Itoa(wait))
			writeJSON(w, http.StatusTooManyRequests, kError("Too Many Requests"))
			return
		}
		var bs []*Business
		s.rest.store.mu.RLock()
		for _, id := range info.accountIDs {
			if b, ok := s.rest.store.byID[id]; ok {
				bs = append(bs, b)
			}
		}
		s.rest.store.mu.RUnlock()
		if len(bs) == 0 {
			writeJSON(w, http.StatusUnauthorized, springError(r, http.StatusUnauthorized, now))
			return
		}
		status, body := h(r, bs)
		writeJSON(w, status, body)
	}
}

// businesses answers GET /f/data/businesses: the token's businesses, paged by page and size
// (default 1000) in the Spring HATEOAS shape.
func (rest *restaurant) businesses(r *http.Request, all []*Business) (int, any) {
	q := r.URL.Query()
	page, size := 0, 1000
	var err error
	if v := q.Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 0 {
			return http.StatusBadRequest, kError("Invalid page: " + v)
		}
	}
	if v := q.Get("size"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > 1000 {
			return http.StatusBadRequest, kError("Invalid size: " + v)
		}
	}
	rest.store.mu.RLock()
	defer rest.store.mu.RUnlock()
	var list []any
	for i := page * size; i < len(all) && i < (page+1)*size; i++ {
		bb := all[i]
		locs := make([]map[string]any, len(bb.Locations))
		for j, l := range bb.Locations {
			locs[j] = map[string]any{"blName": l.Name, "blID": l.ID, "country": l.Country, "timezone": l.TimeZone}
		}
		list = append(list, map[string]any{"businessName": bb.Name, "businessId": bb.ID, "currencyCode": bb.Currency, "businessLocations": locs})
	}
	pages := (len(all) + size - 1) / size
	return http.StatusOK, map[string]any{
		"_embedded": map[string]any{"businessList": list},
		"_links":    map[string]any{"self": map[string]string{"href": r.URL.String()}},
		"page":      map[string]int{"size": size, "totalElements": len(all), "totalPages": pages, "number": page},
	}
}

// maxRange is the longest from..to range the sales endpoint takes.
const maxRange = 365 * 24 * time.Hour

// cursor is a position in a location's (timeClosed, seq) order.
type cursor struct {
	t   time.Time
	seq int64
}

// encodeCursor is the nextPageToken: base64 of the last sale's timeClosed (as the docs'
// example token is), with its sequence number after a '#' to keep sales closed in the same
// millisecond apart.
func encodeCursor(c cursor) string {
	return base64.StdEncoding.EncodeToString([]byte(c.t.UTC().Format(kTime) + "#" + strconv.FormatInt(c.seq, 10)))
}

func decodeCursor(s string) (cursor, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, false
	}
	ts, seq, ok := strings.Cut(string(b), "#")
	t, err1 := time.Parse(kTime, ts)
	n, err2 := strconv.ParseInt(seq, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return cursor{}, false
	}
	return cursor{t: t, seq: n}, true
}

// parseKTime reads an ISO 8601 date-time with an offset (or Z), fractions allowed.
func parseKTime(v string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}

var validIncludes = map[string]bool{"staff": true, "table": true, "consumer": true, "payments": true,
	"revenue_center": true, "account_profile": true, "payment_authorization": true}

// locationOf finds the path's location among the token's businesses'.
func (rest *restaurant) locationOf(r *http.Request, bs []*Business) (*locationData, int, any) {
	id, err := strconv.ParseInt(r.PathValue("locationID"), 10, 64)
	if err != nil {
		return nil, http.StatusBadRequest, kError("Invalid business location id: " + r.PathValue("locationID"))
	}
	ld, ok := rest.store.locations[id]
	switch {
	case !ok:
		return nil, http.StatusNotFound, kError(fmt.Sprintf("Business location %d not found", id))
	case !slices.Contains(bs, ld.business):
		return nil, http.StatusForbidden, kError(fmt.Sprintf("Access denied to business location %d", id))
	}
	return ld, 0, nil
}

// sales answers GET /f/v2/business-location/{id}/sales: the location's sales with from <=
// timeClosed < to, sorted by timeClosed, pageSize (default 50, at most 100) at a time.
func (rest *restaurant) sales(r *http.Request, bs []*Business) (int, any) {
	q := r.URL.Query()
	now := rest.clock.Now()
	fromText := q.Get("from")
	if fromText == "" {
		return http.StatusBadRequest, kError("Required request parameter 'from' for method parameter type ZonedDateTime is not present")
	}
	from, ok := parseKTime(fromText)
	if !ok {
		return http.StatusBadRequest, kError("Invalid date format: " + fromText)
	}
	to := now
	if v := q.Get("to"); v != "" {
		if to, ok = parseKTime(v); !ok {
			return http.StatusBadRequest, kError("Invalid date format: " + v)
		}
		if to.After(now) {
			to = now // a future 'to' is clamped to now
		}
	}
	if from.After(to) {
		return http.StatusBadRequest, kError(fmt.Sprintf("Invalid date range: 'from' date %s should not be after 'to' date %s", fromText, to.UTC().Format(kTime)))
	}
	if to.Sub(from) > maxRange {
		return http.StatusBadRequest, kError("Invalid date range: the range between 'from' and 'to' must not exceed 365 days")
	}
	size := 50
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return http.StatusBadRequest, kError("Invalid pageSize: " + v + " (must be between 1 and 100)")
		}
		size = n
	}
	for _, inc := range q["include"] {
		for _, part := range strings.Split(inc, ",") {
			if !validIncludes[part] {
				return http.StatusBadRequest, kError("Invalid include value: " + part)
			}
		}
	}
	var after *cursor
	if v := q.Get("nextPageToken"); v != "" {
		c, ok := decodeCursor(v)
		if !ok {
			return http.StatusBadRequest, kError("Invalid nextPageToken: " + v)
		}
		after = &c
	}
	rest.store.mu.RLock()
	defer rest.store.mu.RUnlock()
	ld, status, body := rest.locationOf(r, bs)
	if ld == nil {
		return status, body
	}
	// The first receipt at or after from, and after the cursor: both by binary search.
	first := sort.Search(len(ld.receipts), func(i int) bool { return !ld.receipts[i].TimeClosed.Before(from) })
	if after != nil {
		first = max(first, sort.Search(len(ld.receipts), func(i int) bool {
			rc := ld.receipts[i]
			return rc.TimeClosed.After(after.t) || (rc.TimeClosed.Equal(after.t) && rc.Seq > after.seq)
		}))
	}
	var page []*Receipt
	more := false
	for _, rc := range ld.receipts[first:] {
		if !rc.TimeClosed.Before(to) {
			break
		}
		if len(page) == size {
			more = true // looked ahead: a further sale matches
			break
		}
		page = append(page, rc)
	}
	out := map[string]any{"sales": renderReceipts(page, ld)}
	if more {
		last := page[len(page)-1]
		out["nextPageToken"] = encodeCursor(cursor{t: last.TimeClosed, seq: last.Seq})
	}
	return http.StatusOK, out
}

// salesDaily answers GET /f/v2/business-location/{id}/sales-daily?date=: the sales of one
// business day, which starts at the location's DayStart local time, unpaged.
func (rest *restaurant) salesDaily(r *http.Request, bs []*Business) (int, any) {
	v := r.URL.Query().Get("date")
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return http.StatusBadRequest, kError("Invalid date format: " + v)
	}
	rest.store.mu.RLock()
	defer rest.store.mu.RUnlock()
	ld, status, body := rest.locationOf(r, bs)
	if ld == nil {
		return status, body
	}
	start, next := businessDay(d, ld.zone, time.Duration(ld.loc.DayStart))
	var day []*Receipt
	for _, rc := range ld.receipts {
		if !rc.TimeClosed.Before(start) && rc.TimeClosed.Before(next) {
			day = append(day, rc)
		}
	}
	return http.StatusOK, map[string]any{
		"sales":                   renderReceipts(day, ld),
		"nextStartOfDayAsIso8601": next.In(ld.zone).Format("2006-01-02T15:04:05-07:00"),
		"dataComplete":            !rest.clock.Now().Before(next),
	}
}

// businessDay returns the first instant of the business day of date d in zone, and of the
// next one: local midnight plus the day start (time.Date normalises a time in a DST gap).
func businessDay(d time.Time, zone *time.Location, dayStart time.Duration) (start, next time.Time) {
	at := func(day int) time.Time {
		h, m := int(dayStart/time.Hour), int(dayStart%time.Hour/time.Minute)
		return time.Date(d.Year(), d.Month(), day, h, m, 0, 0, zone)
	}
	return at(d.Day()), at(d.Day() + 1)
}

const kTime = "2006-01-02T15:04:05.000Z"

var hundredPercent = decimal.NewFromInt(100)

type kSaleJSON struct {
	AccountReference string          `json:"accountReference"`
	AccountFiscID    string          `json:"accountFiscId"`
	ReceiptID        string          `json:"receiptId"`
	Source           *kSourceJSON    `json:"source,omitempty"`
	SalesLines       []kLineJSON     `json:"salesLines"`
	Payments         []kPaymentJSON  `json:"payments"`
	TimeOfOpening    string          `json:"timeOfOpening"`
	TimeClosed       string          `json:"timeClosed"`
	Cancelled        bool            `json:"cancelled"`
	Type             string          `json:"type"`
	VoidReason       *string         `json:"voidReason"`
	NbCovers         json.RawMessage `json:"nbCovers"`
	DineIn           bool            `json:"dineIn"`
	DeviceID         int64           `json:"deviceId"`
	DeviceName       string          `json:"deviceName"`
	StaffID          int64           `json:"staffId"`
	StaffName        string          `json:"staffName"`
	Currency         string          `json:"currency"`
	TableNumber      *int            `json:"tableNumber"`
}

type kSourceJSON struct {
	InitialAccountID  string `json:"initialAccountId"`
	PreviousAccountID string `json:"previousAccountId"`
}

type kLineJSON struct {
	ID                       string         `json:"id"`
	TotalNetAmountWithTax    string         `json:"totalNetAmountWithTax"`
	TotalNetAmountWithoutTax string         `json:"totalNetAmountWithoutTax"`
	TaxAmount                string         `json:"taxAmount"`
	TaxRatePercentage        string         `json:"taxRatePercentage"`
	TaxLines                 []kTaxLineJSON `json:"taxLines"`
	DiscountAmount           string         `json:"discountAmount"`
	AccountDiscountAmount    string         `json:"accountDiscountAmount"`
	TotalDiscountAmount      string         `json:"totalDiscountAmount"`
	Quantity                 string         `json:"quantity"`
	MenuListPrice            string         `json:"menuListPrice"`
	UnitCostPrice            string         `json:"unitCostPrice"`
	SKU                      string         `json:"sku"`
	Name                     string         `json:"name"`
	DeviceID                 int64          `json:"deviceId"`
	TimeOfSale               string         `json:"timeOfSale"`
	Currency                 string         `json:"currency"`
}

// kTaxLineJSON is a line's tax: taxRate is a multiplier ("1.2"), taxIncluded whether the
// business is tax inclusive.
type kTaxLineJSON struct {
	TaxID       string `json:"taxId"`
	TaxCode     string `json:"taxCode"`
	TaxRate     string `json:"taxRate"`
	TaxAmount   string `json:"taxAmount"`
	TaxIncluded bool   `json:"taxIncluded"`
}

type kPaymentJSON struct {
	Code             string `json:"code"`
	Description      string `json:"description"`
	NetAmountWithTax string `json:"netAmountWithTax"`
	Currency         string `json:"currency"`
	Tip              string `json:"tip"`
	Type             string `json:"type"`
	DeviceID         string `json:"deviceId"`
	DeviceName       string `json:"deviceName"`
}

// renderReceipts renders receipts as the Financial API does: money as fixed-decimal strings
// (2 places, tax 4, quantities 3), ids as numbers, covers as a number with a decimal.
func renderReceipts(rs []*Receipt, ld *locationData) []kSaleJSON {
	out := make([]kSaleJSON, len(rs))
	for i, r := range rs {
		dev := ld.devices[r.DeviceID]
		s := kSaleJSON{
			AccountReference: r.AccountReference, AccountFiscID: r.AccountFiscID, ReceiptID: r.ReceiptID,
			TimeOfOpening: r.TimeOfOpening.UTC().Format(kTime), TimeClosed: r.TimeClosed.UTC().Format(kTime),
			Cancelled: r.Cancelled, Type: r.Type, NbCovers: json.RawMessage(decimalCovers(r.NbCovers)), DineIn: r.DineIn,
			DeviceID: r.DeviceID, DeviceName: dev.Name, StaffID: r.StaffID, StaffName: "Staff " + strconv.FormatInt(r.StaffID, 10),
			Currency: ld.business.Currency, SalesLines: []kLineJSON{}, Payments: []kPaymentJSON{},
		}
		if r.InitialAccountID != "" {
			s.Source = &kSourceJSON{InitialAccountID: r.InitialAccountID, PreviousAccountID: r.InitialAccountID}
		}
		if r.Cancelled || r.Type == ReceiptVoid {
			reason := "Customer changed their mind"
			s.VoidReason = &reason
		}
		if r.DineIn {
			table := int(r.Seq%40) + 1
			s.TableNumber = &table
		}
		total := decimal.Zero
		for _, l := range r.Lines {
			taxLines := []kTaxLineJSON{{TaxID: "41910290874374", TaxCode: taxCode(l), TaxRate: one.Add(l.TaxRate).String(),
				TaxAmount: l.TaxAmount.StringFixed(6), TaxIncluded: !l.TaxExclusive}}
			if l.TaxExclusive {
				total = total.Add(l.TotalNetAmountWithoutTax).Add(l.TaxAmount.Round(2))
			} else {
				total = total.Add(l.TotalNetAmountWithTax)
			}
			s.SalesLines = append(s.SalesLines, kLineJSON{
				ID: l.ID, TotalNetAmountWithTax: l.TotalNetAmountWithTax.StringFixed(2),
				TotalNetAmountWithoutTax: l.TotalNetAmountWithoutTax.StringFixed(2), TaxAmount: l.TaxAmount.StringFixed(4),
				TaxRatePercentage: l.TaxRate.Mul(hundredPercent).StringFixed(2), DiscountAmount: l.DiscountAmount.StringFixed(2),
				AccountDiscountAmount: l.AccountDiscountAmount.StringFixed(2), TotalDiscountAmount: l.TotalDiscountAmount.StringFixed(2),
				Quantity: l.Quantity.StringFixed(3), MenuListPrice: l.MenuListPrice.StringFixed(2), UnitCostPrice: "0.00",
				SKU: l.SKU, Name: l.Name, DeviceID: r.DeviceID, TimeOfSale: r.TimeOfOpening.UTC().Format(kTime), Currency: ld.business.Currency,
				TaxLines: taxLines,
			})
		}
		if len(r.Lines) > 0 {
			s.Payments = append(s.Payments, kPaymentJSON{Code: "CARD", Description: "Card", NetAmountWithTax: total.StringFixed(2),
				Currency: ld.business.Currency, Tip: "0.00", Type: "NORMAL", DeviceID: strconv.FormatInt(r.DeviceID, 10), DeviceName: dev.Name})
		}
		out[i] = s
	}
	return out
}

// taxCode names a line's tax rate as the system code does, e.g. VAT20 or TAX8.875.
func taxCode(l ReceiptLine) string {
	if l.TaxExclusive {
		return "TAX" + l.TaxRate.Mul(hundredPercent).String()
	}
	return "VAT" + l.TaxRate.Mul(hundredPercent).String()
}

// kLimiter is the K-Series token bucket per consent (grant): its tokens share one budget,
// whatever businesses they cover.
type kLimiter struct {
	rate  float64
	burst float64
	clock Clock

	mu      sync.Mutex
	buckets map[int]*kBucket
}

type kBucket struct {
	tokens float64
	last   time.Time
}

func newKLimiter(o RestaurantRateLimit, clock Clock) *kLimiter {
	burst := float64(o.Burst)
	if burst <= 0 {
		burst = math.Max(1, o.RequestsPerSecond)
	}
	return &kLimiter{rate: o.RequestsPerSecond, burst: burst, clock: clock, buckets: map[int]*kBucket{}}
}

// take spends a token; when none is left it reports the whole seconds until one is (at
// least 1). Refused requests cost nothing.
func (l *kLimiter) take(grant int) (retryAfter int, limited bool) {
	if l.rate <= 0 {
		return 0, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	k := grant
	b, ok := l.buckets[k]
	if !ok {
		b = &kBucket{tokens: l.burst, last: now}
		l.buckets[k] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(l.burst, b.tokens+el*l.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, false
	}
	return max(1, int(math.Ceil((1-b.tokens)/l.rate))), true
}
