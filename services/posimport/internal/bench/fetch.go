package bench

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/errgroup"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/lightspeed/retail"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/pos"
)

// maxJobDays is the import-worker's longest job (JOB_MAX_DAYS' default): the register-ranges
// below are its jobs.
const maxJobDays = 31

// span is one register-range: what one job of an import fetches.
type span struct {
	account  int64
	shop     int64
	register int64
	from     time.Time
	until    time.Time
}

// spans are the register-ranges of importing every register of the clients from..until (local
// dates in zone), split as the import-worker splits jobs.
func spans(clients []client, loc *time.Location, from, until civil.Date) []span {
	var out []span
	for _, c := range clients {
		for _, shop := range c.account.Shops {
			for _, reg := range shop.Registers {
				for f := from; !f.After(until); f = f.AddDays(maxJobDays) {
					u := f.AddDays(maxJobDays - 1)
					if until.Before(u) {
						u = until
					}
					out = append(out, span{account: c.account.ID, shop: shop.ID, register: reg.ID,
						from: f.Start(loc), until: u.AddDays(1).Start(loc)})
				}
			}
		}
	}
	return out
}

// pages is Σ ceil(sales/100) over the spans: the fewest requests that fetch their counted
// sales at Lightspeed's 100 per page. It also returns the sales and, per account, the pages.
func pages(s *sim.Server, spans []span) (floor, sales int64, byAccount map[int64]int64, err error) {
	byAccount = map[int64]int64{}
	for _, sp := range spans {
		all, err := s.Sales(sp.account, sim.SaleFilter{RegisterID: sp.register, From: sp.from, Until: sp.until})
		if err != nil {
			return 0, 0, nil, err
		}
		n := int64(0)
		for _, sale := range all {
			if sale.Completed && !sale.Voided {
				n++
			}
		}
		p := (n + 99) / 100
		floor += p
		sales += n
		byAccount[sp.account] += p
	}
	return floor, sales, byAccount, nil
}

// fetchResult is one fetch-only run.
type fetchResult struct {
	wall     time.Duration
	sales    int64
	requests int64
	// cpu is the CPU time the run took.
	cpu cpuSpan
}

// fetchOnly fetches the spans' sales with the import-worker's POS client and slots at once,
// as the workers do but with nothing else: no queue, no lease, no aggregation, no writes.
// limited paces each account with the in-process bucket limiter; otherwise requests go out as
// fast as they can.
func fetchOnly(ctx context.Context, simURL string, tokens map[int64]string, spans []span, slots int, limited bool) (fetchResult, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = slots
	hc := &http.Client{Transport: transport}
	defer transport.CloseIdleConnections()
	var mu sync.Mutex
	sources := map[int64]*retail.Client{}
	source := func(account int64) (*retail.Client, error) {
		mu.Lock()
		defer mu.Unlock()
		if c, ok := sources[account]; ok {
			return c, nil
		}
		var lim pos.Limiter = unlimited{}
		if limited {
			lim = retail.NewBucketLimiter()
		}
		c, err := retail.New(retail.Config{BaseURL: simURL, AccountID: account, HTTPClient: hc, Limiter: lim,
			TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tokens[account], TokenType: "Bearer"})})
		sources[account] = c
		return c, err
	}
	var sales atomic.Int64
	work := make(chan span)
	g, gctx := errgroup.WithContext(ctx)
	cpu0 := readCPU(nil)
	for range slots {
		g.Go(func() error {
			for sp := range work {
				c, err := source(sp.account)
				if err != nil {
					return err
				}
				q := pos.SalesQuery{LocationID: strconv.FormatInt(sp.shop, 10), RegisterIDs: []string{strconv.FormatInt(sp.register, 10)},
					From: sp.from, Until: sp.until}
				n := int64(0)
				if err := c.Sales(gctx, q, func(pos.SaleFigures) error { n++; return nil }); err != nil {
					return fmt.Errorf("fetch register %d: %w", sp.register, err)
				}
				sales.Add(n)
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(work)
		for _, sp := range spans {
			select {
			case work <- sp:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return fetchResult{}, err
	}
	cpu1 := readCPU(nil)
	res := fetchResult{sales: sales.Load(), cpu: cpu1.since(cpu0)}
	res.wall = res.cpu.wall
	for _, c := range sources {
		res.requests += c.Stats().Requests
	}
	return res, nil
}

// unlimited is a pos.Limiter that never waits.
type unlimited struct{}

func (unlimited) Wait(context.Context, float64) error { return nil }
func (unlimited) Observe(pos.BucketState)             {}
func (unlimited) PauseUntil(time.Time)                {}

// bucketOf is the simulator's bucket size and drip rate (per second, time-scaled) of an account
// with registers registers under o: by default 90 + 10 and 1 + 0.5 per further register.
func bucketOf(o sim.RateLimitOptions, registers int) (size, drip float64) {
	def := func(v, d float64) float64 {
		if v == 0 {
			return d
		}
		return v
	}
	extra := float64(registers - 1)
	size = def(o.BucketSize, 90) + def(o.PerRegisterSize, 10)*extra
	drip = (def(o.DripRate, 1) + def(o.PerRegisterDrip, 0.5)*extra) * def(o.TimeScale, 1)
	return size, drip
}

// rateFloor is the time Lightspeed's bucket alone forces on requests sent to one account.
func rateFloor(requests int64, size, drip float64) time.Duration {
	return time.Duration(math.Max(0, float64(requests)-size) / drip * float64(time.Second))
}
