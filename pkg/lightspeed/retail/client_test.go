package retail_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/posimport/posimport/pkg/lightspeed/retail"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/lightspeed/sim/simtest"
	"github.com/posimport/posimport/pkg/pos"
)

const saleEndpoint = "GET /API/V3/Account/{id}/Sale.json"

type testBundle struct {
	env    *simtest.Env
	client *retail.Client
	tokens *retail.TokenSource

	mu     sync.Mutex
	slept  time.Duration
	sleeps int
	events []retail.ResponseEvent
}

// setup serves a simulator on a manual clock and builds a client that shares the clock: its
// waits advance the simulator's time instead of sleeping.
func setup(t *testing.T, opts sim.Options, configure func(*retail.Config)) *testBundle {
	t.Helper()
	opts.AutoConsent = true
	b := &testBundle{env: simtest.Start(t, opts)}
	b.tokens = retail.NewTokenSource(b.env.Context(context.Background()), b.env.OAuth, b.env.Token(t, 0))
	cfg := retail.Config{
		BaseURL:     b.env.URL,
		AccountID:   100001,
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
		OnResponse: func(e retail.ResponseEvent) {
			b.mu.Lock()
			b.events = append(b.events, e)
			b.mu.Unlock()
		},
	}
	if configure != nil {
		configure(&cfg)
	}
	c, err := retail.New(cfg)
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

var octDays = sim.DataOptions{SalesPerDay: 30, ShopsPerAccount: 2, RegistersPerShop: 2,
	From: time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 10, 31, 0, 0, 0, 0, time.UTC)}

func TestLocationsAndRegisters(t *testing.T) {
	t.Parallel()
	b := setup(t, sim.Options{Data: sim.DataOptions{ShopsPerAccount: 2, RegistersPerShop: 2, Zones: []string{"US/Eastern", "Europe/Copenhagen"}}}, nil)
	ctx := context.Background()
	acct, err := b.client.Account(ctx)
	if err != nil || acct.ID != 100001 {
		t.Fatalf("Account: %v %v", acct, err)
	}
	locs, err := b.client.Locations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantLocs := []pos.Location{{ID: "1", Name: "Shop 1", TimeZone: "US/Eastern"}, {ID: "2", Name: "Shop 2", TimeZone: "Europe/Copenhagen"}}
	if diff := cmp.Diff(wantLocs, locs); diff != "" {
		t.Errorf("locations (-want +got):\n%s", diff)
	}
	regs, err := b.client.Registers(ctx, "2")
	if err != nil {
		t.Fatal(err)
	}
	wantRegs := []pos.Register{{ID: "3", LocationID: "2", Name: "Register 1"}, {ID: "4", LocationID: "2", Name: "Register 2"}}
	if diff := cmp.Diff(wantRegs, regs); diff != "" {
		t.Errorf("registers (-want +got):\n%s", diff)
	}
	if got := b.client.DataTypes(); len(got) != 7 || got[len(got)-1] == pos.Visitors {
		t.Errorf("DataTypes %v: R-Series has no visitors", got)
	}
}

func TestSalesSelection(t *testing.T) {
	t.Parallel()
	b := setup(t, sim.Options{Seed: 3, Data: octDays}, func(c *retail.Config) { c.PageSize = 25 })
	from := time.Date(2025, 10, 10, 0, 0, 0, 0, time.UTC)
	until := time.Date(2025, 10, 17, 0, 0, 0, 0, time.UTC)
	stored, err := b.env.Sim.Sales(100001, sim.SaleFilter{From: from, Until: until})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		q    pos.SalesQuery
		keep func(sim.Sale) bool
	}{
		{name: "one register", q: pos.SalesQuery{RegisterIDs: []string{"2"}}, keep: func(s sim.Sale) bool { return s.RegisterID == 2 }},
		{name: "two registers", q: pos.SalesQuery{RegisterIDs: []string{"1", "4"}}, keep: func(s sim.Sale) bool { return s.RegisterID == 1 || s.RegisterID == 4 }},
		{name: "a shop", q: pos.SalesQuery{LocationID: "2"}, keep: func(s sim.Sale) bool { return s.ShopID == 2 }},
		{name: "the account", q: pos.SalesQuery{}, keep: func(sim.Sale) bool { return true }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var want, got []string
			for _, s := range stored {
				if s.Completed && !s.Voided && tc.keep(s) {
					want = append(want, itoa(s.ID))
				}
			}
			q := tc.q
			q.From, q.Until = from, until
			err := b.client.Sales(context.Background(), q, func(f pos.SaleFigures) error {
				if f.CompletedAt.Before(from) || !f.CompletedAt.Before(until) {
					t.Errorf("sale %s at %v is outside the range", f.SaleID, f.CompletedAt)
				}
				got = append(got, f.SaleID)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("sales (-want +got):\n%s", diff)
			}
		})
	}
	if err := b.client.Sales(context.Background(), pos.SalesQuery{From: until, Until: from}, nil); err == nil {
		t.Error("inverted range: want an error")
	}
	if err := b.client.Sales(context.Background(), pos.SalesQuery{From: from, Until: until, RegisterIDs: []string{"x"}}, nil); err == nil {
		t.Error("bad register id: want an error")
	}
	stop := errors.New("stop")
	if err := b.client.Sales(context.Background(), pos.SalesQuery{From: from, Until: until}, func(pos.SaleFigures) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("callback error: got %v", err)
	}
}

// TestOneYearBusyRegister pulls a year of a busy register at the real bucket settings: the
// page requests are exactly ceil(sales/100) and no request meets a 429.
func TestOneYearBusyRegister(t *testing.T) {
	t.Parallel()
	b := setup(t, sim.Options{Seed: 11, Data: sim.DataOptions{SalesPerDay: 150,
		From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)}}, nil)
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	until := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	stored, _ := b.env.Sim.Sales(100001, sim.SaleFilter{RegisterID: 1, From: from, Until: until})
	counted := 0
	for _, s := range stored {
		if s.Completed && !s.Voided {
			counted++
		}
	}
	b.env.Sim.ResetCounts()
	got := 0
	err := b.client.Sales(context.Background(), pos.SalesQuery{RegisterIDs: []string{"1"}, From: from, Until: until}, func(pos.SaleFigures) error {
		got++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != counted {
		t.Errorf("streamed %d sales, the store has %d", got, counted)
	}
	pages := b.env.Sim.Requests(saleEndpoint)
	wantPages := int64((counted + 99) / 100)
	if pages.Requests != wantPages || pages.RateLimited != 0 {
		t.Errorf("page requests %+v, want exactly %d and no 429", pages, wantPages)
	}
	if st := b.client.Stats(); st.RateLimited != 0 || st.Retries != 0 || st.Requests != wantPages {
		t.Errorf("client stats %+v", st)
	}
	// The pace: the bucket allows about 90 at once, then one per second.
	if b.slept < time.Duration(wantPages-100)*time.Second {
		t.Errorf("slept %v for %d pages; the client did not pace itself", b.slept, wantPages)
	}
	t.Logf("%d sales in %d pages, %v of simulated waiting", counted, wantPages, b.slept)
}

func TestRateLimited(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fault     sim.Fault
		wantSlept time.Duration
	}{
		{name: "Retry-After in seconds", fault: sim.Fault{Kind: sim.FaultRateLimit, RetryAfter: 7, Count: 1}, wantSlept: 7 * time.Second},
		{name: "Retry-After as a date", fault: sim.Fault{Kind: sim.FaultRateLimit, RetryAfter: 9, RetryAfterDate: true, Count: 1}, wantSlept: 9 * time.Second},
		{name: "a storm", fault: sim.Fault{Kind: sim.FaultRateLimit, RetryAfter: 2, Count: 3}, wantSlept: 6 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, sim.Options{}, nil)
			if err := b.env.Sim.InjectFault(tc.fault); err != nil {
				t.Fatal(err)
			}
			if _, err := b.client.Locations(context.Background()); err != nil {
				t.Fatal(err)
			}
			if b.slept < tc.wantSlept || b.slept > tc.wantSlept+time.Second {
				t.Errorf("waited %v, want %v", b.slept, tc.wantSlept)
			}
			if st := b.client.Stats(); st.RateLimited != int64(tc.fault.Count) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestRetryAfterTooLong(t *testing.T) {
	t.Parallel()
	b := setup(t, sim.Options{}, func(c *retail.Config) { c.MaxRetryAfter = time.Minute })
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
		cfg    func(*retail.Config)
		want   []int
	}{
		{name: "5xx", faults: []sim.Fault{{Kind: sim.FaultStatus, Status: 503, Count: 2}}, want: []int{503, 503, 200}},
		{name: "connection reset", faults: []sim.Fault{{Kind: sim.FaultReset, Count: 1}}, want: []int{0, 200}},
		{name: "truncated body", faults: []sim.Fault{{Kind: sim.FaultMalformed, Count: 1}}, want: []int{200, 200}},
		{name: "slow response", faults: []sim.Fault{{Kind: sim.FaultSlow, Delay: sim.Duration(5 * time.Second), Count: 1}},
			cfg: func(c *retail.Config) { c.RequestTimeout = 100 * time.Millisecond }, want: []int{0, 200}},
		{name: "a mix", faults: []sim.Fault{{Kind: sim.FaultStatus, Status: 500, Count: 1}, {Kind: sim.FaultRateLimit, Count: 1}, {Kind: sim.FaultStatus, Status: 502, Count: 1}},
			want: []int{500, 429, 502, 200}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, sim.Options{}, func(c *retail.Config) {
				// A transport of the client's own, whose first connection is fresh: net/http
				// silently retries a GET on a reused connection that dies, hiding the reset.
				c.HTTPClient = nil
				if tc.cfg != nil {
					tc.cfg(c)
				}
			})
			for _, f := range tc.faults {
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
	tests := []struct {
		name       string
		fault      sim.Fault
		wantStatus int
		wantTries  int
		wantSleeps int    // a backoff between two attempts, none after the last
		wantErr    string // in the error's text
	}{
		{name: "5xx until the attempts run out", fault: sim.Fault{Kind: sim.FaultStatus, Status: 500}, wantStatus: 500, wantTries: 3,
			wantSleeps: 2, wantErr: "after 3 attempts: "},
		{name: "a 4xx is not retried", fault: sim.Fault{Kind: sim.FaultStatus, Status: 404}, wantStatus: 404, wantTries: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, sim.Options{}, func(c *retail.Config) { c.MaxAttempts = 3 })
			_ = b.env.Sim.InjectFault(tc.fault)
			_, err := b.client.Locations(context.Background())
			var se *pos.StatusError
			if !errors.As(err, &se) || se.Status != tc.wantStatus {
				t.Fatalf("got %v, want status %d", err, tc.wantStatus)
			}
			if n := len(b.statuses()); n != tc.wantTries {
				t.Errorf("%d attempts, want %d", n, tc.wantTries)
			}
			if b.sleeps != tc.wantSleeps {
				t.Errorf("%d sleeps, want %d", b.sleeps, tc.wantSleeps)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q, want it to say %q", err, tc.wantErr)
			}
		})
	}
	b := setup(t, sim.Options{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.client.Locations(ctx); !errors.Is(err, context.Canceled) {
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
	b.env.Clock.Advance(31 * time.Minute)
	if _, err := b.client.Locations(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{401, 200}, b.statuses()); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
	if len(persisted) != 1 || persisted[0].AccessToken == first.AccessToken || persisted[0].RefreshToken == first.RefreshToken {
		t.Errorf("refresh did not hand over a rotated token: %d tokens", len(persisted))
	}
	// Once the grant is revoked, the fresh token cannot be had: the error says re-authorize,
	// and names no token.
	tok, _ := b.tokens.Token()
	form := strings.NewReader("client_id=" + sim.DefaultClientID + "&client_secret=" + sim.DefaultClientSecret + "&refresh_token=" + tok.RefreshToken)
	resp, err := b.env.Server.Client().Post(b.env.URL+"/auth/oauth/revoke", "application/x-www-form-urlencoded", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
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

func TestUnauthorizedWithoutInvalidator(t *testing.T) {
	t.Parallel()
	b := setup(t, sim.Options{}, func(c *retail.Config) {
		c.TokenSource = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "stale"})
	})
	_, err := b.client.Locations(context.Background())
	if !errors.Is(err, pos.ErrUnauthorized) || strings.Contains(err.Error(), "stale") {
		t.Errorf("got %v", err)
	}
	if n := len(b.statuses()); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})
	for name, cfg := range map[string]retail.Config{
		"no token source": {AccountID: 1},
		"no account":      {TokenSource: ts},
		"bad base URL":    {TokenSource: ts, AccountID: 1, BaseURL: "ftp://x"},
		"page size":       {TokenSource: ts, AccountID: 1, PageSize: 101},
	} {
		if _, err := retail.New(cfg); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
