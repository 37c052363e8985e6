package authservice_test

import (
	"context"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/lightspeed/sim/simtest"
	"github.com/posimport/posimport/pkg/platform/authn"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/authservice"
)

// stormResult is what a refresh storm saw.
type stormResult struct {
	elapsed time.Duration
	// refreshes are the refresh requests that reached the simulator during the storm.
	refreshes []simtest.TokenCall
}

// storm runs callers, each on its own gRPC connection, spread over two auth service
// instances sharing one database, asking for client's token every interval for run, and using
// every token they get on the simulator's API at once (status tells the answer). Every call
// must succeed with a token valid for the margin that the API accepts, no caller may starve,
// and the simulator must see no invalid_grant and no refresh token used twice.
func (b *testBundle) storm(t *testing.T, client string, run time.Duration, status func(testing.TB, string) int) stormResult {
	t.Helper()
	const (
		callers  = 8
		interval = 50 * time.Millisecond
	)
	second := b.startAuth(t, b.connect(t, authservice.Schema, authservice.Migrations()), b.opts.tokenKeys)
	instances := []string{b.auth.GRPCAddr, second.GRPCAddr}
	var calls, failures, refused, short atomic.Int64
	var perCaller [callers]atomic.Int64
	var mu sync.Mutex
	tokens := map[string]bool{}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), run)
	defer cancel()
	var wg sync.WaitGroup
	for i := range callers {
		c := posimportv1.NewAuthServiceClient(b.keys.Dial(t, instances[i%2], authn.ServiceImportWorker))
		wg.Go(func() {
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				asked := time.Now()
				cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
				tok, err := c.AccessToken(cctx, &posimportv1.AccessTokenRequest{ClientId: client})
				ccancel()
				calls.Add(1)
				perCaller[i].Add(1)
				if err != nil {
					failures.Add(1)
					t.Errorf("caller %d: %v", i, err)
					continue
				}
				// The margin counts from the request: the service checked after it was sent.
				if left := tok.GetExpireTime().AsTime().Sub(asked); left < b.opts.margin {
					short.Add(1)
					t.Errorf("caller %d got a token valid for %v, less than the margin", i, left)
				}
				if st := status(t, tok.GetAccessToken()); st != http.StatusOK {
					refused.Add(1)
					t.Errorf("caller %d: the simulator answered %d to a handed-out token", i, st)
				}
				mu.Lock()
				tokens[tok.GetAccessToken()] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res := stormResult{elapsed: time.Since(start)}
	for _, c := range b.rec.Refreshes() {
		if !c.At.Before(start) {
			res.refreshes = append(res.refreshes, c)
		}
	}
	t.Logf("%d AccessToken calls, %d distinct tokens, %d refreshes in %v",
		calls.Load(), len(tokens), len(res.refreshes), res.elapsed.Round(time.Millisecond))
	if n := b.rec.InvalidGrants(); n != 0 {
		t.Errorf("%d invalid_grant answers at the simulator", n)
	}
	if reused := b.rec.ReusedRefreshTokens(); len(reused) != 0 {
		t.Errorf("%d refresh tokens used twice", len(reused))
	}
	minCalls := int64(run/interval) / 12
	for i := range perCaller {
		if n := perCaller[i].Load(); n < minCalls {
			t.Errorf("caller %d made only %d calls: it was starved", i, n)
		}
	}
	if failures.Load()+refused.Load()+short.Load() > 0 {
		t.Errorf("%d failed calls, %d refused tokens, %d tokens shorter than the margin", failures.Load(), refused.Load(), short.Load())
	}
	for i, c := range res.refreshes {
		if c.Status != http.StatusOK {
			t.Errorf("refresh %d answered %d %s", i, c.Status, c.Error)
		}
	}
	return res
}

// checkRefreshPace checks that the refreshes came one per period, never early or late, each
// with a new access token.
func checkRefreshPace(t *testing.T, res stormResult, period time.Duration) {
	t.Helper()
	want := res.elapsed.Seconds() / period.Seconds()
	if math.Abs(float64(len(res.refreshes))-want) > 1.5 {
		t.Errorf("%d refreshes in %v, want %.1f ± 1.5 (one per %v)", len(res.refreshes), res.elapsed, want, period)
	}
	for i := 1; i < len(res.refreshes); i++ {
		c, prev := res.refreshes[i], res.refreshes[i-1]
		if gap := c.At.Sub(prev.At); gap < period-100*time.Millisecond || gap > period+500*time.Millisecond {
			t.Errorf("refresh %d came %v after the previous one, want about %v", i, gap, period)
		}
		if c.Access == prev.Access {
			t.Errorf("refresh %d returned the previous access token: it was early", i)
		}
	}
}

// TestRefreshStorm: Lightspeed Retail access tokens live 2 s at the simulator; 8 callers ask
// for tokens for 60 s. There must be one refresh per token lifetime: callers inside the margin
// wait for the expiry (Lightspeed Retail returns the same access token to an early refresh), so
// every refresh falls 2 s after the previous one and there is no margin effect on the count.
func TestRefreshStorm(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	b := setup(t, options{accessTTL: ttl, margin: 500 * time.Millisecond})
	b.connected(t, "c1", true)
	res := b.storm(t, "c1", 60*time.Second, b.apiStatus)
	checkRefreshPace(t, res, ttl)
}

// TestRestaurantRefreshStorm: the same storm for Lightspeed Restaurant, whose refresh tokens
// are single use (the simulator kills one the moment it is used, so any reuse is an
// invalid_grant) and whose every refresh returns a new access token. A token is refreshed as
// soon as it is inside the margin: one refresh per ttl − margin, never two for one expiry.
func TestRestaurantRefreshStorm(t *testing.T) {
	t.Parallel()
	const ttl, margin = 2 * time.Second, 500 * time.Millisecond
	b := setup(t, options{accessTTL: ttl, margin: margin})
	b.connectedRestaurant(t, "c1", true)
	res := b.storm(t, "c1", 20*time.Second, b.restaurantAPIStatus)
	checkRefreshPace(t, res, ttl-margin)
}
