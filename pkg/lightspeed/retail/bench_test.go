package retail

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/aggregate"
	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/lightspeed/sim/simtest"
	"github.com/posimport/posimport/pkg/pos"
)

// busyYear is one busy register's year: about 66,000 sales.
var busyYear = sim.Options{Seed: 11, AutoConsent: true, RateLimit: sim.RateLimitOptions{Disabled: true},
	Data: sim.DataOptions{SalesPerDay: 200, Zones: []string{"Europe/Copenhagen"},
		From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)}}

// BenchmarkDecodeAggregate measures the client's CPU path per page: decoding the API's quirky
// JSON, applying the metric rules and bucketing into local hours. The pages are real simulator
// responses, fetched once.
func BenchmarkDecodeAggregate(b *testing.B) {
	opts := busyYear
	opts.Data.From, opts.Data.Until = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC)
	env := simtest.Start(b, opts)
	tok := env.Token(b, 0)
	var bodies [][]byte
	next := env.URL + "/API/V3/Account/100001/Sale.json?" + url.Values{
		"load_relations": {`["SaleLines"]`}, "completed": {"true"}, "voided": {"false"}}.Encode()
	for next != "" {
		req, _ := http.NewRequest(http.MethodGet, next, nil)
		tok.SetAuthHeader(req)
		resp, err := env.Server.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		bodies = append(bodies, body)
		p, err := decodePage(body)
		if err != nil {
			b.Fatal(err)
		}
		next = p.Attributes.Next.s
	}
	loc, _ := time.LoadLocation("Europe/Copenhagen")
	from, until := civil.Date{Year: 2025, Month: 2, Day: 28}, civil.Date{Year: 2025, Month: 4, Day: 1}
	sales := 0
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		series, _ := aggregate.New(loc, from, until)
		for _, body := range bodies {
			p, err := decodePage(body)
			if err != nil {
				b.Fatal(err)
			}
			page, err := decodeSales(p.Sale)
			if err != nil {
				b.Fatal(err)
			}
			for _, s := range page {
				if err := series.Add(Figures(s)); err != nil {
					b.Fatal(err)
				}
				sales++
			}
		}
	}
	reportRates(b, sales, processCPU()-cpu0)
}

// reportRates reports sales per second of wall time and per second of the process's CPU time.
func reportRates(b *testing.B, sales int, cpu time.Duration) {
	b.ReportMetric(float64(sales)/b.Elapsed().Seconds(), "sales/s")
	if cpu > 0 {
		b.ReportMetric(float64(sales)/cpu.Seconds(), "sales/cpu-s")
	}
}

// BenchmarkFetchYear measures pulling one busy register's year from the simulator over
// loopback HTTP with the rate limits off: the fetch-only time of a year, one op.
func BenchmarkFetchYear(b *testing.B) {
	opts := busyYear
	opts.Clock = sim.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	env := simtest.Start(b, opts)
	c, err := New(Config{BaseURL: env.URL, AccountID: 100001, TokenSource: NewTokenSource(env.Context(context.Background()), env.OAuth, env.Token(b, 0)),
		HTTPClient: env.Server.Client(), Limiter: noLimit{}})
	if err != nil {
		b.Fatal(err)
	}
	q := SaleQuery{RegisterIDs: []int64{1}, From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	sales := 0
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		if err := c.ListSales(context.Background(), q, func(Sale) error { sales++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	// The CPU time includes the simulator's side of every request: it runs in this process.
	reportRates(b, sales, processCPU()-cpu0)
	b.ReportMetric((processCPU()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(c.Stats().Requests)/float64(b.N), "pages/op")
}

// noLimit lets every request through: the simulator's limits are off for the benchmark.
type noLimit struct{}

func (noLimit) Wait(context.Context, float64) error { return nil }
func (noLimit) Observe(pos.BucketState)             {}
func (noLimit) PauseUntil(time.Time)                {}

// BenchmarkFetchYearPaced pulls the same year at the real bucket settings sped up 100 times
// (TimeScale), on real clocks: the client paces itself from the headers and meets no 429.
func BenchmarkFetchYearPaced(b *testing.B) {
	opts := busyYear
	opts.RateLimit = sim.RateLimitOptions{TimeScale: 100}
	opts.Clock = wallClock{}
	env := simtest.Start(b, opts)
	tokens := NewTokenSource(env.Context(context.Background()), env.OAuth, env.Token(b, 0))
	q := SaleQuery{RegisterIDs: []int64{1}, From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var requests, limited int64
	b.ResetTimer()
	for b.Loop() {
		// A client per pull, so that each starts from an empty bucket model, as the
		// simulator's bucket has leaked by the time the previous pull ends.
		b.StopTimer()
		time.Sleep(time.Second) // the bucket (90 at 100 drips/s) drains between pulls
		b.StartTimer()
		c, err := New(Config{BaseURL: env.URL, AccountID: 100001, TokenSource: tokens, HTTPClient: env.Server.Client()})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.ListSales(context.Background(), q, func(Sale) error { return nil }); err != nil {
			b.Fatal(err)
		}
		requests += c.Stats().Requests
		limited += c.Stats().RateLimited
	}
	b.ReportMetric(float64(requests)/float64(b.N), "pages/op")
	b.ReportMetric(float64(limited)/float64(b.N), "429s/op")
}

// wallClock is the real clock, for the simulator of a benchmark that paces in real time.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }
