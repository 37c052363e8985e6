package connection

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/pkg/platform/secret"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/auth/internal/keyring"
	"github.com/posimport/posimport/services/auth/internal/provider"
	"github.com/posimport/posimport/services/auth/internal/store"
)

// refreshProvider answers Refresh with results in turn (past the end, the last); nil is a
// new token. Its other methods are not called.
type refreshProvider struct {
	provider.Provider
	results []error
	calls   int
}

func (p *refreshProvider) ID() posimportv1.PosProvider { return retail }
func (p *refreshProvider) Name() string                { return "Lightspeed Retail" }

func (p *refreshProvider) Refresh(context.Context, secret.Secret) (provider.Token, error) {
	p.calls++
	if err := p.results[min(p.calls, len(p.results))-1]; err != nil {
		return provider.Token{}, err
	}
	return provider.Token{Access: secret.New("access-2"), Refresh: secret.New("refresh-2"), Expiry: time.Unix(7200, 0)}, nil
}

// TestRefreshLockedRetries: a failing refresh is tried RefreshAttempts times with a full-jitter
// wait below 200 ms, then 400 ms, between two tries and none after the last; a refused grant
// is not retried.
func TestRefreshLockedRetries(t *testing.T) {
	t.Parallel()
	transient := errors.New("token endpoint error (HTTP 503)")
	refused := &provider.Error{Op: "refresh", Code: "invalid_grant"}
	tests := []struct {
		name string
		// results are the provider's answers; sleepErr is what every sleep returns.
		results  []error
		sleepErr error
		// wantCeilings are the backoff ceilings of the waits, one per wait.
		wantCalls    int
		wantCeilings []time.Duration
		wantStatus   posimportv1.ConnectionStatus
		wantNewToken bool
		wantErr      error
		wantLastErr  string
	}{
		{
			name: "refreshed after a transient failure", results: []error{transient, nil},
			wantCalls: 2, wantCeilings: []time.Duration{200 * time.Millisecond}, wantStatus: enabled, wantNewToken: true,
		},
		{
			name: "transient until the attempts run out", results: []error{transient},
			wantCalls: 3, wantCeilings: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}, wantStatus: enabled,
			wantErr: apierr.ErrUnavailable, wantLastErr: "Could not renew the Lightspeed Retail access: token endpoint error (HTTP 503).",
		},
		{
			name: "a refused grant is not retried", results: []error{errors.Join(refused, provider.ErrInvalidGrant)},
			wantCalls: 1, wantStatus: needsReauth, wantErr: apierr.ErrFailedPrecondition, wantLastErr: "no longer accepts",
		},
		{
			name: "the budget ends during a wait", results: []error{transient}, sleepErr: context.DeadlineExceeded,
			wantCalls: 1, wantCeilings: []time.Duration{200 * time.Millisecond}, wantStatus: enabled,
			wantErr: apierr.ErrUnavailable, wantLastErr: "token endpoint error (HTTP 503)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			keys, err := keyring.Parse(secret.New(keyring.NewKey("k1")))
			if err != nil {
				t.Fatal(err)
			}
			p := &refreshProvider{results: tc.results}
			var waits []time.Duration
			m := New(Options{Keys: keys, Providers: []provider.Provider{p}, NowFunc: func() time.Time { return time.Unix(3600, 0) },
				SleepFunc: func(_ context.Context, d time.Duration) error {
					waits = append(waits, d)
					return tc.sleepErr
				}})
			cur := m.seal(store.Connection{ClientID: "c1", Provider: retail, Status: enabled, Enabled: true},
				provider.Token{Access: secret.New("access-1"), Refresh: secret.New("refresh-1"), Expiry: time.Unix(3600, 0)})

			next, err := m.refreshLocked(context.Background(), p, cur)
			if p.calls != tc.wantCalls {
				t.Errorf("%d refresh calls, want %d", p.calls, tc.wantCalls)
			}
			if len(waits) != len(tc.wantCeilings) {
				t.Fatalf("waits %v, want %d below %v", waits, len(tc.wantCeilings), tc.wantCeilings)
			}
			for i, w := range waits {
				if w <= 0 || w > tc.wantCeilings[i] {
					t.Errorf("wait %d is %v, want in (0, %v]", i+1, w, tc.wantCeilings[i])
				}
			}
			if (tc.wantErr == nil) != (err == nil) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("refreshLocked = %v, want %v", err, tc.wantErr)
			}
			if next == nil {
				t.Fatal("no row to write")
			}
			if next.Status != tc.wantStatus {
				t.Errorf("status %s, want %s", next.Status, tc.wantStatus)
			}
			if renewed := next.Generation != cur.Generation; renewed != tc.wantNewToken {
				t.Errorf("generation %d after %d: renewed %v, want %v", next.Generation, cur.Generation, renewed, tc.wantNewToken)
			}
			if !strings.Contains(next.LastError, tc.wantLastErr) || (tc.wantLastErr == "") != (next.LastError == "") {
				t.Errorf("last error %q, want one saying %q", next.LastError, tc.wantLastErr)
			}
		})
	}
}
