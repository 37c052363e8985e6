package restaurant_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"golang.org/x/oauth2"

	"github.com/posimport/posimport/pkg/lightspeed/restaurant"
	"github.com/posimport/posimport/pkg/lightspeed/retail"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/lightspeed/sim/simtest"
	"github.com/posimport/posimport/pkg/pos"
)

const (
	businessID = 300001
	location   = "300001001"
	device1    = "30000100101"
	device2    = "30000100102"
	salesEP    = "GET /f/v2/business-location/{id}/sales"
)

type testBundle struct {
	env    *simtest.Env
	client *restaurant.Client
	tokens *retail.TokenSource

	mu     sync.Mutex
	slept  time.Duration
	sleeps int
	events []restaurant.ResponseEvent
}

// setup serves a simulator on a manual clock (opts.Clock if it is one) and builds a client for business 300001 that
// shares the clock: its waits advance the simulator's time instead of sleeping.
func setup(t testing.TB, opts sim.Options, configure func(*restaurant.Config)) *testBundle {
	t.Helper()
	opts.AutoConsent = true
	clock, _ := opts.Clock.(*sim.ManualClock)
	b := &testBundle{env: simtest.Start(t, opts)}
	if b.env.Clock == nil {
		b.env.Clock = clock
	}
	b.tokens = retail.NewTokenSource(b.env.Context(context.Background()), b.env.Restaurant, b.env.RestaurantToken(t, businessID))
	cfg := restaurant.Config{
		BaseURL:     b.env.URL,
		BusinessIDs: []int64{businessID},
		TokenSource: b.tokens,
		HTTPClient:  b.env.Server.Client(),
		NowFunc:     b.env.Clock.Now,
		SleepFunc: func(ctx context.Context, d time.Duration) error {
			b.mu.Lock()
			b.slept += d
			b.sleeps++
			b.mu.Unlock()
			return b.env.Clock.Sleep(ctx, d)
		},
		OnResponse: func(e restaurant.ResponseEvent) {
			b.mu.Lock()
			b.events = append(b.events, e)
			b.mu.Unlock()
		},
	}
	if configure != nil {
		configure(&cfg)
	}
	c, err := restaurant.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.client = c
	return b
}

func (b *testBundle) statuses() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []int
	for _, e := range b.events {
		out = append(out, e.Status)
	}
	return out
}

// twoWeeks is two devices of two locations in London and Copenhagen over the autumn change.
var twoWeeks = sim.RestaurantDataOptions{LocationsPerBusiness: 2, DevicesPerLocation: 2, SalesPerDay: 30,
	Zones: []string{"Europe/London", "Europe/Copenhagen"},
	From:  time.Date(2025, 10, 20, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 11, 2, 0, 0, 0, 0, time.UTC)}

func TestBusinessLocationsAndDevices(t *testing.T) {
	t.Parallel()
	b := setup(t, sim.Options{Seed: 2, Restaurant: sim.RestaurantOptions{Data: twoWeeks}}, nil)
	ctx := context.Background()
	locs, err := b.client.Locations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []pos.Location{{ID: "300001001", Name: "Restaurant 1", TimeZone: "Europe/London"}, {ID: "300001002", Name: "Restaurant 2", TimeZone: "Europe/Copenhagen"}}
	if diff := cmp.Diff(want, locs); diff != "" {
		t.Errorf("locations (-want +got):\n%s", diff)
	}
	// The simulator's clock stands at 2026-01-01: move it to the end of the data, so that
	// the last 30 days hold sales.
	b.env.Clock.Advance(-b.env.Clock.Now().Sub(time.Date(2025, 11, 3, 0, 0, 0, 0, time.UTC)))
	regs, err := b.client.Registers(ctx, location)
	if err != nil {
		t.Fatal(err)
	}
	wantRegs := []pos.Register{{ID: device1, LocationID: location, Name: "iPad 1"}, {ID: device2, LocationID: location, Name: "iPad 2"}}
	if diff := cmp.Diff(wantRegs, regs); diff != "" {
		t.Errorf("devices (-want +got):\n%s", diff)
	}
	if got := b.client.DataTypes(); len(got) != 8 || got[7] != pos.Visitors {
		t.Errorf("DataTypes %v: K-Series has visitors", got)
	}
	other, _ := restaurant.New(restaurant.Config{BaseURL: b.env.URL, BusinessIDs: []int64{300002}, TokenSource: b.tokens, HTTPClient: b.env.Server.Client()})
	if locs, err := other.Locations(ctx); err != nil || len(locs) != 0 {
		t.Errorf("a business the token does not see: %v, %v; want no locations", locs, err)
	}
}

// TestSeveralBusinesses: a consent covering several businesses lists the locations of those it
// covers, and of no other the token sees; their sales are read by location alike.
func TestSeveralBusinesses(t *testing.T) {
	t.Parallel()
	env := simtest.Start(t, sim.Options{AutoConsent: true, Restaurant: sim.RestaurantOptions{Data: sim.RestaurantDataOptions{Businesses: 3, SalesPerDay: 4,
		From: time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 12, 2, 0, 0, 0, 0, time.UTC)}}})
	tok := env.RestaurantTokenOf(t, 300001, 300003)
	client := func(ids ...int64) *restaurant.Client {
		c, err := restaurant.New(restaurant.Config{BaseURL: env.URL, BusinessIDs: ids, TokenSource: oauth2.StaticTokenSource(tok), HTTPClient: env.Server.Client()})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ids := func(locs []pos.Location) []string {
		var out []string
		for _, l := range locs {
			out = append(out, l.ID)
		}
		return out
	}
	for _, tc := range []struct {
		businesses []int64
		want       []string
	}{
		{[]int64{300003, 300001}, []string{"300001001", "300003001"}},
		{nil, []string{"300001001", "300003001"}},
		{[]int64{300003}, []string{"300003001"}},
		{[]int64{300002}, nil},
	} {
		locs, err := client(tc.businesses...).Locations(context.Background())
		if err != nil || !cmp.Equal(tc.want, ids(locs)) {
			t.Errorf("businesses %v: locations %v, %v; want %v", tc.businesses, ids(locs), err, tc.want)
		}
	}
	c := client(300001, 300003)
	day := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, loc := range []string{"300001001", "300003001"} {
		n := 0
		if err := c.Sales(context.Background(), pos.SalesQuery{LocationID: loc, From: day, Until: day.AddDate(0, 0, 2)}, func(pos.SaleFigures) error { n++; return nil }); err != nil || n == 0 {
			t.Errorf("sales of %s: %d, %v", loc, n, err)
		}
	}
}

// TestAccountID: a consent's account id lists its businesses ascending, and parses back; other
// forms are refused.
func TestAccountID(t *testing.T) {
	t.Parallel()
	if got := restaurant.AccountID([]int64{300003, 300001, 300003}); got != "300001,300003" {
		t.Errorf("AccountID = %q", got)
	}
	if got := restaurant.AccountID([]int64{300001}); got != "300001" {
		t.Errorf("AccountID of one business = %q", got)
	}
	for s, want := range map[string][]int64{"300001": {300001}, "300001,300002": {300001, 300002}} {
		if got, err := restaurant.ParseAccountID(s); err != nil || !cmp.Equal(want, got) {
			t.Errorf("ParseAccountID(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "x", "0", "-1", "300002,300001", "300001,300001", "300001,", "300001, 300002"} {
		if _, err := restaurant.ParseAccountID(s); err == nil {
			t.Errorf("ParseAccountID(%q): want an error", s)
		}
	}
}

func counted(r sim.Receipt) bool {
	return !r.Cancelled && (r.Type == sim.ReceiptSale || r.Type == sim.ReceiptRefund)
}

func TestSalesSelection(t *testing.T) {
	t.Parallel()
	b := setup(t, sim.Options{Seed: 3, Restaurant: sim.RestaurantOptions{Data: twoWeeks}}, func(c *restaurant.Config) { c.PageSize = 40 })
	from := time.Date(2025, 10, 22, 0, 0, 0, 0, time.UTC)
	until := time.Date(2025, 10, 29, 0, 0, 0, 0, time.UTC)
	stored, err := b.env.Sim.Receipts(businessID, sim.ReceiptFilter{LocationID: 300001001, From: from, Until: until})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		devices []string
		keep    func(sim.Receipt) bool
	}{
		{name: "one device", devices: []string{device2}, keep: func(r sim.Receipt) bool { return r.DeviceID == 30000100102 }},
		{name: "both devices", devices: []string{device1, device2}, keep: func(sim.Receipt) bool { return true }},
		{name: "the location", keep: func(sim.Receipt) bool { return true }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var want, got []string
			for _, r := range stored {
				if counted(r) && tc.keep(r) {
					want = append(want, r.AccountFiscID)
				}
			}
			q := pos.SalesQuery{LocationID: location, RegisterIDs: tc.devices, From: from, Until: until}
			err := b.client.Sales(context.Background(), q, func(f pos.SaleFigures) error {
				if f.CompletedAt.Before(from) || !f.CompletedAt.Before(until) || f.LocationID != location {
					t.Errorf("sale %s at %v of %s is outside the query", f.SaleID, f.CompletedAt, f.LocationID)
				}
				got = append(got, f.SaleID)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" || len(want) < 100 {
				t.Errorf("%d sales (-want +got):\n%s", len(want), diff)
			}
		})
	}
	bad := []struct {
		name string
		q    pos.SalesQuery
	}{
		{"inverted range", pos.SalesQuery{LocationID: location, From: until, Until: from}},
		{"no location", pos.SalesQuery{From: from, Until: until}},
		{"bad device", pos.SalesQuery{LocationID: location, RegisterIDs: []string{"ipad"}, From: from, Until: until}},
	}
	for _, tc := range bad {
		if err := b.client.Sales(context.Background(), tc.q, nil); err == nil {
			t.Errorf("%s: want an error", tc.name)
		}
	}
	stop := errors.New("stop")
	if err := b.client.Sales(context.Background(), pos.SalesQuery{LocationID: location, From: from, Until: until}, func(pos.SaleFigures) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("callback error: got %v", err)
	}
}

// TestPageRequests pulls a busy location's 364 days: one window, whose page requests are
// exactly ceil(sales/100), all receipt types included (the API has no device or type filter).
func TestPageRequests(t *testing.T) {
	t.Parallel()
	b := setup(t, sim.Options{Seed: 11, Restaurant: sim.RestaurantOptions{Data: sim.RestaurantDataOptions{SalesPerDay: 30,
		From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)}}}, nil)
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	until := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	all, _ := b.env.Sim.Receipts(businessID, sim.ReceiptFilter{From: from.Add(-time.Millisecond), Until: until.Add(time.Millisecond)})
	want := 0
	for _, r := range all {
		if counted(r) && !r.TimeClosed.Before(from) && r.TimeClosed.Before(until) {
			want++
		}
	}
	b.env.Sim.ResetCounts()
	got := 0
	if err := b.client.Sales(context.Background(), pos.SalesQuery{LocationID: location, From: from, Until: until}, func(pos.SaleFigures) error {
		got++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	pages := b.env.Sim.Requests(salesEP)
	if wantPages := int64((len(all) + 99) / 100); got != want || pages.Requests != wantPages || b.client.Stats().Requests != wantPages {
		t.Errorf("%d of %d sales in %d pages (client %+v), want %d pages for %d receipts", got, want, pages.Requests, b.client.Stats(), wantPages, len(all))
	}
	t.Logf("%d counted sales of %d receipts in %d pages", got, len(all), pages.Requests)
}

// TestOverAYear splits a 400-day range into windows the API takes; each sale comes once.
func TestOverAYear(t *testing.T) {
	t.Parallel()
	b := setup(t, sim.Options{Seed: 12, Restaurant: sim.RestaurantOptions{Data: sim.RestaurantDataOptions{SalesPerDay: 3,
		From: time.Date(2024, 11, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)}}}, nil)
	from := time.Date(2024, 11, 20, 0, 0, 0, 0, time.UTC)
	until := from.AddDate(0, 0, 400)
	stored, _ := b.env.Sim.Receipts(businessID, sim.ReceiptFilter{From: from, Until: until})
	var want, got []string
	for _, r := range stored {
		if counted(r) {
			want = append(want, r.AccountFiscID)
		}
	}
	b.env.Sim.ResetCounts()
	if err := b.client.Sales(context.Background(), pos.SalesQuery{LocationID: location, From: from, Until: until}, func(f pos.SaleFigures) error {
		got = append(got, f.SaleID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sales (-want +got):\n%s", diff)
	}
	if c := b.env.Sim.Requests(salesEP); c.Requests < 2 {
		t.Errorf("%d requests: the range was not split", c.Requests)
	}
}

func TestRateLimited(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      sim.RestaurantOptions
		fault     *sim.Fault
		wantSlept time.Duration
		wantLimit int64
	}{
		{name: "Retry-After in seconds", fault: &sim.Fault{Kind: sim.FaultRateLimit, RetryAfter: 7, Count: 1}, wantSlept: 7 * time.Second, wantLimit: 1},
		{name: "Retry-After as a date", fault: &sim.Fault{Kind: sim.FaultRateLimit, RetryAfter: 9, RetryAfterDate: true, Count: 1}, wantSlept: 9 * time.Second, wantLimit: 1},
		{name: "the simulator's bucket", opts: sim.RestaurantOptions{RateLimit: sim.RestaurantRateLimit{RequestsPerSecond: 0.25, Burst: 1}},
			wantSlept: 4 * time.Second, wantLimit: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, sim.Options{Restaurant: tc.opts}, nil)
			if tc.fault != nil {
				if err := b.env.Sim.InjectFault(*tc.fault); err != nil {
					t.Fatal(err)
				}
			} else if _, err := b.client.Locations(context.Background()); err != nil { // spends the burst
				t.Fatal(err)
			}
			if _, err := b.client.Locations(context.Background()); err != nil {
				t.Fatal(err)
			}
			if b.slept < tc.wantSlept || b.slept > tc.wantSlept+time.Second {
				t.Errorf("waited %v, want %v", b.slept, tc.wantSlept)
			}
			if st := b.client.Stats(); st.RateLimited != tc.wantLimit {
				t.Errorf("stats %+v", st)
			}
		})
	}
	b := setup(t, sim.Options{}, func(c *restaurant.Config) { c.MaxRetryAfter = time.Minute })
	_ = b.env.Sim.InjectFault(sim.Fault{Kind: sim.FaultRateLimit, RetryAfter: 3600, Count: 1})
	_, err := b.client.Locations(context.Background())
	var rl *pos.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != time.Hour {
		t.Errorf("got %v, want a RateLimitError of an hour", err)
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		faults []sim.Fault
		cfg    func(*restaurant.Config)
		want   []int
	}{
		{name: "5xx", faults: []sim.Fault{{Kind: sim.FaultStatus, Status: 503, Count: 2}}, want: []int{503, 503, 200}},
		{name: "connection reset", faults: []sim.Fault{{Kind: sim.FaultReset, Count: 1}}, want: []int{0, 200}},
		{name: "truncated body", faults: []sim.Fault{{Kind: sim.FaultMalformed, Count: 1}}, want: []int{200, 200}},
		{name: "slow response", faults: []sim.Fault{{Kind: sim.FaultSlow, Delay: sim.Duration(5 * time.Second), Count: 1}},
			cfg: func(c *restaurant.Config) { c.RequestTimeout = 100 * time.Millisecond }, want: []int{0, 200}},
		{name: "a mix", faults: []sim.Fault{{Kind: sim.FaultStatus, Status: 500, Count: 1}, {Kind: sim.FaultRateLimit, Count: 1}, {Kind: sim.FaultStatus, Status: 502, Count: 1}},
			want: []int{500, 429, 502, 200}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, sim.Options{}, func(c *restaurant.Config) {
				// A transport of the client's own, whose first connection is fresh: net/http
				// silently retries a GET on a reused connection that dies, hiding the reset.
				c.HTTPClient = nil
				if tc.cfg != nil {
					tc.cfg(c)
				}
			})
			for _, f := range tc.faults {
				f.Endpoint = "/f/"
				if err := b.env.Sim.InjectFault(f); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := b.client.Locations(context.Background()); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, b.statuses()); diff != "" {
				t.Errorf("attempts (-want +got):\n%s", diff)
			}
			if st := b.client.Stats(); st.Retries != int64(len(tc.want)-1) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestGivesUp(t *testing.T) {
	t.Parallel()
	b := setup(t, sim.Options{Restaurant: sim.RestaurantOptions{Data: sim.RestaurantDataOptions{Businesses: 2}}}, func(c *restaurant.Config) { c.MaxAttempts = 3 })
	ctx := context.Background()
	_ = b.env.Sim.InjectFault(sim.Fault{Kind: sim.FaultStatus, Status: 500, Count: 5})
	var se *pos.StatusError
	if _, err := b.client.Locations(ctx); !errors.As(err, &se) || se.Status != 500 || len(b.statuses()) != 3 || !strings.Contains(err.Error(), "after 3 attempts: ") {
		t.Errorf("5xx until the attempts run out: %v after %d attempts", err, len(b.statuses()))
	}
	// A backoff between two attempts, none after the last.
	if b.sleeps != 2 {
		t.Errorf("%d sleeps for 3 attempts, want 2", b.sleeps)
	}
	b.env.Sim.ClearFaults()
	// A 4xx is not retried, and its message is the API's.
	q := pos.SalesQuery{LocationID: "300002001", From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)}
	before := len(b.statuses())
	err := b.client.Sales(ctx, q, func(pos.SaleFigures) error { return nil })
	if !errors.As(err, &se) || se.Status != 403 || !strings.Contains(se.Message, "Access denied to business location 300002001") || len(b.statuses()) != before+1 {
		t.Errorf("another business's location: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.client.Locations(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestUnauthorizedRefreshesOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, sim.Options{}, nil)
	var persisted []*oauth2.Token
	b.tokens.OnToken = func(tok *oauth2.Token) { persisted = append(persisted, tok) }
	first, _ := b.tokens.Token()
	// The simulator's token expires while oauth2, on the real clock, still trusts it.
	b.env.Clock.Advance(61 * time.Minute)
	if _, err := b.client.Locations(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{401, 200}, b.statuses()); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
	if len(persisted) != 1 || persisted[0].AccessToken == first.AccessToken || persisted[0].RefreshToken == first.RefreshToken {
		t.Fatalf("refresh did not hand over a rotated token: %d tokens", len(persisted))
	}
	// The single-use refresh token is spent: presenting it again is refused.
	if _, err := b.env.Restaurant.TokenSource(b.env.Context(context.Background()), &oauth2.Token{RefreshToken: first.RefreshToken}).Token(); err == nil {
		t.Error("the spent refresh token was accepted again")
	}
	// Once the grant is revoked, the error says re-authorize and names no token.
	tok, _ := b.tokens.Token()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, b.env.URL+"/oauth/revoke", strings.NewReader("token="+tok.RefreshToken))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(sim.DefaultClientID, sim.DefaultClientSecret)
	resp, err := b.env.Server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	_, err = b.client.Locations(context.Background())
	if !errors.Is(err, pos.ErrUnauthorized) {
		t.Fatalf("after revoke: %v, want ErrUnauthorized", err)
	}
	for _, secret := range []string{tok.AccessToken, tok.RefreshToken, first.AccessToken, first.RefreshToken} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains a token", err)
		}
	}
}

// TestMalformedSales: a sale the client cannot read is an error naming the sale, line and
// field; nothing of the page is handed on. Where its device and timeClosed are readable, the
// error is a *pos.SaleError naming them, around the *pos.DataError.
func TestMalformedSales(t *testing.T) {
	t.Parallel()
	sale := func(fields string) string {
		return `{"sales":[{"accountFiscId":"A1.1","type":"SALE","cancelled":false,"timeClosed":"2025-06-01T10:00:00.000Z","deviceId":7,"nbCovers":2.0,` +
			`"salesLines":[{"id":"S1.1","quantity":"1.000","totalNetAmountWithTax":"11.00","totalNetAmountWithoutTax":"8.33","totalDiscountAmount":"0.00"}]` + fields + `}]}`
	}
	tests := []struct {
		name, body, want string
	}{
		{"tax-exclusive line without its tax", strings.Replace(sale(""), `"totalDiscountAmount":"0.00"`, `"totalDiscountAmount":"0.00","taxLines":[{"taxIncluded":false}]`, 1),
			`Sale A1.1 line S1.1: field taxAmount: missing`},
		{"tax both included and not", strings.Replace(sale(""), `"totalDiscountAmount":"0.00"`, `"taxAmount":"1","taxLines":[{"taxIncluded":false},{"taxIncluded":true}]`, 1),
			`Sale A1.1 line S1.1: field taxLines.taxIncluded: both true and false on one line`},
		{"taxIncluded as text", strings.Replace(sale(""), `"totalDiscountAmount":"0.00"`, `"taxLines":[{"taxIncluded":"yes"}]`, 1),
			`Sale A1.1 line S1.1: field taxLines.taxIncluded: not a boolean`},
		{"taxLines not an array", strings.Replace(sale(""), `"totalDiscountAmount":"0.00"`, `"taxLines":{}`, 1),
			`Sale A1.1 line S1.1: field taxLines: not an array`},
		{"money with an exponent", strings.Replace(sale(""), `"11.00"`, `"1e9"`, 1), `Sale A1.1 line S1.1: field totalNetAmountWithTax: not a plain decimal number (got "1e9")`},
		{"money in words", strings.Replace(sale(""), `"8.33"`, `"eight"`, 1), `Sale A1.1 line S1.1: field totalNetAmountWithoutTax: not a plain decimal number`},
		{"quantity missing", strings.Replace(sale(""), `"quantity":"1.000",`, ``, 1), `Sale A1.1 line S1.1: field quantity: missing`},
		{"time without zone", strings.Replace(sale(""), `10:00:00.000Z`, `10:00:00`, 1), `Sale A1.1: field timeClosed: not an ISO 8601 UTC time`},
		{"the zero time", strings.Replace(sale(""), `2025-06-01T10:00:00.000Z`, `0001-01-01T0:00:00Z`, 1), `Sale A1.1: field timeClosed: the zero time`},
		{"device not a number", strings.Replace(sale(""), `"deviceId":7`, `"deviceId":"ipad"`, 1), `Sale A1.1: field deviceId: not an integer`},
		{"cancelled as text", strings.Replace(sale(""), `"cancelled":false`, `"cancelled":"no"`, 1), `Sale A1.1: field cancelled: not a boolean`},
		{"negative covers", strings.Replace(sale(""), `"nbCovers":2.0`, `"nbCovers":-1`, 1), `Sale A1.1: field nbCovers: negative`},
		{"lines not an array", `{"sales":[{"accountFiscId":"A1.1","type":"SALE","cancelled":false,"timeClosed":"2025-06-01T10:00:00.000Z","deviceId":7,"salesLines":{"x":1}}]}`,
			`Sale A1.1: field salesLines: not an array`},
		{"no type", strings.Replace(sale(""), `"type":"SALE",`, ``, 1), `Sale A1.1: field type: missing`},
		{"a sale not an object", `{"sales":[42]}`, `Sale #0: field sale:`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(srv.Close)
			c, err := restaurant.New(restaurant.Config{BaseURL: srv.URL, BusinessIDs: []int64{1}, TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"}),
				BackoffBase: time.Millisecond, BackoffMax: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			err = c.Sales(context.Background(), pos.SalesQuery{LocationID: "1", From: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)},
				func(pos.SaleFigures) error { n++; return nil })
			var de *pos.DataError
			if !errors.As(err, &de) || !strings.Contains(err.Error(), tc.want) || n != 0 {
				t.Errorf("got %v (%d sales handed on), want a DataError %q", err, n, tc.want)
			}
			// Only a broken device or time (or a sale that is no object) hides whose it is.
			unattributable := strings.Contains(tc.want, "timeClosed") || strings.Contains(tc.want, "deviceId") || strings.Contains(tc.want, "#0")
			var se *pos.SaleError
			switch {
			case errors.As(err, &se) == unattributable:
				t.Errorf("got %v, attributed to a register: %v, want %v", err, !unattributable, unattributable)
			case se != nil && (se.RegisterID != "7" || se.LocationID != "1" || !se.CompletedAt.Equal(time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC))):
				t.Errorf("sale error attributed to %+v, want device 7 at 10:00", se)
			}
			if c.Stats().Requests != 1 {
				t.Errorf("%d requests: malformed data is not retried", c.Stats().Requests)
			}
		})
	}
	// The well-formed sale decodes, with a number for covers and strings for money.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(sale(""))) }))
	t.Cleanup(srv.Close)
	c, _ := restaurant.New(restaurant.Config{BaseURL: srv.URL, BusinessIDs: []int64{1}, TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})})
	var got []pos.SaleFigures
	if err := c.Sales(context.Background(), pos.SalesQuery{LocationID: "1", From: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)},
		func(f pos.SaleFigures) error { got = append(got, f); return nil }); err != nil || len(got) != 1 {
		t.Fatalf("well-formed sale: %v %v", got, err)
	}
	if m := got[0].Metrics; m.Visitors.String() != "2" || m.GrossSales.String() != "11" || got[0].RegisterID != "7" {
		t.Errorf("figures %+v", got[0])
	}
}

// TestTaxExclusiveLines: at a tax-exclusive business (taxLines say taxIncluded: false) the
// gross of a line is totalNetAmountWithoutTax + taxAmount, whatever totalNetAmountWithTax
// holds; lines whose taxLines are empty, absent or say true keep totalNetAmountWithTax.
func TestTaxExclusiveLines(t *testing.T) {
	t.Parallel()
	ln := func(with, without, tax, taxLines string) string {
		return `{"quantity":"1.000","totalNetAmountWithTax":"` + with + `","totalNetAmountWithoutTax":"` + without + `","taxAmount":"` + tax + `"` + taxLines + `}`
	}
	body := `{"sales":[{"accountFiscId":"A1.1","type":"SALE","cancelled":false,"timeClosed":"2025-06-01T10:00:00.000Z","deviceId":7,"salesLines":[` +
		ln("10.00", "10.00", "0.8875", `,"taxLines":[{"taxId":"1","taxRate":"1.08875","taxAmount":"0.8875","taxIncluded":false}]`) + `,` +
		ln("12.00", "10.00", "2.0000", `,"taxLines":[]`) + `,` +
		ln("6.00", "5.00", "1.0000", ``) + `,` +
		ln("2.40", "2.00", "0.4000", `,"taxLines":[{"taxIncluded":true}]`) + `]},` +
		`{"accountFiscId":"A1.2","type":"REFUND","cancelled":false,"timeClosed":"2025-06-01T11:00:00.000Z","deviceId":7,"salesLines":[` +
		`{"quantity":"-1.000","totalNetAmountWithTax":"-4.00","totalNetAmountWithoutTax":"-4.00","taxAmount":"-0.3550","taxLines":[{"taxIncluded":false}]}]}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(body)) }))
	t.Cleanup(srv.Close)
	c, err := restaurant.New(restaurant.Config{BaseURL: srv.URL, BusinessIDs: []int64{1}, TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})})
	if err != nil {
		t.Fatal(err)
	}
	var got pos.Metrics
	err = c.Sales(context.Background(), pos.SalesQuery{LocationID: "1", From: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)},
		func(f pos.SaleFigures) error { got.Add(f.Metrics); return nil })
	if err != nil {
		t.Fatal(err)
	}
	d := func(s string) decimal.Decimal { return decimal.RequireFromString(s) }
	want := pos.Metrics{GrossSales: d("10.8875").Add(d("12")).Add(d("6")).Add(d("2.40")), NetSales: d("27").Sub(d("4")),
		Returns: d("4.3550"), Transactions: d("1"), GoodsSold: d("4"), GoodsReturned: d("1")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

// TestPoisonSaleAttributed: a location-wide query yields every sale with its device and hands a
// malformed sale of a device, attributed to it and its time, to OnSaleError and goes on; a
// query of another device never sees it; without OnSaleError the query of its device ends with
// it; a malformed sale outside the range concerns nobody.
func TestPoisonSaleAttributed(t *testing.T) {
	t.Parallel()
	good := func(fisc, at string, device int) string {
		return `{"accountFiscId":"` + fisc + `","type":"SALE","cancelled":false,"timeClosed":"` + at + `","deviceId":` + strconv.Itoa(device) +
			`,"salesLines":[{"quantity":"1.000","totalNetAmountWithTax":"5.00","totalNetAmountWithoutTax":"4.00"}]}`
	}
	poison := `{"accountFiscId":"A1.3","type":"SALE","cancelled":false,"timeClosed":"2025-06-01T12:30:00.000Z","deviceId":8,` +
		`"salesLines":[{"id":"S1.9","quantity":"lots","totalNetAmountWithTax":"5.00","totalNetAmountWithoutTax":"4.00"}]}`
	late := strings.Replace(strings.Replace(poison, "12:30", "23:59", 1), "A1.3", "A1.5", 1) // outside [00:00, 12:00+) of the second query
	body := `{"sales":[` + good("A1.1", "2025-06-01T10:00:00.000Z", 7) + `,` + poison + `,` + good("A1.4", "2025-06-01T13:00:00.000Z", 8) + `,` + late + `]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(body)) }))
	t.Cleanup(srv.Close)
	c, err := restaurant.New(restaurant.Config{BaseURL: srv.URL, BusinessIDs: []int64{1}, TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	run := func(q pos.SalesQuery) ([]string, error) {
		var got []string
		err := c.Sales(context.Background(), q, func(f pos.SaleFigures) error {
			got = append(got, f.SaleID+"@"+f.RegisterID)
			return nil
		})
		return got, err
	}

	var poisoned []string
	got, err := run(pos.SalesQuery{LocationID: "1", From: day, Until: day.AddDate(0, 0, 1), OnSaleError: func(e *pos.SaleError) error {
		poisoned = append(poisoned, e.RegisterID+"@"+e.CompletedAt.Format(time.TimeOnly))
		if !errors.As(e, new(*pos.DataError)) || !strings.Contains(e.Error(), "Sale A1.3 line S1.9: field quantity") && !strings.Contains(e.Error(), "Sale A1.5") {
			t.Errorf("sale error %v does not carry the data error", e)
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"A1.1@7", "A1.4@8"}, got); diff != "" {
		t.Errorf("location-wide sales (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"8@12:30:00", "8@23:59:00"}, poisoned); diff != "" {
		t.Errorf("poisoned register-times (-want +got):\n%s", diff)
	}

	if got, err := run(pos.SalesQuery{LocationID: "1", RegisterIDs: []string{"7"}, From: day, Until: day.AddDate(0, 0, 1)}); err != nil || len(got) != 1 {
		t.Errorf("device 7: %v %v, want its one sale and no error", got, err)
	}
	_, err = run(pos.SalesQuery{LocationID: "1", RegisterIDs: []string{"8"}, From: day, Until: day.AddDate(0, 0, 1)})
	var se *pos.SaleError
	if !errors.As(err, &se) || se.RegisterID != "8" {
		t.Errorf("device 8 without OnSaleError: %v, want its SaleError", err)
	}
	if got, err := run(pos.SalesQuery{LocationID: "1", From: day.Add(13 * time.Hour), Until: day.Add(14 * time.Hour)}); err != nil || len(got) != 1 {
		t.Errorf("13:00-14:00: %v %v, want one sale; the poison sales closed outside it", got, err)
	}
}

func TestRepeatedToken(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"sales":[],"nextPageToken":"same"}`))
	}))
	t.Cleanup(srv.Close)
	c, _ := restaurant.New(restaurant.Config{BaseURL: srv.URL, BusinessIDs: []int64{1}, TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})})
	err := c.Sales(context.Background(), pos.SalesQuery{LocationID: "1", From: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)},
		func(pos.SaleFigures) error { return nil })
	if err == nil || c.Stats().Requests != 2 {
		t.Errorf("a repeated token: %v after %d requests, want an error after 2", err, c.Stats().Requests)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})
	for name, cfg := range map[string]restaurant.Config{
		"no token source":   {BusinessIDs: []int64{1}},
		"negative business": {TokenSource: ts, BusinessIDs: []int64{-1}},
		"bad base URL":      {TokenSource: ts, BusinessIDs: []int64{1}, BaseURL: "ftp://x"},
		"page size":         {TokenSource: ts, BusinessIDs: []int64{1}, PageSize: 101},
	} {
		if _, err := restaurant.New(cfg); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

// TestLookbackFindsLateReceipt: Lightspeed Restaurant has no change feed, so late receipts are
// found by re-reading a lookback. A receipt of an offline device that syncs five days late
// keeps its timeClosed: a two-day re-read misses it, a seven-day re-read of the whole location
// (one paged query, ceil(receipts/100) requests) finds it on its original time, as it finds a
// new device's receipts.
func TestLookbackFindsLateReceipt(t *testing.T) {
	t.Parallel()
	b := setup(t, sim.Options{Seed: 4, Restaurant: sim.RestaurantOptions{Data: sim.RestaurantDataOptions{DevicesPerLocation: 2, SalesPerDay: 40,
		From: time.Date(2025, 12, 10, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)}}}, nil)
	ctx := context.Background()
	now := b.env.Clock.Now()
	read := func(lookback time.Duration) (map[string]pos.SaleFigures, int64) {
		t.Helper()
		b.env.Sim.ResetCounts()
		got := map[string]pos.SaleFigures{}
		if err := b.client.Sales(ctx, pos.SalesQuery{LocationID: location, From: now.Add(-lookback), Until: now}, func(f pos.SaleFigures) error {
			got[f.SaleID] = f
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got, b.env.Sim.Requests(salesEP).Requests
	}
	before, _ := read(7 * 24 * time.Hour)

	closed := now.Add(-5*24*time.Hour + 3*time.Hour + 17*time.Millisecond)
	late, err := b.env.Sim.AddReceipt(businessID, sim.ReceiptInput{LocationID: 300001001, DeviceID: 30000100102, TimeClosed: closed, NbCovers: decimal.NewFromInt(3),
		Lines: []sim.ReceiptLineInput{{Quantity: decimal.NewFromInt(2), UnitPrice: decimal.NewFromInt(14)}}})
	if err != nil {
		t.Fatal(err)
	}
	dev, err := b.env.Sim.AddDevice(businessID, 300001001, "")
	if err != nil {
		t.Fatal(err)
	}
	onNew, err := b.env.Sim.AddReceipt(businessID, sim.ReceiptInput{LocationID: 300001001, DeviceID: dev.ID, TimeClosed: now.Add(-6 * 24 * time.Hour),
		Lines: []sim.ReceiptLineInput{{Quantity: decimal.NewFromInt(1), UnitPrice: decimal.NewFromInt(8)}}})
	if err != nil {
		t.Fatal(err)
	}

	if two, _ := read(2 * 24 * time.Hour); two[late.AccountFiscID].SaleID != "" {
		t.Errorf("a two-day re-read found the receipt closed five days ago")
	}
	seven, requests := read(7 * 24 * time.Hour)
	inWindow, _ := b.env.Sim.Receipts(businessID, sim.ReceiptFilter{LocationID: 300001001, From: now.Add(-7*24*time.Hour - time.Millisecond), Until: now.Add(time.Millisecond)})
	if want := int64((len(inWindow) + 99) / 100); requests != want {
		t.Errorf("seven-day re-read of the location: %d requests, want ceil(%d/100) = %d", requests, len(inWindow), want)
	}
	if len(seven) != len(before)+2 {
		t.Errorf("seven-day re-read: %d counted sales, want %d + 2", len(seven), len(before))
	}
	got := seven[late.AccountFiscID]
	if !got.CompletedAt.Equal(closed.Truncate(time.Millisecond)) || got.RegisterID != "30000100102" ||
		!got.Metrics.GrossSales.Equal(decimal.NewFromInt(28)) || !got.Metrics.Visitors.Equal(decimal.NewFromInt(3)) {
		t.Errorf("late receipt read as %+v, want its original time %v, 28 gross and 3 covers", got, closed)
	}
	if f := seven[onNew.AccountFiscID]; f.RegisterID != strconv.FormatInt(dev.ID, 10) {
		t.Errorf("new device's receipt read as %+v", f)
	}
}
