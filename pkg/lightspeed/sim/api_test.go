package sim_test

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/lightspeed/sim/simtest"
)

// dataEnv is a simulator with a month of generated sales over three registers in two zones,
// and limits off so that the tests can list freely.
func dataEnv(t *testing.T) (*simtest.Env, string) {
	t.Helper()
	env := start(t, sim.Options{
		Seed: 7,
		Data: sim.DataOptions{
			ShopsPerAccount: 2, RegistersPerShop: 2, SalesPerDay: 20,
			Zones: []string{"Europe/Copenhagen", "US/Eastern"},
			From:  time.Date(2025, 10, 20, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 11, 5, 0, 0, 0, 0, time.UTC),
		},
		RateLimit: sim.RateLimitOptions{Disabled: true},
	})
	return env, token(t, env).AccessToken
}

// records returns a list body's records as a slice, whatever their shape.
func records(t *testing.T, r response, key string) []map[string]any {
	t.Helper()
	switch v := r.body[key].(type) {
	case nil:
		return nil
	case map[string]any:
		return []map[string]any{v}
	case []any:
		if len(v) < 2 {
			t.Errorf("%s is an array of %d; one record must be an object", key, len(v))
		}
		out := make([]map[string]any, len(v))
		for i, x := range v {
			out[i] = x.(map[string]any)
		}
		return out
	}
	t.Fatalf("%s is neither object nor array: %s", key, r.raw)
	return nil
}

func saleIDs(t *testing.T, r response) []int64 {
	t.Helper()
	var out []int64
	for _, s := range records(t, r, "Sale") {
		id, err := strconv.ParseInt(s["saleID"].(string), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

// walk follows next links from path and returns every sale id and the number of pages.
func walk(t *testing.T, env *simtest.Env, path, tok string) ([]int64, int) {
	t.Helper()
	var ids []int64
	pages := 0
	for path != "" {
		r := get(t, env, path, tok)
		if r.status != 200 {
			t.Fatalf("GET %s: %d %s", path, r.status, r.raw)
		}
		pages++
		attrs := r.body["@attributes"].(map[string]any)
		if pages == 1 && !strings.Contains(path, "after=") && attrs["previous"] != "" {
			t.Errorf("page 1 has previous %q", attrs["previous"])
		}
		ids = append(ids, saleIDs(t, r)...)
		next := attrs["next"].(string)
		path = ""
		if next != "" {
			if !strings.HasPrefix(next, env.URL+accountPath+"Sale.json?") {
				t.Fatalf("next is not a full URL: %s", next)
			}
			path = strings.TrimPrefix(next, env.URL)
		}
	}
	return ids, pages
}

func TestSaleFilters(t *testing.T) {
	t.Parallel()
	env, tok := dataEnv(t)
	all, err := env.Sim.Sales(100001, sim.SaleFilter{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 10, 25, 0, 0, 0, 0, time.UTC)
	t1 := time.Date(2025, 10, 27, 12, 0, 0, 0, time.UTC)
	ts := func(t time.Time) string { return t.Format("2006-01-02T15:04:05-07:00") }
	tests := []struct {
		name  string
		query url.Values
		want  func(s sim.Sale) bool
	}{
		{name: "between completeTime", query: url.Values{"completeTime": {"><," + ts(t0) + "," + ts(t1)}},
			want: func(s sim.Sale) bool {
				return !s.CompleteTime.IsZero() && !s.CompleteTime.Before(t0) && !s.CompleteTime.After(t1)
			}},
		{name: ">= completeTime", query: url.Values{"completeTime": {">=," + ts(t1)}},
			want: func(s sim.Sale) bool { return !s.CompleteTime.IsZero() && !s.CompleteTime.Before(t1) }},
		{name: "<= timeStamp", query: url.Values{"timeStamp": {"<=," + ts(t0)}},
			want: func(s sim.Sale) bool { return !s.TimeStamp.After(t0) }},
		{name: "date without offset", query: url.Values{"completeTime": {"<,2025-10-25"}},
			want: func(s sim.Sale) bool { return !s.CompleteTime.IsZero() && s.CompleteTime.Before(t0) }},
		{name: "registerID =", query: url.Values{"registerID": {"3"}},
			want: func(s sim.Sale) bool { return s.RegisterID == 3 }},
		{name: "registerID = with operator", query: url.Values{"registerID": {"=,2"}},
			want: func(s sim.Sale) bool { return s.RegisterID == 2 }},
		{name: "registerID IN", query: url.Values{"registerID": {"IN,[1,4]"}},
			want: func(s sim.Sale) bool { return s.RegisterID == 1 || s.RegisterID == 4 }},
		{name: "shopID", query: url.Values{"shopID": {"2"}},
			want: func(s sim.Sale) bool { return s.ShopID == 2 }},
		{name: "counted only", query: url.Values{"completed": {"true"}, "voided": {"false"}},
			want: func(s sim.Sale) bool { return s.Completed && !s.Voided }},
		{name: "open sales", query: url.Values{"completed": {"false"}},
			want: func(s sim.Sale) bool { return !s.Completed }},
		{name: "archived", query: url.Values{"archived": {"true"}},
			want: func(s sim.Sale) bool { return s.Archived }},
		{name: "voided", query: url.Values{"voided": {"true"}},
			want: func(s sim.Sale) bool { return s.Voided }},
		{name: "combined", query: url.Values{"registerID": {"IN,[2,3]"}, "completed": {"true"}, "voided": {"false"}, "completeTime": {"><," + ts(t0) + "," + ts(t1)}},
			want: func(s sim.Sale) bool {
				return (s.RegisterID == 2 || s.RegisterID == 3) && s.Completed && !s.Voided && !s.CompleteTime.Before(t0) && !s.CompleteTime.After(t1)
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var want []int64
			for _, s := range all {
				if tc.want(s) {
					want = append(want, s.ID)
				}
			}
			if len(want) == 0 {
				t.Fatal("the data has no sale for this filter; the test would prove nothing")
			}
			got, _ := walk(t, env, accountPath+"Sale.json?"+tc.query.Encode(), tok)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("sale ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSaleShape(t *testing.T) {
	t.Parallel()
	env, tok := dataEnv(t)
	all, _ := env.Sim.Sales(100001, sim.SaleFilter{})
	var open, single, multi int64
	for _, s := range all {
		switch {
		case !s.Completed && open == 0:
			open = s.ID
		case len(s.Lines) == 1 && single == 0:
			single = s.ID
		case len(s.Lines) > 2 && multi == 0:
			multi = s.ID
		}
	}
	rel := "&load_relations=" + url.QueryEscape(`["SaleLines"]`)
	one := get(t, env, accountPath+"Sale.json?saleID="+strconv.FormatInt(single, 10)+rel, tok)
	s, ok := one.body["Sale"].(map[string]any)
	if !ok {
		t.Fatalf("one sale is not an object: %s", one.raw)
	}
	line, ok := s["SaleLines"].(map[string]any)["SaleLine"].(map[string]any)
	if !ok {
		t.Fatalf("one line is not an object: %s", one.raw)
	}
	for k, v := range s {
		if _, isString := v.(string); !isString && k != "SaleLines" {
			t.Errorf("sale field %s is %T, want a string", k, v)
		}
	}
	for k, v := range line {
		if _, isString := v.(string); !isString {
			t.Errorf("line field %s is %T, want a string", k, v)
		}
	}
	utc := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$`)
	for _, k := range []string{"completeTime", "timeStamp", "createTime", "updatetime"} {
		if !utc.MatchString(s[k].(string)) {
			t.Errorf("%s = %q, want UTC with +00:00", k, s[k])
		}
	}
	many := get(t, env, accountPath+"Sale.json?saleID="+strconv.FormatInt(multi, 10)+rel, tok)
	if _, ok := many.body["Sale"].(map[string]any)["SaleLines"].(map[string]any)["SaleLine"].([]any); !ok {
		t.Errorf("several lines are not an array: %s", many.raw)
	}
	if r := get(t, env, accountPath+"Sale.json?saleID="+strconv.FormatInt(multi, 10), tok); r.body["Sale"].(map[string]any)["SaleLines"] != nil {
		t.Error("lines sent without load_relations")
	}
	openSale := get(t, env, accountPath+"Sale/"+strconv.FormatInt(open, 10)+".json", tok)
	if o := openSale.body["Sale"].(map[string]any); o["completed"] != "false" || o["completeTime"] != nil {
		t.Errorf("open sale: %s", openSale.raw)
	}
	if openSale.body["@attributes"].(map[string]any)["count"] != "1" {
		t.Errorf("single GET attributes: %s", openSale.raw)
	}
	empty := get(t, env, accountPath+"Sale.json?registerID=999", tok)
	if _, has := empty.body["Sale"]; has || empty.status != 200 {
		t.Errorf("empty result: %d %s", empty.status, empty.raw)
	}
	if a := empty.body["@attributes"].(map[string]any); a["next"] != "" || a["previous"] != "" {
		t.Errorf("empty result attributes: %v", a)
	}
	if r := get(t, env, accountPath+"Sale/99999999.json", tok); r.status != 404 {
		t.Errorf("missing sale: %d", r.status)
	}
	all2 := get(t, env, accountPath+"Sale.json?load_relations=all&limit=2", tok)
	if len(records(t, all2, "Sale")) != 2 || all2.body["Sale"].([]any)[0].(map[string]any)["SaleLines"] == nil {
		t.Errorf("load_relations=all: %s", all2.raw)
	}
}

func TestPaging(t *testing.T) {
	t.Parallel()
	env, tok := dataEnv(t)
	all, _ := env.Sim.Sales(100001, sim.SaleFilter{RegisterID: 2})
	var want []int64
	for _, s := range all {
		want = append(want, s.ID)
	}
	for _, limit := range []int{100, 37, 1} {
		path := accountPath + "Sale.json?registerID=2&limit=" + strconv.Itoa(limit)
		got, pages := walk(t, env, path, tok)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("limit %d: ids (-want +got):\n%s", limit, diff)
		}
		if wantPages := (len(want) + limit - 1) / limit; pages != wantPages {
			t.Errorf("limit %d: %d pages, want exactly %d", limit, pages, wantPages)
		}
	}
	// The next URL carries every original parameter plus the default sort and limit, and an
	// opaque base64 JSON cursor.
	filtered := get(t, env, accountPath+"Sale.json?registerID=2&completed=true", tok)
	fnext, _ := url.Parse(filtered.body["@attributes"].(map[string]any)["next"].(string))
	if q := fnext.Query(); q.Get("registerID") != "2" || q.Get("completed") != "true" || q.Get("sort") != "saleID" || q.Get("limit") != "100" {
		t.Errorf("next URL parameters: %v", q)
	}
	r := get(t, env, accountPath+"Sale.json?registerID=2", tok)
	next, _ := url.Parse(r.body["@attributes"].(map[string]any)["next"].(string))
	q := next.Query()
	cursor, err := base64.StdEncoding.DecodeString(q.Get("after"))
	if err != nil || !regexp.MustCompile(`^\[\d+\]$`).Match(cursor) {
		t.Errorf("after cursor %q decodes to %q", q.Get("after"), cursor)
	}
	// Walking back with previous returns the first page again.
	r2 := get(t, env, strings.TrimPrefix(next.String(), env.URL), tok)
	prev := r2.body["@attributes"].(map[string]any)["previous"].(string)
	if prev == "" {
		t.Fatal("page 2 has no previous")
	}
	back := get(t, env, strings.TrimPrefix(prev, env.URL), tok)
	if diff := cmp.Diff(saleIDs(t, r), saleIDs(t, back)); diff != "" {
		t.Errorf("previous of page 2 (-page1 +got):\n%s", diff)
	}
	// A new sale appended while paging shows up on a later page, and nothing repeats.
	loc := time.Date(2025, 11, 1, 12, 0, 0, 0, time.UTC)
	added, err := env.Sim.AddSale(100001, sim.SaleInput{RegisterID: 2, Completed: true, CompleteTime: loc,
		Lines: []sim.LineInput{{UnitQuantity: decimal.NewFromInt(1), UnitPrice: decimal.NewFromInt(10)}}})
	if err != nil {
		t.Fatal(err)
	}
	rest, _ := walk(t, env, strings.TrimPrefix(next.String(), env.URL), tok)
	got := append(saleIDs(t, r), rest...)
	if diff := cmp.Diff(append(want, added.ID), got); diff != "" {
		t.Errorf("paging across an insert (-want +got):\n%s", diff)
	}
}

func TestSort(t *testing.T) {
	t.Parallel()
	env, tok := dataEnv(t)
	all, _ := env.Sim.Sales(100001, sim.SaleFilter{RegisterID: 1})
	tests := []struct {
		sort string
		less func(a, b sim.Sale) bool
	}{
		{sort: "saleID", less: func(a, b sim.Sale) bool { return a.ID < b.ID }},
		{sort: "-saleID", less: func(a, b sim.Sale) bool { return a.ID > b.ID }},
		{sort: "completeTime", less: func(a, b sim.Sale) bool {
			return a.CompleteTime.Before(b.CompleteTime) || a.CompleteTime.Equal(b.CompleteTime) && a.ID < b.ID
		}},
		{sort: "-timeStamp", less: func(a, b sim.Sale) bool {
			return a.TimeStamp.After(b.TimeStamp) || a.TimeStamp.Equal(b.TimeStamp) && a.ID > b.ID
		}},
		{sort: "updatetime", less: func(a, b sim.Sale) bool {
			return a.TimeStamp.Before(b.TimeStamp) || a.TimeStamp.Equal(b.TimeStamp) && a.ID < b.ID
		}},
	}
	for _, tc := range tests {
		t.Run(tc.sort, func(t *testing.T) {
			t.Parallel()
			sorted := append([]sim.Sale(nil), all...)
			sort.SliceStable(sorted, func(i, j int) bool { return tc.less(sorted[i], sorted[j]) })
			var want []int64
			for _, s := range sorted {
				want = append(want, s.ID)
			}
			got, _ := walk(t, env, accountPath+"Sale.json?registerID=1&limit=50&sort="+url.QueryEscape(tc.sort), tok)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBadQueries(t *testing.T) {
	t.Parallel()
	env, tok := dataEnv(t)
	tests := []struct {
		name, query, wantMessage string
	}{
		{"unknown sort field", "sort=total", "saleID, timeStamp, completeTime, updatetime"},
		{"limit over 100", "limit=101", "limit"},
		{"count with limit", "count=1&limit=5", "count"},
		{"count with sort", "count=1&sort=saleID", "count"},
		{"bad cursor", "after=notbase64!", "cursor"},
		{"unknown relation", "load_relations=" + url.QueryEscape(`["Nope"]`), "Nope"},
		{"bad time", "completeTime=" + url.QueryEscape(">=,yesterday"), "completeTime"},
		{"bad IN", "registerID=" + url.QueryEscape("IN,1,2"), "IN"},
		{"unknown field", "colour=red", "colour"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := get(t, env, accountPath+"Sale.json?"+tc.query, tok)
			if r.status != 400 || r.body["httpCode"] != "400" || !strings.Contains(r.body["message"].(string), tc.wantMessage) {
				t.Errorf("%d %s, want 400 mentioning %q", r.status, r.raw, tc.wantMessage)
			}
		})
	}
}

func TestCount(t *testing.T) {
	t.Parallel()
	env := start(t, sim.Options{Seed: 7, Data: sim.DataOptions{SalesPerDay: 10,
		From: time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 10, 3, 0, 0, 0, 0, time.UTC)}})
	tok := token(t, env).AccessToken
	all, _ := env.Sim.Sales(100001, sim.SaleFilter{})
	n := 0
	for _, s := range all {
		if s.Completed && !s.Voided {
			n++
		}
	}
	r := get(t, env, accountPath+"Sale.json?count=1&completed=true&voided=false", tok)
	want := map[string]any{"@attributes": map[string]any{"count": strconv.Itoa(n)}}
	if diff := cmp.Diff(want, r.body); diff != "" {
		t.Errorf("count body (-want +got):\n%s", diff)
	}
	if got := r.header.Get("X-LS-API-Request-Cost"); got != "10" {
		t.Errorf("count cost %q, want 10", got)
	}
	if got := r.header.Get("X-LS-API-Bucket-Level"); got != "10/90" {
		t.Errorf("bucket after a count %q, want 10/90", got)
	}
}

func TestShopsRegistersAccount(t *testing.T) {
	t.Parallel()
	env := start(t, sim.Options{Data: sim.DataOptions{ShopsPerAccount: 4, RegistersPerShop: 2}})
	tok := token(t, env).AccessToken
	acct := get(t, env, "/API/V3/Account.json", tok)
	want := map[string]any{"@attributes": map[string]any{"count": "1"}, "Account": map[string]any{
		"accountID": "100001", "name": "Simulated Retail 1",
		"link": map[string]any{"@attributes": map[string]any{"href": "/API/Account/100001"}}}}
	if diff := cmp.Diff(want, acct.body); diff != "" {
		t.Errorf("Account.json (-want +got):\n%s", diff)
	}
	shops := records(t, get(t, env, accountPath+"Shop.json", tok), "Shop")
	var zones []string
	for _, s := range shops {
		zones = append(zones, s["timeZone"].(string))
	}
	if diff := cmp.Diff([]string{"Europe/Copenhagen", "America/New_York", "US/Pacific", "Europe/London"}, zones); diff != "" {
		t.Errorf("shop zones (-want +got):\n%s", diff)
	}
	regs := records(t, get(t, env, accountPath+"Register.json?shopID=3", tok), "Register")
	if len(regs) != 2 || regs[0]["shopID"] != "3" || regs[0]["registerID"] != "5" {
		t.Errorf("registers of shop 3: %v", regs)
	}
}
