package sim_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"golang.org/x/oauth2"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/lightspeed/sim/simtest"
)

const (
	business   = "300001"
	location   = "300001001"
	salesPath  = "/f/v2/business-location/" + location + "/sales"
	dailyPath  = "/f/v2/business-location/" + location + "/sales-daily"
	ktokenPath = "/oauth/token"
)

// restaurantEnv is a simulator with two weeks of generated receipts on two devices of two
// locations of two businesses, on a clock standing at 2026-01-01.
func restaurantEnv(t *testing.T, ro sim.RestaurantOptions) (*simtest.Env, *oauth2.Token) {
	t.Helper()
	if ro.Data.SalesPerDay == 0 {
		ro.Data = sim.RestaurantDataOptions{Businesses: 2, LocationsPerBusiness: 2, DevicesPerLocation: 2, SalesPerDay: 25,
			From: time.Date(2025, 10, 20, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 11, 2, 0, 0, 0, 0, time.UTC)}
	}
	env := start(t, sim.Options{Seed: 9, Restaurant: ro})
	return env, env.RestaurantToken(t, 0)
}

// krefreshForm is a refresh request's form; the client authenticates with HTTP Basic
// (postBasic), as K-Series requires.
func krefreshForm(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
}

func salesQuery(from, to string, extra ...string) string {
	v := url.Values{"from": {from}}
	if to != "" {
		v.Set("to", to)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return salesPath + "?" + v.Encode()
}

func TestRestaurantTokens(t *testing.T) {
	t.Parallel()
	env, tok := restaurantEnv(t, sim.RestaurantOptions{Data: sim.RestaurantDataOptions{Businesses: 2}})
	if got := time.Until(tok.Expiry).Round(time.Minute); got != time.Hour {
		t.Errorf("access token lives %v, want the documented 60 minutes", got)
	}
	ok := func(access string) int { return get(t, env, "/f/data/businesses", access).status }
	if st := ok(tok.AccessToken); st != 200 {
		t.Fatalf("fresh token: %d", st)
	}

	// Single use: the refresh token dies when used; the new pair works; the old access token
	// stays valid until its own expiry.
	r1 := postBasic(t, env, ktokenPath, krefreshForm(tok.RefreshToken))
	if r1.status != 200 || r1.body["refresh_token"] == tok.RefreshToken || r1.body["access_token"] == tok.AccessToken ||
		r1.body["expires_in"] != 3600.0 || r1.body["scope"] != sim.FinancialScope {
		t.Fatalf("refresh: %d %s", r1.status, r1.raw)
	}
	if r := postBasic(t, env, ktokenPath, krefreshForm(tok.RefreshToken)); r.status != 400 || r.body["error"] != "invalid_grant" {
		t.Errorf("reused refresh token: %d %s, want 400 invalid_grant", r.status, r.raw)
	}
	if st := ok(tok.AccessToken); st != 200 {
		t.Errorf("previous access token after a refresh: %d, want 200 until it expires", st)
	}
	newAccess, newRefresh := r1.body["access_token"].(string), r1.body["refresh_token"].(string)
	env.Clock.Advance(59*time.Minute + 59*time.Second)
	if st := ok(newAccess); st != 200 {
		t.Errorf("token at 59:59: %d", st)
	}
	env.Clock.Advance(time.Second)
	r := get(t, env, "/f/data/businesses", newAccess)
	if r.status != 401 || r.body["status"] != 401.0 || r.body["path"] != "/f/data/businesses" || !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("expired token: %d %v %s", r.status, r.header, r.raw)
	}

	// A refresh token unused for 14 days is refused; one day less is fine.
	env.Clock.Advance(13*24*time.Hour + 22*time.Hour)
	r2 := postBasic(t, env, ktokenPath, krefreshForm(newRefresh))
	if r2.status != 200 {
		t.Fatalf("refresh after 13 days 23 h: %d %s", r2.status, r2.raw)
	}
	env.Clock.Advance(14 * 24 * time.Hour)
	if r := postBasic(t, env, ktokenPath, krefreshForm(r2.body["refresh_token"].(string))); r.status != 400 || r.body["error"] != "invalid_grant" {
		t.Errorf("refresh token unused for 14 days: %d %s", r.status, r.raw)
	}

	// The products' OAuth servers are apart: an R-Series token does not open the K-Series API
	// and the other way round.
	retail := env.Token(t, 0)
	if st := ok(retail.AccessToken); st != 401 {
		t.Errorf("R-Series token on the K-Series API: %d", st)
	}
	k := env.RestaurantToken(t, 0)
	if r := get(t, env, accountPath+"Shop.json", k.AccessToken); r.status != 401 {
		t.Errorf("K-Series token on the R-Series API: %d", r.status)
	}
	// Revocation kills the grant.
	if r := postBasic(t, env, "/oauth/revoke", url.Values{"token": {k.RefreshToken}}); r.status != 200 {
		t.Fatalf("revoke: %d", r.status)
	}
	if st := ok(k.AccessToken); st != 401 {
		t.Errorf("revoked grant's access token: %d", st)
	}
}

func TestRestaurantScope(t *testing.T) {
	t.Parallel()
	env, _ := restaurantEnv(t, sim.RestaurantOptions{Data: sim.RestaurantDataOptions{}})
	conf := *env.Restaurant
	conf.Scopes = []string{"orders-api"}
	verifier := oauth2.GenerateVerifier()
	code := strings.TrimSpace(func() string {
		u, err := env.Authorize(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
		if err != nil {
			t.Fatal(err)
		}
		return u.Query().Get("code")
	}())
	tok, err := conf.Exchange(env.Context(t.Context()), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if r := get(t, env, "/f/data/businesses", tok.AccessToken); r.status != 403 || !strings.Contains(r.body["error"].(string), sim.FinancialScope) {
		t.Errorf("token without financial-api: %d %s", r.status, r.raw)
	}
}

func TestRestaurantBusinesses(t *testing.T) {
	t.Parallel()
	env := start(t, sim.Options{Restaurant: sim.RestaurantOptions{Data: sim.RestaurantDataOptions{Businesses: 2, LocationsPerBusiness: 3}}})
	tok := env.RestaurantToken(t, 300002)
	r := get(t, env, "/f/data/businesses", tok.AccessToken)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	var body struct {
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
	if err := json.Unmarshal([]byte(r.raw), &body); err != nil {
		t.Fatal(err)
	}
	list := body.Embedded.BusinessList
	if len(list) != 1 || list[0].BusinessID != 300002 || len(list[0].BusinessLocations) != 3 || body.Page.TotalPages != 1 {
		t.Fatalf("the token's businesses: %s", r.raw)
	}
	var zones []string
	for _, l := range list[0].BusinessLocations {
		zones = append(zones, l.Timezone)
		if l.BLID/1000 != 300002 {
			t.Errorf("location %d is not of business 300002", l.BLID)
		}
	}
	// Zones continue where the first business's locations left off.
	if diff := cmp.Diff([]string{"Australia/Sydney", "Europe/London", "Europe/Copenhagen"}, zones); diff != "" {
		t.Errorf("zones (-want +got):\n%s", diff)
	}
	if r := get(t, env, "/f/data/businesses?size=0", tok.AccessToken); r.status != 400 {
		t.Errorf("size=0: %d", r.status)
	}
}

// pageThrough lists a location's sales page by page and returns them with the page count.
func pageThrough(t *testing.T, env *simtest.Env, access, from, to, pageSize string) ([]map[string]any, int) {
	t.Helper()
	var all []map[string]any
	token := ""
	for pages := 1; ; pages++ {
		extra := []string{}
		if pageSize != "" {
			extra = append(extra, "pageSize", pageSize)
		}
		if token != "" {
			extra = append(extra, "nextPageToken", token)
		}
		r := get(t, env, salesQuery(from, to, extra...), access)
		if r.status != 200 {
			t.Fatalf("page %d: %d %s", pages, r.status, r.raw)
		}
		for _, s := range r.body["sales"].([]any) {
			all = append(all, s.(map[string]any))
		}
		next, _ := r.body["nextPageToken"].(string)
		if next == "" {
			return all, pages
		}
		token = next
	}
}

func TestRestaurantSalesPaging(t *testing.T) {
	t.Parallel()
	env, tok := restaurantEnv(t, sim.RestaurantOptions{})
	from, to := "2025-10-22T00:00:00Z", "2025-10-29T00:00:00.000Z"
	stored, err := env.Sim.Receipts(300001, sim.ReceiptFilter{LocationID: 300001001,
		From: mustTime(from), Until: mustTime(to)})
	if err != nil || len(stored) < 150 {
		t.Fatalf("stored receipts: %d %v", len(stored), err)
	}
	var want []string
	for _, r := range stored {
		want = append(want, r.AccountFiscID)
	}
	for _, size := range []string{"", "100", "7"} {
		t.Run("pageSize="+size, func(t *testing.T) {
			t.Parallel()
			all, pages := pageThrough(t, env, tok.AccessToken, from, to, size)
			n := 50
			if size != "" {
				n, _ = strconv.Atoi(size)
			}
			if wantPages := (len(stored) + n - 1) / n; pages != wantPages {
				t.Errorf("%d pages for %d sales of %d, want %d", pages, len(stored), n, wantPages)
			}
			var got []string
			prev := ""
			for _, s := range all {
				got = append(got, s["accountFiscId"].(string))
				closed := s["timeClosed"].(string)
				if closed < prev {
					t.Errorf("sale %s closed %s before the previous %s", s["accountFiscId"], closed, prev)
				}
				prev = closed
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("paged sales differ from the store (-want +got):\n%s", diff)
			}
		})
	}
	// The token is base64 of the last sale's timeClosed (then its sequence number).
	r := get(t, env, salesQuery(from, to, "pageSize", "3"), tok.AccessToken)
	raw, err := base64.StdEncoding.DecodeString(r.body["nextPageToken"].(string))
	last := r.body["sales"].([]any)[2].(map[string]any)["timeClosed"].(string)
	if err != nil || !strings.HasPrefix(string(raw), last+"#") {
		t.Errorf("nextPageToken %q does not start with the last timeClosed %s", raw, last)
	}
	// Wire shapes: money as fixed-decimal strings, ids and covers as numbers, UTC with ms.
	sale := r.body["sales"].([]any)[0].(map[string]any)
	line := sale["salesLines"].([]any)[0].(map[string]any)
	for field, pattern := range map[string]string{
		"totalNetAmountWithTax": `^-?\d+\.\d{2}$`, "totalNetAmountWithoutTax": `^-?\d+\.\d{2}$`,
		"totalDiscountAmount": `^-?\d+\.\d{2}$`, "taxAmount": `^-?\d+\.\d{4}$`, "quantity": `^-?\d+\.\d{3}$`,
	} {
		if v, ok := line[field].(string); !ok || !regexpMatch(pattern, v) {
			t.Errorf("line %s = %#v, want a string matching %s", field, line[field], pattern)
		}
	}
	if _, ok := sale["deviceId"].(float64); !ok {
		t.Errorf("deviceId %#v is not a number", sale["deviceId"])
	}
	if _, ok := sale["nbCovers"].(float64); !ok || !strings.Contains(r.raw, `"nbCovers":`) {
		t.Errorf("nbCovers %#v is not a number", sale["nbCovers"])
	}
	if !regexpMatch(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`, sale["timeClosed"].(string)) {
		t.Errorf("timeClosed %v", sale["timeClosed"])
	}
}

func TestRestaurantSalesRefusals(t *testing.T) {
	t.Parallel()
	env, tok := restaurantEnv(t, sim.RestaurantOptions{})
	other := env.RestaurantToken(t, 300002)
	tests := []struct {
		name, path string
		token      string
		wantStatus int
		wantError  string
	}{
		{"from missing", salesPath + "?to=2025-10-23T00:00:00Z", "", 400, "Required request parameter 'from'"},
		{"bad date", salesQuery("12/12/2023", ""), "", 400, "Invalid date format: 12/12/2023"},
		{"bad to", salesQuery("2025-10-22T00:00:00Z", "2025-10-23"), "", 400, "Invalid date format: 2025-10-23"},
		{"from after to", salesQuery("2025-10-23T00:00:00Z", "2025-10-22T00:00:00Z"), "", 400, "Invalid date range: 'from' date 2025-10-23T00:00:00Z should not be after 'to' date"},
		{"over 365 days", salesQuery("2024-10-22T00:00:00Z", "2025-10-22T00:00:01Z"), "", 400, "must not exceed 365 days"},
		{"pageSize 0", salesQuery("2025-10-22T00:00:00Z", "", "pageSize", "0"), "", 400, "Invalid pageSize"},
		{"pageSize 101", salesQuery("2025-10-22T00:00:00Z", "", "pageSize", "101"), "", 400, "Invalid pageSize"},
		{"bad token", salesQuery("2025-10-22T00:00:00Z", "", "nextPageToken", "!!"), "", 400, "Invalid nextPageToken"},
		{"bad include", salesQuery("2025-10-22T00:00:00Z", "", "include", "staff,wine"), "", 400, "Invalid include value: wine"},
		{"another business's location", salesQuery("2025-10-22T00:00:00Z", ""), other.AccessToken, 403, "Access denied to business location"},
		{"unknown location", "/f/v2/business-location/42/sales?from=2025-10-22T00:00:00Z", "", 404, "Business location 42 not found"},
		{"daily without a date", dailyPath, "", 400, "Invalid date format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			access := tok.AccessToken
			if tc.token != "" {
				access = tc.token
			}
			r := get(t, env, tc.path, access)
			msg, _ := r.body["error"].(string)
			if r.status != tc.wantStatus || !strings.Contains(msg, tc.wantError) || len(r.body) != 1 {
				t.Errorf("%d %s, want %d {\"error\": %q…}", r.status, r.raw, tc.wantStatus, tc.wantError)
			}
		})
	}
	// Exactly 365 days is allowed, and includes/valid values pass.
	if r := get(t, env, salesQuery("2024-10-22T00:00:00Z", "2025-10-22T00:00:00Z", "include", "staff,payments"), tok.AccessToken); r.status != 200 {
		t.Errorf("365 days: %d %s", r.status, r.raw)
	}
}

func TestRestaurantSalesRange(t *testing.T) {
	t.Parallel()
	env, tok := restaurantEnv(t, sim.RestaurantOptions{Data: sim.RestaurantDataOptions{}})
	now := env.Clock.Now()
	add := func(at time.Time) string {
		r, err := env.Sim.AddReceipt(300001, sim.ReceiptInput{LocationID: 300001001, DeviceID: 30000100101, TimeClosed: at,
			Lines: []sim.ReceiptLineInput{{Quantity: decimal.NewFromInt(1), UnitPrice: decimal.NewFromInt(5)}}})
		if err != nil {
			t.Fatal(err)
		}
		return r.AccountFiscID
	}
	atFrom := add(now.Add(-2 * time.Hour))
	inside := add(now.Add(-time.Hour))
	atTo := add(now.Add(-30 * time.Minute))
	future := add(now.Add(time.Hour)) // closed "later": a future to is clamped to now
	ids := func(path string) []string {
		r := get(t, env, path, tok.AccessToken)
		var out []string
		for _, s := range r.body["sales"].([]any) {
			out = append(out, s.(map[string]any)["accountFiscId"].(string))
		}
		return out
	}
	fmtT := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	if diff := cmp.Diff([]string{atFrom, inside}, ids(salesQuery(fmtT(now.Add(-2*time.Hour)), fmtT(now.Add(-30*time.Minute))))); diff != "" {
		t.Errorf("[from, to) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{atFrom, inside, atTo}, ids(salesQuery(fmtT(now.Add(-3*time.Hour)), fmtT(now.Add(3*time.Hour))))); diff != "" {
		t.Errorf("future to clamped to now (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{atFrom, inside, atTo}, ids(salesQuery(fmtT(now.Add(-3*time.Hour)), ""))); diff != "" {
		t.Errorf("missing to is now (-want +got):\n%s", diff)
	}
	_ = future
}

func TestRestaurantRateLimit(t *testing.T) {
	t.Parallel()
	env, tok := restaurantEnv(t, sim.RestaurantOptions{Data: sim.RestaurantDataOptions{}, RateLimit: sim.RestaurantRateLimit{RequestsPerSecond: 0.5, Burst: 2}})
	var got []int
	for range 3 {
		r := get(t, env, "/f/data/businesses", tok.AccessToken)
		got = append(got, r.status)
		if r.status == 429 && (r.header.Get("Retry-After") != "2" || r.body["error"] != "Too Many Requests") {
			t.Errorf("429 without Retry-After 2 or error body: %v %s", r.header, r.raw)
		}
	}
	if diff := cmp.Diff([]int{200, 200, 429}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	env.Clock.Advance(2 * time.Second)
	if r := get(t, env, "/f/data/businesses", tok.AccessToken); r.status != 200 {
		t.Errorf("after Retry-After: %d", r.status)
	}
	if c := env.Sim.Requests("GET /f/data/businesses"); c.Requests != 4 || c.RateLimited != 1 {
		t.Errorf("counts %+v", c)
	}
	// Injected faults on the K-Series API answer in its shapes.
	_ = env.Sim.InjectFault(sim.Fault{Kind: sim.FaultRateLimit, Endpoint: "/sales", RetryAfter: 5, Count: 1})
	_ = env.Sim.InjectFault(sim.Fault{Kind: sim.FaultStatus, Status: 502, Endpoint: "/sales", Count: 1})
	env.Clock.Advance(10 * time.Second)
	r := get(t, env, salesQuery("2025-10-22T00:00:00Z", ""), tok.AccessToken)
	if r.status != 429 || r.header.Get("Retry-After") != "5" || r.body["error"] == nil || r.header.Get("X-LS-API-RateLimit-Type") != "" {
		t.Errorf("injected 429: %d %v %s", r.status, r.header, r.raw)
	}
	if r := get(t, env, salesQuery("2025-10-22T00:00:00Z", ""), tok.AccessToken); r.status != 502 || r.body["status"] != 502.0 || r.body["requestId"] == nil {
		t.Errorf("injected 502: %d %s", r.status, r.raw)
	}
}

func TestRestaurantSalesDaily(t *testing.T) {
	t.Parallel()
	env := start(t, sim.Options{Restaurant: sim.RestaurantOptions{Data: sim.RestaurantDataOptions{
		Zones: []string{"Europe/London"}, DayStart: 5*time.Hour + 30*time.Minute}}})
	tok := env.RestaurantToken(t, 0)
	// Europe/London, autumn: BST (+01:00) until 2025-10-26 02:00, GMT after.
	times := map[string]string{
		"before the day":  "2025-10-25T04:29:59.999Z", // 05:29:59.999 BST: business day of the 24th
		"first of day":    "2025-10-25T04:30:00.000Z", // 05:30 BST
		"after midnight":  "2025-10-25T23:30:00.000Z", // 00:30 BST on the 26th: still the 25th's business day
		"last of the day": "2025-10-26T05:29:59.999Z", // 05:29:59.999 GMT on the 26th
		"next day":        "2025-10-26T05:30:00.000Z",
	}
	fisc := map[string]string{}
	for name, at := range times {
		r, err := env.Sim.AddReceipt(300001, sim.ReceiptInput{LocationID: 300001001, DeviceID: 30000100101, TimeClosed: mustTime(at),
			Lines: []sim.ReceiptLineInput{{Quantity: decimal.NewFromInt(1), UnitPrice: decimal.NewFromInt(5)}}})
		if err != nil {
			t.Fatal(err)
		}
		fisc[r.AccountFiscID] = name
	}
	r := get(t, env, dailyPath+"?date=2025-10-25", tok.AccessToken)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	var names []string
	for _, s := range r.body["sales"].([]any) {
		names = append(names, fisc[s.(map[string]any)["accountFiscId"].(string)])
	}
	if diff := cmp.Diff([]string{"first of day", "after midnight", "last of the day"}, names); diff != "" {
		t.Errorf("business day of the 25th (-want +got):\n%s", diff)
	}
	// The business day spans the DST change: 25 hours, ending at 05:30 GMT.
	if r.body["nextStartOfDayAsIso8601"] != "2025-10-26T05:30:00+00:00" || r.body["dataComplete"] != true {
		t.Errorf("next start %v, complete %v", r.body["nextStartOfDayAsIso8601"], r.body["dataComplete"])
	}
	env.Clock.Advance(-env.Clock.Now().Sub(mustTime("2025-10-27T05:29:00Z")))
	if r := get(t, env, dailyPath+"?date=2025-10-26", tok.AccessToken); r.body["dataComplete"] != false || r.body["nextStartOfDayAsIso8601"] != "2025-10-27T05:30:00+00:00" {
		t.Errorf("day still open: %s", r.raw)
	}
}

func TestRestaurantOracleRules(t *testing.T) {
	t.Parallel()
	env := start(t, sim.Options{})
	simtest.AddRestaurantRuleReceipts(t, env.Sim)
	days, err := env.Sim.ExpectedRestaurant(sim.RestaurantOracleQuery{BusinessID: simtest.RestaurantRuleBusiness,
		LocationID: simtest.RestaurantRuleLocation, From: "2026-10-24", Until: "2026-10-26"})
	if err != nil {
		t.Fatal(err)
	}
	rule := days[1]
	if len(rule.Hours) != 25 || rule.Hours[1].Clock != "01:00+01:00" || rule.Hours[2].Clock != "01:00+00:00" {
		t.Fatalf("rule day hours: %d, %v %v", len(rule.Hours), rule.Hours[1].Clock, rule.Hours[2].Clock)
	}
	total := map[string]decimal.Decimal{}
	for _, h := range rule.Hours {
		for k, v := range map[string]decimal.Decimal{"grossSales": h.GrossSales, "discounts": h.Discounts, "returns": h.Returns,
			"transactions": h.Transactions, "goodsSold": h.GoodsSold, "goodsReturned": h.GoodsReturned, "visitors": h.Visitors} {
			total[k] = total[k].Add(v)
		}
	}
	for k, want := range simtest.RuleDayTotals {
		if !total[k].Equal(decimal.RequireFromString(want)) {
			t.Errorf("day total %s = %s, want %s", k, total[k], want)
		}
	}
	if g1, g2 := rule.Hours[1].GrossSales.String(), rule.Hours[2].GrossSales.String(); g1 != "8" || g2 != "16" {
		t.Errorf("the two 01:00 hours: %s and %s, want 8 and 16", g1, g2)
	}
	if !days[0].Hours[23].GrossSales.Equal(decimal.NewFromInt(1000)) || !days[2].Hours[0].Visitors.Equal(decimal.NewFromInt(5)) {
		t.Error("the neighbouring days' edge receipts are not where they belong")
	}
	// Net sales are (gross − returns) without VAT: 136.42/1.2 − 20/1.2 to the cent per line.
	if net := sumNet(rule); !net.Equal(decimal.RequireFromString("97.03")) {
		t.Errorf("net sales %s, want 97.03", net)
	}
}

func sumNet(d sim.ExpectedDay) decimal.Decimal {
	var n decimal.Decimal
	for _, h := range d.Hours {
		n = n.Add(h.NetSales)
	}
	return n
}

func TestRestaurantGenerator(t *testing.T) {
	t.Parallel()
	opts := sim.Options{Seed: 4, Restaurant: sim.RestaurantOptions{Data: sim.RestaurantDataOptions{LocationsPerBusiness: 2, SalesPerDay: 60,
		Zones: []string{"Europe/Copenhagen", "Australia/Sydney"},
		From:  time.Date(2025, 3, 25, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 4, 10, 0, 0, 0, 0, time.UTC)}}}
	a, b := start(t, opts), start(t, opts)
	ra, _ := a.Sim.Receipts(300001, sim.ReceiptFilter{})
	rb, _ := b.Sim.Receipts(300001, sim.ReceiptFilter{})
	if diff := cmp.Diff(ra, rb); diff != "" || len(ra) < 1500 {
		t.Fatalf("%d receipts; the same seed gave other data:\n%.2000s", len(ra), diff)
	}
	types := map[string]int{}
	cancelled, voids, refundsLinked, covers, ms := 0, 0, 0, 0, 0
	byFisc := map[string]sim.Receipt{}
	for _, r := range ra {
		byFisc[r.AccountFiscID] = r
	}
	for _, r := range ra {
		types[r.Type]++
		if r.Cancelled {
			cancelled++
		}
		if r.Type == sim.ReceiptVoid {
			if orig, ok := byFisc[r.InitialAccountID]; ok && orig.Cancelled && orig.Type == sim.ReceiptSale {
				voids++
			}
		}
		if r.Type == sim.ReceiptRefund {
			if orig, ok := byFisc[r.InitialAccountID]; ok && !r.Lines[0].Quantity.IsPositive() && orig.Type == sim.ReceiptSale {
				refundsLinked++
			}
		}
		if r.Type == sim.ReceiptSale && r.NbCovers.IsPositive() {
			covers++
		}
		if r.TimeClosed.Nanosecond() != 0 {
			ms++
		}
	}
	for _, typ := range []string{sim.ReceiptSale, sim.ReceiptRefund, sim.ReceiptVoid, sim.ReceiptSplit, sim.ReceiptTransfer} {
		if types[typ] == 0 {
			t.Errorf("no %s receipts: %v", typ, types)
		}
	}
	if voids != types[sim.ReceiptVoid] || refundsLinked != types[sim.ReceiptRefund] || cancelled <= voids {
		t.Errorf("voids %d of %d paired with a cancelled sale, refunds %d of %d linked, %d cancelled", voids, types[sim.ReceiptVoid], refundsLinked, types[sim.ReceiptRefund], cancelled)
	}
	if covers < types[sim.ReceiptSale]/2 || ms < len(ra)*9/10 {
		t.Errorf("%d sales with covers of %d, %d timestamps with milliseconds of %d", covers, types[sim.ReceiptSale], ms, len(ra))
	}
	// Both DST changes in the range (Copenhagen springs forward, Sydney falls back) have
	// receipts on either side.
	for _, change := range []string{"2025-03-30T01:00:00Z", "2025-04-05T16:00:00Z"} {
		at := mustTime(change)
		before, after := 0, 0
		for _, r := range ra {
			switch d := r.TimeClosed.Sub(at); {
			case d < 0 && d > -time.Hour:
				before++
			case d >= 0 && d < time.Hour:
				after++
			}
		}
		if before == 0 || after == 0 {
			t.Errorf("DST change %s: %d receipts in the hour before, %d after", change, before, after)
		}
	}
}

func TestRestaurantAdmin(t *testing.T) {
	t.Parallel()
	env := start(t, sim.Options{})
	body := `{"businessLocationId":300001001,"deviceId":30000100101,"timeClosed":"2025-06-01T10:00:00.5Z","nbCovers":"2",
		"accountDiscountPercent":"0.1","lines":[{"quantity":"2","unitPrice":"12.50","discountAmount":"5","name":"Pasta"}]}`
	r := do(t, env, http.MethodPost, "/admin/businesses/300001/receipts", "", strings.NewReader(body), "application/json")
	if r.status != 201 {
		t.Fatalf("add: %d %s", r.status, r.raw)
	}
	line := r.body["lines"].([]any)[0].(map[string]any)
	// London, 20 % VAT included: 25 − 5 = 20, less 10 % = 18.00 with tax, 15.00 without.
	if line["totalNetAmountWithTax"] != "18" || line["totalNetAmountWithoutTax"] != "15" || line["totalDiscountAmount"] != "7" || r.body["type"] != "SALE" {
		t.Errorf("computed line %v", r.body)
	}
	seq := strconv.FormatFloat(r.body["seq"].(float64), 'f', 0, 64)
	ch := do(t, env, http.MethodPatch, "/admin/businesses/300001/receipts/"+seq, "", strings.NewReader(`{"cancelled":true}`), "application/json")
	if ch.status != 200 || ch.body["cancelled"] != true {
		t.Errorf("change: %d %s", ch.status, ch.raw)
	}
	list := do(t, env, http.MethodGet, "/admin/businesses/300001/receipts?locationID=300001001&from=2025-06-01T00:00:00Z&until=2025-06-02T00:00:00Z", "", nil, "")
	var rs []sim.Receipt
	if err := json.Unmarshal([]byte(list.raw), &rs); err != nil || len(rs) != 1 || !rs[0].Cancelled || rs[0].TimeClosed.Nanosecond() != 5e8 {
		t.Errorf("list: %v %s", err, list.raw)
	}
	oracle := do(t, env, http.MethodGet, "/admin/restaurant-oracle?business=300001&location=300001001&from=2025-06-01", "", nil, "")
	if oracle.status != 200 || !strings.Contains(oracle.raw, `"visitors":"0"`) {
		t.Errorf("oracle of a cancelled sale: %d %.300s", oracle.status, oracle.raw)
	}
	for _, bad := range []struct{ method, path, body string }{
		{http.MethodPost, "/admin/businesses/300001/receipts", `{"businessLocationId":300001001,"deviceId":9,"timeClosed":"2025-06-01T10:00:00Z"}`},
		{http.MethodPost, "/admin/businesses/300001/receipts", `{"businessLocationId":300001001,"deviceId":30000100101}`},
		{http.MethodPost, "/admin/businesses/300001/receipts", `{"businessLocationId":300001001,"deviceId":30000100101,"timeClosed":"2025-06-01T10:00:00Z","type":"GIFT"}`},
		{http.MethodPost, "/admin/businesses/7/receipts", `{}`},
		{http.MethodPatch, "/admin/businesses/300001/receipts/999", `{"cancelled":true}`},
		{http.MethodGet, "/admin/restaurant-oracle?business=300001&location=1&from=2025-06-01", ``},
	} {
		if r := do(t, env, bad.method, bad.path, "", strings.NewReader(bad.body), "application/json"); r.status < 400 || r.body["error"] == nil {
			t.Errorf("%s %s %s accepted: %d %s", bad.method, bad.path, bad.body, r.status, r.raw)
		}
	}
}

func regexpMatch(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }

// TestRestaurantTaxExclusive: a US location is tax-exclusive. Its lines' taxLines say
// taxIncluded: false and the tax (rate × the amount before tax, to four decimals) comes on top;
// totalNetAmountWithTax, which the docs reserve for tax-inclusive businesses, holds the amount
// before tax. A VAT location's lines say taxIncluded: true, with the tax inside the amount.
func TestRestaurantTaxExclusive(t *testing.T) {
	t.Parallel()
	env := start(t, sim.Options{Restaurant: sim.RestaurantOptions{Data: sim.RestaurantDataOptions{LocationsPerBusiness: 2,
		Zones: []string{"America/New_York", "Europe/London"}}}})
	tok := env.RestaurantToken(t, 0)
	bs := env.Sim.Businesses()
	if ny, ldn := bs[0].Locations[0], bs[0].Locations[1]; !ny.TaxExclusive || ldn.TaxExclusive {
		t.Fatalf("tax-exclusive: New York %v, London %v", ny.TaxExclusive, ldn.TaxExclusive)
	}
	at := time.Date(2025, 12, 1, 15, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		location                      int64
		with, without, tax, taxLineAm string
		included                      bool
	}{
		{location: 300001001, with: "25.50", without: "25.50", tax: "2.2631", taxLineAm: "2.263100", included: false},
		{location: 300001002, with: "25.50", without: "21.25", tax: "4.2500", taxLineAm: "4.250000", included: true},
	} {
		// 3 × 9.00, less a 1.50 line discount.
		if _, err := env.Sim.AddReceipt(300001, sim.ReceiptInput{LocationID: tc.location, DeviceID: tc.location*100 + 1, TimeClosed: at,
			Lines: []sim.ReceiptLineInput{{Quantity: decimal.NewFromInt(3), UnitPrice: decimal.RequireFromString("9.00"), DiscountAmount: decimal.RequireFromString("1.50")}}}); err != nil {
			t.Fatal(err)
		}
		path := "/f/v2/business-location/" + strconv.FormatInt(tc.location, 10) + "/sales?" +
			url.Values{"from": {"2025-12-01T00:00:00Z"}, "to": {"2025-12-02T00:00:00Z"}}.Encode()
		r := get(t, env, path, tok.AccessToken)
		sales, _ := r.body["sales"].([]any)
		if r.status != 200 || len(sales) != 1 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		line := sales[0].(map[string]any)["salesLines"].([]any)[0].(map[string]any)
		taxLines, _ := line["taxLines"].([]any)
		if len(taxLines) != 1 {
			t.Fatalf("taxLines %v", line["taxLines"])
		}
		tl := taxLines[0].(map[string]any)
		got := []any{line["totalNetAmountWithTax"], line["totalNetAmountWithoutTax"], line["taxAmount"], tl["taxAmount"], tl["taxIncluded"]}
		if diff := cmp.Diff([]any{tc.with, tc.without, tc.tax, tc.taxLineAm, tc.included}, got); diff != "" {
			t.Errorf("location %d line (-want +got):\n%s", tc.location, diff)
		}
	}
}

// TestRestaurantConsentOfSeveralBusinesses: a K-Series consent may cover several businesses
// (a user of a restaurant group): its token lists them all and opens the locations of each,
// not those of a business it does not cover; its requests share one budget. An R-Series consent
// is for one account.
func TestRestaurantConsentOfSeveralBusinesses(t *testing.T) {
	t.Parallel()
	env := start(t, sim.Options{Data: sim.DataOptions{Accounts: 2}, Restaurant: sim.RestaurantOptions{
		Data:      sim.RestaurantDataOptions{Businesses: 3, LocationsPerBusiness: 1},
		RateLimit: sim.RestaurantRateLimit{RequestsPerSecond: 1, Burst: 3},
	}})
	tok := env.RestaurantTokenOf(t, 300003, 300001)
	r := get(t, env, "/f/data/businesses", tok.AccessToken)
	var body struct {
		Embedded struct {
			BusinessList []struct {
				BusinessID        int64 `json:"businessId"`
				BusinessLocations []struct {
					BLID int64 `json:"blID"`
				} `json:"businessLocations"`
			} `json:"businessList"`
		} `json:"_embedded"`
	}
	if err := json.Unmarshal([]byte(r.raw), &body); r.status != 200 || err != nil {
		t.Fatalf("%d %s %v", r.status, r.raw, err)
	}
	var ids []int64
	for _, b := range body.Embedded.BusinessList {
		ids = append(ids, b.BusinessID, b.BusinessLocations[0].BLID)
	}
	if diff := cmp.Diff([]int64{300001, 300001001, 300003, 300003001}, ids); diff != "" {
		t.Errorf("businesses and locations (-want +got):\n%s", diff)
	}
	q := "?from=2025-12-01T00:00:00Z&to=2025-12-02T00:00:00Z"
	// The budget (burst 3) is the consent's: its fourth request is refused, whatever location.
	for i, tc := range []struct {
		location string
		want     int
	}{{"300003001", 200}, {"300002001", 429}} {
		if i == 1 {
			if r := get(t, env, "/f/v2/business-location/300001001/sales"+q, tok.AccessToken); r.status != 200 {
				t.Fatalf("location of the other business: %d %s", r.status, r.raw)
			}
		}
		if r := get(t, env, "/f/v2/business-location/"+tc.location+"/sales"+q, tok.AccessToken); r.status != tc.want {
			t.Errorf("location %s: %d %s, want %d", tc.location, r.status, r.raw, tc.want)
		}
	}
	env.Clock.Advance(5 * time.Second)
	if r := get(t, env, "/f/v2/business-location/300002001/sales"+q, tok.AccessToken); r.status != 403 {
		t.Errorf("location of a business the consent does not cover: %d %s, want 403", r.status, r.raw)
	}

	// An R-Series consent names one account.
	u, err := env.Authorize(env.OAuth.AuthCodeURL("s", oauth2.SetAuthURLParam("account_id", "100001,100002")))
	if err != nil || u.Query().Get("error") != "access_denied" {
		t.Errorf("R-Series consent of two accounts: %v %v, want access_denied", u, err)
	}
}
