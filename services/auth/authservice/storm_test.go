package authservice_test

import (
	"context"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/authservice"
)

// TestRefreshStorm: access tokens live 2 s at the simulator; 8 callers, each on its own gRPC
// connection, spread over two auth service instances sharing one database, ask for tokens for
// 60 s and use every token they get on the simulator's API at once. The simulator must see no
// invalid_grant and no refresh token used twice, and one refresh per token lifetime: callers
// inside the margin wait for the expiry (Lightspeed Retail returns the same access token to an
// early refresh), so every refresh falls 2 s after the previous one and there is no margin
// effect on the count. Every token handed out must be accepted and valid for the margin.
func TestRefreshStorm(t *testing.T) {
	t.Parallel()
	const (
		ttl      = 2 * time.Second
		margin   = 500 * time.Millisecond
		run      = 60 * time.Second
		callers  = 8
		interval = 50 * time.Millisecond
	)
	b := setup(t, options{accessTTL: ttl, margin: margin})
	b.connected(t, "c1", true)
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
		client := posimportv1.NewAuthServiceClient(b.keys.Dial(t, instances[i%2]))
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
				tok, err := client.AccessToken(cctx, &posimportv1.AccessTokenRequest{ClientId: "c1"})
				ccancel()
				calls.Add(1)
				perCaller[i].Add(1)
				if err != nil {
					failures.Add(1)
					t.Errorf("caller %d: %v", i, err)
					continue
				}
				// The margin counts from the request: the service checked after it was sent.
				if left := tok.GetExpireTime().AsTime().Sub(asked); left < margin {
					short.Add(1)
					t.Errorf("caller %d got a token valid for %v, less than the margin", i, left)
				}
				if st := b.apiStatus(t, tok.GetAccessToken()); st != http.StatusOK {
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
	elapsed := time.Since(start)

	var refreshes []tokenCall
	for _, c := range b.rec.refreshes() {
		if !c.At.Before(start) {
			refreshes = append(refreshes, c)
		}
	}
	want := elapsed.Seconds() / ttl.Seconds()
	t.Logf("%d AccessToken calls, %d distinct tokens, %d refreshes in %v (%.1f token lifetimes)",
		calls.Load(), len(tokens), len(refreshes), elapsed.Round(time.Millisecond), want)
	if math.Abs(float64(len(refreshes))-want) > 1 {
		t.Errorf("%d refreshes in %v, want %.1f ± 1", len(refreshes), elapsed, want)
	}
	if n := b.rec.invalidGrants(); n != 0 {
		t.Errorf("%d invalid_grant answers at the simulator", n)
	}
	if reused := b.rec.reusedRefreshTokens(); len(reused) != 0 {
		t.Errorf("%d refresh tokens used twice", len(reused))
	}
	for i, c := range refreshes {
		if c.Status != http.StatusOK {
			t.Errorf("refresh %d answered %d %s", i, c.Status, c.Error)
		}
		if i == 0 {
			continue
		}
		// Never early (the simulator would hand back the same access token), never late.
		gap := c.At.Sub(refreshes[i-1].At)
		if gap < ttl-100*time.Millisecond || gap > ttl+500*time.Millisecond {
			t.Errorf("refresh %d came %v after the previous one, want about %v", i, gap, ttl)
		}
		if c.Access == refreshes[i-1].Access {
			t.Errorf("refresh %d returned the previous access token: it was early", i)
		}
	}
	for i := range perCaller {
		if n := perCaller[i].Load(); n < 100 {
			t.Errorf("caller %d made only %d calls: it was starved", i, n)
		}
	}
	if failures.Load()+refused.Load()+short.Load() > 0 {
		t.Errorf("%d failed calls, %d refused tokens, %d tokens shorter than the margin", failures.Load(), refused.Load(), short.Load())
	}
}
