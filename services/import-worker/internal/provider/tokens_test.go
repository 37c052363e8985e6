package provider_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/platform/pgtest"
	"github.com/posimport/posimport/pkg/pos"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/internal/pipelinetest"
	"github.com/posimport/posimport/services/import-worker/internal/provider"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// recordingAuth is the real auth service's client, recording the ForceRefresh of every
// AccessToken call.
type recordingAuth struct {
	posimportv1.AuthServiceClient
	mu     sync.Mutex
	forces []bool
}

func (r *recordingAuth) AccessToken(ctx context.Context, in *posimportv1.AccessTokenRequest, opts ...grpc.CallOption) (*posimportv1.AccessTokenResponse, error) {
	r.mu.Lock()
	r.forces = append(r.forces, in.GetForceRefresh())
	r.mu.Unlock()
	return r.AuthServiceClient.AccessToken(ctx, in, opts...)
}

// calls returns the ForceRefresh of the calls since the n-th.
func (r *recordingAuth) calls(n int) []bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bool{}, r.forces[n:]...)
}

// tokenBundle is a client c1 connected (and enabled) to the simulator through the real auth
// service.
type tokenBundle struct {
	e    *pipelinetest.Env
	auth *recordingAuth
}

func setup(t *testing.T) *tokenBundle {
	t.Helper()
	e := pipelinetest.Start(t, pipelinetest.Options{ShopsPerAccount: 1, RegistersPerShop: 1, SalesPerDay: 5, Days: 3, NoWorker: true})
	e.Configure(t, "c1", e.Departments(0, false))
	e.Connect(t, "c1", e.AccountID(0), true)
	return &tokenBundle{e: e, auth: &recordingAuth{AuthServiceClient: e.AuthClient(t)}}
}

// TestAuthTokensReuseUntilMargin: a job reuses its token while it stays valid for longer than
// the margin, and asks auth (without forcing a refresh) only once it does not.
func TestAuthTokensReuseUntilMargin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tc := range []struct {
		name    string
		margin  time.Duration
		left    time.Duration // validity left at the second request
		wantAsk bool
	}{
		{name: "long valid", margin: 10 * time.Second, left: 20 * time.Minute},
		{name: "valid beyond the margin", margin: 10 * time.Second, left: 11 * time.Second},
		{name: "within the margin", margin: 10 * time.Second, left: 9 * time.Second, wantAsk: true},
		{name: "default margin is 10s", left: 11 * time.Second},
		{name: "at the default margin", left: 10 * time.Second, wantAsk: true},
		{name: "auth's default margin", margin: 30 * time.Second, left: 29 * time.Second, wantAsk: true},
		{name: "the old one-minute margin", margin: time.Minute, left: 45 * time.Second, wantAsk: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			now := time.Now()
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			rec := &recordingAuth{AuthServiceClient: b.auth.AuthServiceClient}
			tokens := provider.NewAuthTokens(rec, "c1", provider.TokenOptions{Margin: tc.margin, NowFunc: clock})
			first, err := tokens.Token()
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			now = first.Expiry.Add(-tc.left)
			mu.Unlock()
			second, err := tokens.Token()
			if err != nil {
				t.Fatal(err)
			}
			want := []bool{false}
			if tc.wantAsk {
				want = append(want, false)
			}
			if diff := cmp.Diff(want, rec.calls(0)); diff != "" {
				t.Errorf("AccessToken calls' force_refresh (-want +got):\n%s", diff)
			}
			// Auth's own clock sees the token valid far beyond its margin: asked early, it
			// hands out the same token.
			if second.AccessToken != first.AccessToken {
				t.Error("the second request got another token")
			}
		})
	}
}

// salesOfYesterday reads yesterday's sales of the simulator's shop through the R-Series
// provider with tokens.
func salesOfYesterday(t *testing.T, b *tokenBundle, tokens *provider.AuthTokens) error {
	t.Helper()
	acct, err := tokens.Account(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p, err := provider.Default(provider.Options{LightspeedAPIURL: b.e.SimURL}).Get(acct.Provider)
	if err != nil {
		t.Fatal(err)
	}
	src, err := p.New(acct, provider.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Truncate(24 * time.Hour)
	return src.Sales(context.Background(), pos.SalesQuery{From: until.Add(-24 * time.Hour), Until: until}, func(pos.SaleFigures) error { return nil })
}

// TestAuthTokensForceRefreshOnceOn401: a 401 from the POS makes the job ask auth for a forced
// refresh once (auth refreshes at the provider once) and retry; a token refused again fails the
// job as unauthorized instead of refreshing in a loop.
func TestAuthTokensForceRefreshOnceOn401(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// NOTE: sequential: the simulator's faults apply to every request of the test.
	for _, tc := range []struct {
		name      string
		refusals  int // 401s injected; 0: every request
		wantErr   error
		wantCalls []bool
	}{
		{name: "refused once", refusals: 1, wantCalls: []bool{false, true}},
		{name: "refused again", refusals: 0, wantErr: pos.ErrUnauthorized, wantCalls: []bool{false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.e.Sim.ClearFaults()
			t.Cleanup(b.e.Sim.ClearFaults)
			if err := b.e.Sim.InjectFault(sim.Fault{Kind: sim.FaultStatus, Status: 401, Endpoint: "Sale.json", Count: tc.refusals}); err != nil {
				t.Fatal(err)
			}
			n := len(b.auth.calls(0))
			refreshes := b.e.Sim.Requests("POST /auth/oauth/token").Requests
			err := salesOfYesterday(t, b, provider.NewAuthTokens(b.auth, "c1", provider.TokenOptions{}))
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("sales: %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.wantCalls, b.auth.calls(n)); diff != "" {
				t.Errorf("AccessToken calls' force_refresh (-want +got):\n%s", diff)
			}
			if got := b.e.Sim.Requests("POST /auth/oauth/token").Requests - refreshes; got != 1 {
				t.Errorf("%d refreshes at the provider, want 1", got)
			}
		})
	}
}
