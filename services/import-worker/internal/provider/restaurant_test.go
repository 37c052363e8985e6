package provider_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/posimport/posimport/pkg/lightspeed/restaurant"
	"github.com/posimport/posimport/pkg/pos"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
	"github.com/posimport/posimport/services/import-worker/internal/provider"
)

// pacer records what the registry tells the shared budget.
type pacer struct{ observed []pos.BucketState }

func (p *pacer) Wait(context.Context, float64) error { return nil }
func (p *pacer) Observe(s pos.BucketState)           { p.observed = append(p.observed, s) }
func (p *pacer) PauseUntil(time.Time)                {}

// TestRestaurantProvider: Lightspeed Restaurant is registered; its sources fill Visitors, pace
// the shared budget at the K-Series pace, call the configured host, and its failures are told
// apart like Lightspeed Retail's.
func TestRestaurantProvider(t *testing.T) {
	t.Parallel()
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		if r.URL.Path == "/f/v2/business-location/300001001/sales" {
			_, _ = w.Write([]byte(`{"sales":[]}`))
			return
		}
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"error":"Access denied to business location 7"}`))
	}))
	t.Cleanup(srv.Close)
	reg := provider.Default(provider.Options{LightspeedAPIURL: "https://retail.invalid", RestaurantAPIURL: srv.URL})
	p, err := reg.Get(posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RESTAURANT)
	if err != nil {
		t.Fatal(err)
	}
	budget := &pacer{}
	acct := provider.Account{Provider: posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RESTAURANT, ID: "300001",
		Tokens: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})}
	src, err := p.New(acct, provider.Hooks{Limiter: budget})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(src.DataTypes(), pos.Visitors) {
		t.Errorf("DataTypes %v lack Visitors", src.DataTypes())
	}
	if len(budget.observed) != 1 || budget.observed[0].DripRate != restaurant.PaceRate || budget.observed[0].Size != restaurant.PaceBurst {
		t.Errorf("the shared budget was told %+v, want the K-Series pace", budget.observed)
	}
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := src.Sales(context.Background(), pos.SalesQuery{LocationID: "300001001", From: day, Until: day.Add(time.Hour)}, func(pos.SaleFigures) error { return nil }); err != nil {
		t.Fatal(err)
	}
	err = src.Sales(context.Background(), pos.SalesQuery{LocationID: "7", From: day, Until: day.Add(time.Hour)}, func(pos.SaleFigures) error { return nil })
	if reason, ok := p.Permanent(err); !ok || reason != "Lightspeed refused the request (403): Access denied to business location 7" {
		t.Errorf("Permanent(%v) = %q, %v", err, reason, ok)
	}
	if d, ok := p.RetryAfter(&pos.RateLimitError{RetryAfter: 9 * time.Second}); !ok || d != 9*time.Second {
		t.Errorf("RetryAfter = %v, %v", d, ok)
	}
	for _, id := range []string{"business", "", "300002,300001"} {
		if _, err := p.New(provider.Account{ID: id}, provider.Hooks{}); err == nil {
			t.Errorf("account id %q: want an error", id)
		}
	}
	// A consent of several businesses is one token: one source, one budget for all of them.
	group := provider.Account{Provider: posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RESTAURANT, ID: "300001,300002", Tokens: acct.Tokens}
	if _, err := p.New(group, provider.Hooks{}); err != nil {
		t.Errorf("a consent of two businesses: %v", err)
	}
	if group.Key() != "lightspeed_restaurant:300001,300002" || acct.Key() != "lightspeed_restaurant:300001" {
		t.Errorf("budget keys %q and %q", group.Key(), acct.Key())
	}
	if want := []string{"/f/v2/business-location/300001001/sales", "/f/v2/business-location/7/sales"}; !slices.Equal(paths, want) {
		t.Errorf("requests %v, want %v", paths, want)
	}

}
