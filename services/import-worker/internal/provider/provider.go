// Package provider is the one place that names point-of-sale products: a registry from
// posimport.v1.PosProvider to what builds that product's pos.Source for a connected account:
// Lightspeed Retail (R-Series) and Lightspeed Restaurant (K-Series). Every source returns the
// error types of package pos, so [Permanent] and [RetryAfter] tell permanent failures from
// transient ones once, for every product.
package provider

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/oauth2"

	"github.com/posimport/posimport/pkg/lightspeed/restaurant"
	"github.com/posimport/posimport/pkg/lightspeed/retail"
	"github.com/posimport/posimport/pkg/pos"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// Account is a connected POS account, as the auth service describes it.
type Account struct {
	Provider posimportv1.PosProvider
	// ID is the provider's account id, as the auth service hands it out: the Lightspeed Retail
	// accountID, or the Lightspeed Restaurant businesses of the consent ("300001,300002",
	// restaurant.AccountID).
	ID string
	// Tokens supplies access tokens (from the auth service); it may implement
	// pos.TokenInvalidator.
	Tokens oauth2.TokenSource
}

// Key names the account's shared rate budget, e.g. "lightspeed_retail:100001" or
// "lightspeed_restaurant:300001,300002": one budget per Lightspeed account or token (DESIGN.md
// §5). A Lightspeed Restaurant consent of several businesses is one token, so its businesses
// share one budget; a second consent (another client, or other businesses) is another token
// and another budget.
func (a Account) Key() string {
	return providerKey(a.Provider) + ":" + a.ID
}

func providerKey(p posimportv1.PosProvider) string {
	switch p {
	case posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RETAIL:
		return "lightspeed_retail"
	case posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RESTAURANT:
		return "lightspeed_restaurant"
	}
	return "provider_" + strconv.Itoa(int(p))
}

// Hooks are what the worker lends a source: the account's share of the rate budget and a
// callback per upstream response, for metrics.
type Hooks struct {
	Limiter    pos.Limiter
	OnResponse func(status int)
	Logger     *slog.Logger
}

// Provider builds sources of one POS product.
type Provider struct {
	// New returns a source for the account.
	New func(a Account, h Hooks) (pos.Source, error)
	// Permanent reports whether err cannot succeed on retry, with a reason a person can act on.
	// Every registered product uses the package's [Permanent].
	Permanent func(err error) (reason string, ok bool)
	// RetryAfter reports how long the provider asked to wait before retrying, if it did. Every
	// registered product uses the package's [RetryAfter].
	RetryAfter func(err error) (time.Duration, bool)
}

// Permanent reports whether a source's err cannot succeed on retry, with a reason a person can
// act on: malformed data, and a request the POS refused (4xx other than 408 and 429).
// Unauthorized is the caller's to word (it needs a new consent, not a retry).
func Permanent(err error) (reason string, ok bool) {
	var de *pos.DataError
	if errors.As(err, &de) {
		return "Lightspeed sent malformed data: " + err.Error(), true
	}
	var se *pos.StatusError
	if errors.As(err, &se) && se.Refused() {
		return fmt.Sprintf("Lightspeed refused the request (%d): %s", se.Status, se.Message), true
	}
	return "", false
}

// RetryAfter reports how long the POS asked to wait before retrying, if it did.
func RetryAfter(err error) (time.Duration, bool) {
	var re *pos.RateLimitError
	if errors.As(err, &re) {
		return re.RetryAfter, true
	}
	return 0, false
}

// FetchesByLocation reports whether product p filters sales by location only, so that one
// fetch of a location serves all its registers: Lightspeed Restaurant filters by business
// location, not by device (R-Series filters by register).
func FetchesByLocation(p posimportv1.PosProvider) bool {
	return p == posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RESTAURANT
}

// Registry maps products to providers.
type Registry map[posimportv1.PosProvider]Provider

// Options configure the default registry.
type Options struct {
	// LightspeedAPIURL is the R-Series API base URL (the simulator's in tests).
	LightspeedAPIURL string
	// RestaurantAPIURL is the K-Series API base URL; default the production host.
	RestaurantAPIURL string
	// HTTPClient sends the requests; nil uses a default transport.
	HTTPClient *http.Client
	// RequestTimeout bounds one upstream request; 0 takes the client's default.
	RequestTimeout time.Duration
}

// Default returns the registry of the products posimport supports.
func Default(o Options) Registry {
	return Registry{
		posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RETAIL:     lightspeedRetail(o),
		posimportv1.PosProvider_POS_PROVIDER_LIGHTSPEED_RESTAURANT: lightspeedRestaurant(o),
	}
}

// ErrUnsupported is a provider without an implementation.
var ErrUnsupported = errors.New("POS provider is not supported")

// Get returns the provider of p.
func (r Registry) Get(p posimportv1.PosProvider) (Provider, error) {
	pr, ok := r[p]
	if !ok {
		return Provider{}, fmt.Errorf("%s: %w", p, ErrUnsupported)
	}
	return pr, nil
}

func lightspeedRetail(o Options) Provider {
	return Provider{
		New: func(a Account, h Hooks) (pos.Source, error) {
			id, err := strconv.ParseInt(a.ID, 10, 64)
			if err != nil || id <= 0 {
				return nil, fmt.Errorf("lightspeed retail account id %q is not a number", a.ID)
			}
			return retail.New(retail.Config{
				BaseURL: o.LightspeedAPIURL, AccountID: id, TokenSource: a.Tokens, HTTPClient: o.HTTPClient,
				Limiter: h.Limiter, RequestTimeout: o.RequestTimeout, Logger: h.Logger,
				OnResponse: func(e retail.ResponseEvent) {
					if h.OnResponse != nil {
						h.OnResponse(e.Status)
					}
				},
			})
		},
		Permanent: Permanent, RetryAfter: RetryAfter,
	}
}

// lightspeedRestaurant builds K-Series sources.
func lightspeedRestaurant(o Options) Provider {
	return Provider{
		New: func(a Account, h Hooks) (pos.Source, error) {
			ids, err := restaurant.ParseAccountID(a.ID)
			if err != nil {
				return nil, fmt.Errorf("lightspeed restaurant: %w", err)
			}
			var limiter pos.Limiter
			if h.Limiter != nil {
				// K-Series sends no rate-limit headers: the shared budget keeps the pace set here.
				h.Limiter.Observe(pos.BucketState{Size: restaurant.PaceBurst, DripRate: restaurant.PaceRate, BurstMax: restaurant.PaceBurst, At: time.Now()})
				limiter = h.Limiter
			}
			return restaurant.New(restaurant.Config{
				BaseURL: o.RestaurantAPIURL, BusinessIDs: ids, TokenSource: a.Tokens, HTTPClient: o.HTTPClient,
				Limiter: limiter, RequestTimeout: o.RequestTimeout, Logger: h.Logger,
				OnResponse: func(e restaurant.ResponseEvent) {
					if h.OnResponse != nil {
						h.OnResponse(e.Status)
					}
				},
			})
		},
		Permanent: Permanent, RetryAfter: RetryAfter,
	}
}
