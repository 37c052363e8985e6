package sim_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/lightspeed/sim/simtest"
)

// movingEnv is a simulator with sales from 2025-12-01 to 12-30 on two shops of two registers
// each, on a clock standing at 2026-01-01T00:00:00Z, limits off.
func movingEnv(t *testing.T) (*simtest.Env, string) {
	t.Helper()
	env := start(t, sim.Options{
		Seed: 11,
		Data: sim.DataOptions{
			ShopsPerAccount: 2, RegistersPerShop: 2, SalesPerDay: 12,
			Zones: []string{"Europe/Copenhagen", "America/New_York"},
			From:  time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 12, 30, 0, 0, 0, 0, time.UTC),
		},
		RateLimit: sim.RateLimitOptions{Disabled: true},
	})
	return env, token(t, env).AccessToken
}

// countedOn returns a counted sale of register completed on the UTC date day.
func countedOn(t *testing.T, env *simtest.Env, register int64, day string) sim.Sale {
	t.Helper()
	from := mustTime(day + "T10:00:00Z")
	sales, err := env.Sim.Sales(100001, sim.SaleFilter{RegisterID: register, From: from, Until: from.Add(8 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sales {
		if s.Completed && !s.Voided && len(s.Lines) > 0 && s.Lines[0].UnitQuantity.IsPositive() {
			return s
		}
	}
	t.Fatalf("no counted sale of register %d on %s", register, day)
	return sim.Sale{}
}

// grossOn is the oracle's gross sales of an account's register (0: all) on a date in zone.
func grossOn(t *testing.T, env *simtest.Env, register int64, date, zone string) decimal.Decimal {
	t.Helper()
	days, err := env.Sim.Expected(sim.OracleQuery{AccountID: 100001, RegisterID: register, From: date, Until: date, Zone: zone})
	if err != nil {
		t.Fatal(err)
	}
	sum := decimal.Zero
	for _, h := range days[0].Hours {
		sum = sum.Add(h.GrossSales)
	}
	return sum
}

func saleGross(s sim.Sale) decimal.Decimal {
	sum := decimal.Zero
	for _, l := range s.Lines {
		if l.UnitQuantity.IsPositive() {
			sum = sum.Add(l.CalcTotal)
		}
	}
	return sum
}

// changedSince lists the sales whose timeStamp is at or after since, sorted by it, following
// next, and returns their ids, their timeStamps and the number of pages.
func changedSince(t *testing.T, env *simtest.Env, tok string, since time.Time, limit int) ([]int64, []string, int) {
	t.Helper()
	q := url.Values{"timeStamp": {">=," + since.Format(time.RFC3339)}, "sort": {"timeStamp"}, "limit": {strconv.Itoa(limit)}}
	path := accountPath + "Sale.json?" + q.Encode()
	var ids []int64
	var stamps []string
	pages := 0
	for path != "" {
		r := get(t, env, path, tok)
		if r.status != 200 {
			t.Fatalf("GET %s: %d %s", path, r.status, r.raw)
		}
		pages++
		for _, s := range records(t, r, "Sale") {
			id, _ := strconv.ParseInt(s["saleID"].(string), 10, 64)
			ids = append(ids, id)
			stamps = append(stamps, s["timeStamp"].(string))
		}
		path = strings.TrimPrefix(r.body["@attributes"].(map[string]any)["next"].(string), env.URL)
	}
	return ids, stamps, pages
}

// TestMovingWorld: a late sync, a completeTime moved to the next day, a void after the fact and
// a new register with a sale each move their sale's timeStamp to now; one timeStamp listing
// since the moment before finds exactly those four, and the oracle follows every change.
func TestMovingWorld(t *testing.T) {
	t.Parallel()
	env, tok := movingEnv(t)
	const cph, nyc = "Europe/Copenhagen", "America/New_York"

	// Generated data has no change stamped after the clock (edits days later happened before now).
	all, err := env.Sim.Sales(100001, sim.SaleFilter{})
	if err != nil {
		t.Fatal(err)
	}
	now := env.Clock.Now()
	for _, s := range all {
		if s.TimeStamp.After(now) {
			t.Fatalf("sale %d is stamped %v, after the clock's %v", s.ID, s.TimeStamp, now)
		}
	}
	if ids, _, _ := changedSince(t, env, tok, now.Add(time.Second), 100); len(ids) != 0 {
		t.Fatalf("changes after the clock before anything happened: %v", ids)
	}

	env.Clock.Advance(9 * time.Hour) // 2026-01-01T09:00:00Z
	watermark := env.Clock.Now()
	tok = token(t, env).AccessToken // the first one expired meanwhile

	// 1. A late sync: completed ten days ago on register 1, seen only now.
	env.Clock.Advance(time.Minute)
	late, err := env.Sim.AddSale(100001, sim.SaleInput{RegisterID: 1, Completed: true, CompleteTime: mustTime("2025-12-22T12:34:56Z"),
		Lines: []sim.LineInput{{UnitQuantity: decimal.NewFromInt(2), UnitPrice: decimal.NewFromInt(40)}}})
	if err != nil {
		t.Fatal(err)
	}
	if !late.TimeStamp.Equal(env.Clock.Now()) || !late.CreateTime.Equal(late.CompleteTime) {
		t.Errorf("late sale stamped %v, created %v; want now and its completion time", late.TimeStamp, late.CreateTime)
	}

	// 2. A completeTime moved from 2025-12-20 to the next day (register 2, Copenhagen).
	env.Clock.Advance(time.Minute)
	moved := countedOn(t, env, 2, "2025-12-20")
	beforeA, beforeB := grossOn(t, env, 0, "2025-12-20", cph), grossOn(t, env, 0, "2025-12-21", cph)
	next := moved.CompleteTime.Add(24 * time.Hour)
	if _, err := env.Sim.ChangeSale(100001, moved.ID, sim.SaleChange{CompleteTime: &next}); err != nil {
		t.Fatal(err)
	}
	if got, want := grossOn(t, env, 0, "2025-12-20", cph), beforeA.Sub(saleGross(moved)); !got.Equal(want) {
		t.Errorf("oracle 2025-12-20 after the move: %s, want %s", got, want)
	}
	if got, want := grossOn(t, env, 0, "2025-12-21", cph), beforeB.Add(saleGross(moved)); !got.Equal(want) {
		t.Errorf("oracle 2025-12-21 after the move: %s, want %s", got, want)
	}

	// 3. A void after the fact, four days back (register 3, New York).
	env.Clock.Advance(time.Minute)
	voided := countedOn(t, env, 3, "2025-12-28")
	beforeV := grossOn(t, env, 3, "2025-12-28", nyc)
	yes := true
	if _, err := env.Sim.ChangeSale(100001, voided.ID, sim.SaleChange{Voided: &yes}); err != nil {
		t.Fatal(err)
	}
	if got, want := grossOn(t, env, 3, "2025-12-28", nyc), beforeV.Sub(saleGross(voided)); !got.Equal(want) {
		t.Errorf("oracle after the void: %s, want %s", got, want)
	}

	// 4. A new register in shop 2 (over the admin API) with a sale of yesterday.
	env.Clock.Advance(time.Minute)
	r := do(t, env, http.MethodPost, "/admin/accounts/100001/shops/2/registers", "", strings.NewReader(`{"name":"Pop-up till"}`), "application/json")
	if r.status != http.StatusCreated || r.body["registerID"] != 5.0 || r.body["shopID"] != 2.0 || r.body["name"] != "Pop-up till" {
		t.Fatalf("add register: %d %s", r.status, r.raw)
	}
	fresh, err := env.Sim.AddSale(100001, sim.SaleInput{RegisterID: 5, Completed: true, CompleteTime: mustTime("2025-12-31T15:00:00Z"),
		Lines: []sim.LineInput{{UnitQuantity: decimal.NewFromInt(1), UnitPrice: decimal.NewFromInt(10)}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := grossOn(t, env, 5, "2025-12-31", nyc); !got.Equal(saleGross(fresh)) || got.IsZero() {
		t.Errorf("oracle of the new register: %s, want %s", got, saleGross(fresh))
	}
	regs := get(t, env, accountPath+"Register.json?shopID=2", tok)
	if got := len(records(t, regs, "Register")); got != 3 {
		t.Errorf("shop 2 lists %d registers, want 3: %s", got, regs.raw)
	}
	if lvl := regs.header.Get("X-LS-Api-Bucket-Level"); !strings.HasSuffix(lvl, "/130") {
		t.Errorf("bucket level %q: five registers make a bucket of 130", lvl)
	}

	// One listing since the watermark: the four changed sales, in timeStamp order, nothing older.
	ids, stamps, pages := changedSince(t, env, tok, watermark, 100)
	want := []int64{late.ID, moved.ID, voided.ID, fresh.ID}
	if !slices.Equal(ids, want) || pages != 1 || !slices.IsSorted(stamps) {
		t.Errorf("changes since %v: %v in %d pages (stamps %v), want %v in 1", watermark, ids, pages, stamps, want)
	}
	// Paged two at a time: ceil(4/2) requests, the same sales.
	if ids, _, pages := changedSince(t, env, tok, watermark, 2); !slices.Equal(ids, want) || pages != 2 {
		t.Errorf("paged by 2: %v in %d pages, want %v in 2", ids, pages, want)
	}
	// > excludes the instant itself: after the late sale's stamp come the other three.
	gt := url.Values{"timeStamp": {">," + late.TimeStamp.Format(time.RFC3339)}, "sort": {"timeStamp"}}
	if got := saleIDs(t, get(t, env, accountPath+"Sale.json?"+gt.Encode(), tok)); !slices.Equal(got, want[1:]) {
		t.Errorf("timeStamp > the late sale's: %v, want %v", got, want[1:])
	}
	// A refused admin request changes nothing.
	if r := do(t, env, http.MethodPost, "/admin/accounts/100001/shops/9/registers", "", nil, ""); r.status != http.StatusNotFound {
		t.Errorf("register of an unknown shop: %d %s", r.status, r.raw)
	}
	if ids, _, _ := changedSince(t, env, tok, watermark, 100); len(ids) != 4 {
		t.Errorf("after a refused admin request: %v", ids)
	}
}

// TestChangedRecordMovesInTimeStampListing: a record changed while a timeStamp-sorted listing
// is paged leaves its place and comes again at the end, since its key moved past the cursor;
// in a saleID listing it keeps its place, so a page already read does not show it again.
func TestChangedRecordMovesInTimeStampListing(t *testing.T) {
	t.Parallel()
	env, _ := movingEnv(t)
	env.Clock.Advance(time.Hour)
	watermark := env.Clock.Now()
	tok := token(t, env).AccessToken
	var added []sim.Sale
	for i := range 5 {
		env.Clock.Advance(time.Second)
		s, err := env.Sim.AddSale(100001, sim.SaleInput{RegisterID: 1, Completed: true, CompleteTime: mustTime("2025-12-10T10:00:00Z").Add(time.Duration(i) * time.Minute),
			Lines: []sim.LineInput{{UnitQuantity: decimal.NewFromInt(1), UnitPrice: decimal.NewFromInt(5)}}})
		if err != nil {
			t.Fatal(err)
		}
		added = append(added, s)
	}
	q := url.Values{"timeStamp": {">=," + watermark.Format(time.RFC3339)}, "sort": {"timeStamp"}, "limit": {"2"}}
	p1 := get(t, env, accountPath+"Sale.json?"+q.Encode(), tok)
	if got := saleIDs(t, p1); !slices.Equal(got, []int64{added[0].ID, added[1].ID}) {
		t.Fatalf("page 1: %v %s", got, p1.raw)
	}
	// Sale 0 (already read) is voided now: it moves to the end of the listing.
	env.Clock.Advance(time.Second)
	yes := true
	if _, err := env.Sim.ChangeSale(100001, added[0].ID, sim.SaleChange{Voided: &yes}); err != nil {
		t.Fatal(err)
	}
	var rest []int64
	next := p1.body["@attributes"].(map[string]any)["next"].(string)
	for next != "" {
		r := get(t, env, strings.TrimPrefix(next, env.URL), tok)
		rest = append(rest, saleIDs(t, r)...)
		next = r.body["@attributes"].(map[string]any)["next"].(string)
	}
	if want := []int64{added[2].ID, added[3].ID, added[4].ID, added[0].ID}; !slices.Equal(rest, want) {
		t.Errorf("pages after the change: %v, want %v (the changed sale again, last)", rest, want)
	}

	// By saleID, a change to a sale already read does not bring it back.
	byID := url.Values{"saleID": {">=," + strconv.FormatInt(added[0].ID, 10)}, "limit": {"2"}}
	p1 = get(t, env, accountPath+"Sale.json?"+byID.Encode(), tok)
	env.Clock.Advance(time.Second)
	if _, err := env.Sim.ChangeSale(100001, added[1].ID, sim.SaleChange{Voided: &yes}); err != nil {
		t.Fatal(err)
	}
	rest = nil
	next = p1.body["@attributes"].(map[string]any)["next"].(string)
	for next != "" {
		r := get(t, env, strings.TrimPrefix(next, env.URL), tok)
		rest = append(rest, saleIDs(t, r)...)
		next = r.body["@attributes"].(map[string]any)["next"].(string)
	}
	if want := []int64{added[2].ID, added[3].ID, added[4].ID}; !slices.Equal(rest, want) {
		t.Errorf("saleID pages after the change: %v, want %v", rest, want)
	}
}

// TestLateReceipt: a K-Series receipt closed five days ago that syncs only now (an offline
// device) appears with its original timeClosed, in timeClosed order, in any read whose range
// covers that time: a two-day re-read misses it, a seven-day re-read finds it, and the oracle
// counts it on its original day. A receipt synced while a read pages past its place is not in
// that read. A new device's receipts appear like any other.
func TestLateReceipt(t *testing.T) {
	t.Parallel()
	env, tok := restaurantEnv(t, sim.RestaurantOptions{Data: sim.RestaurantDataOptions{SalesPerDay: 8,
		From: time.Date(2025, 12, 15, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)}})
	const loc = int64(300001001)
	access := tok.AccessToken
	now := env.Clock.Now() // 2026-01-01T00:00:00Z
	kt := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	sevenDays, _ := pageThrough(t, env, access, kt(now.Add(-7*24*time.Hour)), kt(now), "100")

	closed := mustTime("2025-12-27T19:45:12Z").Add(345 * time.Millisecond)
	rc, err := env.Sim.AddReceipt(300001, sim.ReceiptInput{LocationID: loc, DeviceID: loc*100 + 1, TimeClosed: closed, NbCovers: decimal.NewFromInt(2),
		Lines: []sim.ReceiptLineInput{{Quantity: decimal.NewFromInt(1), UnitPrice: decimal.NewFromInt(30), Name: "Late lunch"}}})
	if err != nil {
		t.Fatal(err)
	}
	twoDays, _ := pageThrough(t, env, access, kt(now.Add(-2*24*time.Hour)), kt(now), "100")
	for _, s := range twoDays {
		if s["accountFiscId"] == rc.AccountFiscID {
			t.Errorf("a two-day re-read found the receipt closed %v", closed)
		}
	}
	after, pages := pageThrough(t, env, access, kt(now.Add(-7*24*time.Hour)), kt(now), "100")
	if len(after) != len(sevenDays)+1 || pages != (len(after)+99)/100 {
		t.Fatalf("seven-day re-read: %d sales in %d pages, want %d in ceil(n/100)", len(after), pages, len(sevenDays)+1)
	}
	found := false
	for i, s := range after {
		if i > 0 && s["timeClosed"].(string) < after[i-1]["timeClosed"].(string) {
			t.Errorf("sales out of timeClosed order at %d", i)
		}
		if s["accountFiscId"] == rc.AccountFiscID {
			found = true
			if s["timeClosed"] != "2025-12-27T19:45:12.345Z" {
				t.Errorf("late receipt shows timeClosed %v, want its original time", s["timeClosed"])
			}
		}
	}
	if !found {
		t.Error("the seven-day re-read misses the late receipt")
	}
	days, err := env.Sim.ExpectedRestaurant(sim.RestaurantOracleQuery{BusinessID: 300001, LocationID: loc, From: "2025-12-27", Until: "2025-12-27"})
	if err != nil {
		t.Fatal(err)
	}
	covers := decimal.Zero
	for _, h := range days[0].Hours {
		if h.Clock == "19:00+00:00" {
			covers = h.Visitors
		}
	}
	if covers.LessThan(decimal.NewFromInt(2)) {
		t.Errorf("oracle 2025-12-27 19:00 (London) has %s covers, the late receipt's 2 missing", covers)
	}

	// A receipt synced behind a read's cursor is not in that read, only in the next.
	p1 := get(t, env, salesQuery(kt(now.Add(-7*24*time.Hour)), kt(now), "pageSize", "10"), access)
	first := p1.body["sales"].([]any)
	if _, err := env.Sim.AddReceipt(300001, sim.ReceiptInput{LocationID: loc, DeviceID: loc*100 + 1,
		TimeClosed: mustTime(first[0].(map[string]any)["timeClosed"].(string)).Add(time.Millisecond),
		Lines:      []sim.ReceiptLineInput{{Quantity: decimal.NewFromInt(1), UnitPrice: decimal.NewFromInt(3)}}}); err != nil {
		t.Fatal(err)
	}
	seen := len(first)
	token := p1.body["nextPageToken"].(string)
	for token != "" {
		r := get(t, env, salesQuery(kt(now.Add(-7*24*time.Hour)), kt(now), "pageSize", "10", "nextPageToken", token), access)
		seen += len(r.body["sales"].([]any))
		token, _ = r.body["nextPageToken"].(string)
	}
	if seen != len(after) {
		t.Errorf("the read that paged past the new receipt's place saw %d sales, want %d", seen, len(after))
	}
	if again, _ := pageThrough(t, env, access, kt(now.Add(-7*24*time.Hour)), kt(now), "100"); len(again) != len(after)+1 {
		t.Errorf("the next read saw %d sales, want %d", len(again), len(after)+1)
	}

	// A new device (over the admin API) and a receipt on it.
	r := do(t, env, http.MethodPost, "/admin/businesses/300001/locations/300001001/devices", "", strings.NewReader(`{"deviceName":"Terrace iPad"}`), "application/json")
	if r.status != http.StatusCreated || r.body["deviceId"] != float64(loc*100+2) || r.body["deviceName"] != "Terrace iPad" {
		t.Fatalf("add device: %d %s", r.status, r.raw)
	}
	if _, err := env.Sim.AddReceipt(300001, sim.ReceiptInput{LocationID: loc, DeviceID: loc*100 + 2, TimeClosed: now.Add(-time.Hour),
		Lines: []sim.ReceiptLineInput{{Quantity: decimal.NewFromInt(1), UnitPrice: decimal.NewFromInt(12)}}}); err != nil {
		t.Fatalf("receipt on the new device: %v", err)
	}
	last, _ := pageThrough(t, env, access, kt(now.Add(-2*time.Hour)), kt(now), "")
	if len(last) == 0 || last[len(last)-1]["deviceId"] != float64(loc*100+2) || last[len(last)-1]["deviceName"] != "Terrace iPad" {
		t.Errorf("the new device's receipt is not listed: %v", last)
	}
	if r := do(t, env, http.MethodPost, "/admin/businesses/300001/locations/300002001/devices", "", nil, ""); r.status != http.StatusNotFound {
		t.Errorf("device of another business's location: %d %s", r.status, r.raw)
	}
}

// TestMovingWorldConcurrently: listings and the admin API's changes run at once (for the race
// detector): registers and devices added while shops, registers, sales and businesses are read.
func TestMovingWorldConcurrently(t *testing.T) {
	t.Parallel()
	env, _ := movingEnv(t)
	tok := token(t, env).AccessToken
	ktok := env.RestaurantToken(t, 0).AccessToken
	done := make(chan struct{})
	errs := make(chan error, 4)
	go func() {
		defer close(done)
		for i := range 20 {
			reg, err := env.Sim.AddRegister(100001, int64(1+i%2), "")
			if err == nil {
				_, err = env.Sim.AddSale(100001, sim.SaleInput{RegisterID: reg.ID, Completed: true, CompleteTime: mustTime("2025-12-20T12:00:00Z"),
					Lines: []sim.LineInput{{UnitQuantity: decimal.NewFromInt(1), UnitPrice: decimal.NewFromInt(2)}}})
			}
			if err == nil {
				_, err = env.Sim.AddDevice(300001, 300001001, "")
			}
			if err != nil {
				errs <- err
				return
			}
		}
	}()
	for {
		select {
		case <-done:
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if n := len(env.Sim.Accounts()[0].Shops[0].Registers) + len(env.Sim.Accounts()[0].Shops[1].Registers); n != 24 {
				t.Errorf("%d registers, want 24", n)
			}
			if n := len(env.Sim.Businesses()[0].Locations[0].Devices); n != 21 {
				t.Errorf("%d devices, want 21", n)
			}
			return
		default:
		}
		for _, p := range []string{"Shop.json", "Register.json", "Sale.json?registerID=5"} {
			if r := get(t, env, accountPath+p, tok); r.status != 200 {
				t.Fatalf("%s: %d %s", p, r.status, r.raw)
			}
		}
		if r := get(t, env, "/f/data/businesses", ktok); r.status != 200 {
			t.Fatalf("businesses: %d %s", r.status, r.raw)
		}
		_ = env.Sim.Accounts()
		_ = env.Sim.Businesses()
	}
}
