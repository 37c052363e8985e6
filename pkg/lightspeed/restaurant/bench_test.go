package restaurant_test

import (
	"context"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/aggregate"
	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/pos"
)

// busyYear is one busy device's year: about 66,000 receipts.
var busyYear = sim.Options{Seed: 11, Restaurant: sim.RestaurantOptions{Data: sim.RestaurantDataOptions{SalesPerDay: 200,
	Zones: []string{"Europe/London"}, From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)}}}

// BenchmarkFetchAggregateYear pulls one busy device's year from the simulator over loopback
// HTTP (in windows of at most 365 days, 100 sales a page), applies the metric rules and
// buckets into local hours: one op is the whole year.
func BenchmarkFetchAggregateYear(b *testing.B) {
	env := setup(b, busyYear, nil)
	loc, _ := time.LoadLocation("Europe/London")
	from, until := civil.Date{Year: 2025, Month: 1, Day: 1}, civil.Date{Year: 2025, Month: 12, Day: 31}
	sales := 0
	b.ResetTimer()
	for b.Loop() {
		series, _ := aggregate.New(loc, from, until)
		start, end := series.Range()
		err := env.client.Sales(context.Background(), pos.SalesQuery{LocationID: location, From: start, Until: end}, func(f pos.SaleFigures) error {
			sales++
			return series.Add(f)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(sales)/b.Elapsed().Seconds(), "sales/s")
	b.ReportMetric(float64(env.client.Stats().Requests)/float64(b.N), "pages/op")
}
