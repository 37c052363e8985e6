package sim

import (
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Options configure a [Server]. The zero value is a usable simulator: one account with one shop
// and one register, no sales, real time and the documented limits.
type Options struct {
	// Seed makes the generated data reproducible.
	Seed uint64
	// Data shapes the generated accounts and sales.
	Data DataOptions
	// Clients are the registered OAuth clients; default one confidential client
	// DefaultClientID/DefaultClientSecret accepting any redirect URI.
	Clients []Client
	// AccessTokenTTL is the access-token lifetime; default 1800 s, as the API's examples show.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is how long an unused refresh token lives; default 30 days.
	RefreshTokenTTL time.Duration
	// AutoConsent skips the consent page: /auth/oauth/authorize redirects with a code at once,
	// for the account named by the account_id parameter or else the first account.
	AutoConsent bool
	// RateLimit configures the leaky bucket and the burst limiter.
	RateLimit RateLimitOptions
	// Clock is the simulator's time; default the system clock.
	Clock Clock
	// PublicURL is the scheme and host used in the absolute paging URLs, e.g.
	// "http://127.0.0.1:8080"; default the request's own Host over http.
	PublicURL string
	// Logger receives one debug line per request; default discards.
	Logger *slog.Logger
	// Restaurant configures the Lightspeed Restaurant (K-Series) API served beside the
	// R-Series one. Clients, AutoConsent, Clock and Seed are shared.
	Restaurant RestaurantOptions
}

// The OAuth client registered when Options.Clients is empty.
const (
	DefaultClientID     = "posimport"
	DefaultClientSecret = "posimport-sim-secret"
)

// Server is the simulator: an http.Handler serving the R-Series OAuth and API V3 endpoints,
// the K-Series OAuth and Financial API, and the admin API. It is safe for concurrent use.
type Server struct {
	opts   Options
	clock  Clock
	log    *slog.Logger
	store  *store
	oauth  *oauthServer
	limits *limiter
	faults *faultSet
	counts *counters
	mux    *http.ServeMux
	rest   *restaurant
}

// New builds a simulator and generates its data.
func New(opts Options) (*Server, error) {
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.AccessTokenTTL == 0 {
		opts.AccessTokenTTL = defaultAccessTokenTTL
	}
	if opts.RefreshTokenTTL == 0 {
		opts.RefreshTokenTTL = defaultRefreshTokenTTL
	}
	if len(opts.Clients) == 0 {
		opts.Clients = []Client{{ID: DefaultClientID, Secret: DefaultClientSecret}}
	}
	s := &Server{
		opts: opts, clock: opts.Clock, log: opts.Logger.With("component", "lightspeed-sim"),
		store: newStore(), faults: &faultSet{}, counts: newCounters(), mux: http.NewServeMux(),
	}
	if err := generate(s.store, opts.Seed, opts.Data, s.clock.Now()); err != nil {
		return nil, fmt.Errorf("generate data: %w", err)
	}
	s.limits = newLimiter(opts.RateLimit, s.clock)
	s.oauth = newOAuthServer(oauthRules{
		product: "Lightspeed Retail", issuer: "https://cloud.lightspeedapp.com",
		accessTTL: opts.AccessTokenTTL, refreshTTL: opts.RefreshTokenTTL,
	}, s.clock, opts.Clients, s.store.consentAccounts, opts.AutoConsent)
	s.oauth.routes(s.mux, "/auth/oauth/")
	// Both OAuth cores sign with the process's one key, so one JWKS serves both.
	s.mux.HandleFunc("GET /.well-known/jwks", s.oauth.jwks)
	s.retailRoutes(s.mux)
	rest, err := newRestaurant(opts, s.clock)
	if err != nil {
		return nil, err
	}
	s.rest = rest
	s.restaurantRoutes(s.mux)
	s.adminRoutes(s.mux)
	s.restaurantAdminRoutes(s.mux)
	return s, nil
}

// ServeHTTP counts the request, applies any injected fault and serves it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ep := endpointOf(r)
	s.log.DebugContext(r.Context(), "request", "endpoint", ep)
	if strings.HasPrefix(r.URL.Path, "/admin/") {
		s.mux.ServeHTTP(w, r)
		return
	}
	s.counts.request(ep)
	if f, ok := s.faults.take(ep); ok {
		if f.apply(w, r, s.mux, s.counts, ep, s.clock.Now()) {
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// publicBase is the scheme and host of absolute URLs in responses.
func (s *Server) publicBase(r *http.Request) string {
	if s.opts.PublicURL != "" {
		return strings.TrimSuffix(s.opts.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

var idSegment = regexp.MustCompile(`/\d+(\.json)?(/|$)`)

// endpointOf names a request's endpoint: its method and path with ids replaced, e.g.
// "GET /API/V3/Account/{id}/Sale.json".
func endpointOf(r *http.Request) string {
	p := idSegment.ReplaceAllString(r.URL.Path, "/{id}$1$2")
	p = idSegment.ReplaceAllString(p, "/{id}$1$2") // adjacent ids share a slash
	return r.Method + " " + p
}

// EndpointCount is the traffic one endpoint saw.
type EndpointCount struct {
	Endpoint    string `json:"endpoint"`
	Requests    int64  `json:"requests"`
	RateLimited int64  `json:"rateLimited"`
	Faults      int64  `json:"faults"`
}

type counters struct {
	mu sync.Mutex
	m  map[string]*EndpointCount
}

func newCounters() *counters { return &counters{m: map[string]*EndpointCount{}} }

func (c *counters) get(ep string) *EndpointCount {
	e, ok := c.m[ep]
	if !ok {
		e = &EndpointCount{Endpoint: ep}
		c.m[ep] = e
	}
	return e
}

func (c *counters) request(ep string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.get(ep).Requests++
}

func (c *counters) limited(ep string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.get(ep).RateLimited++
}

func (c *counters) fault(ep string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.get(ep).Faults++
}

func (c *counters) snapshot() []EndpointCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]EndpointCount, 0, len(c.m))
	for _, e := range c.m {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Endpoint < out[j].Endpoint })
	return out
}

func (c *counters) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = map[string]*EndpointCount{}
}

// RequestCounts returns the requests per endpoint since the start or the last reset; admin
// requests are not counted.
func (s *Server) RequestCounts() []EndpointCount { return s.counts.snapshot() }

// Requests returns the requests one endpoint saw, e.g. "GET /API/V3/Account/{id}/Sale.json".
func (s *Server) Requests(endpoint string) EndpointCount {
	s.counts.mu.Lock()
	defer s.counts.mu.Unlock()
	if e, ok := s.counts.m[endpoint]; ok {
		return *e
	}
	return EndpointCount{Endpoint: endpoint}
}

// ResetCounts zeroes the request counts.
func (s *Server) ResetCounts() { s.counts.reset() }

// Accounts lists the accounts with their shops and registers.
func (s *Server) Accounts() []Account { return s.store.accountList() }

// AddSale stores a new sale for an account and returns it with its ids and calc fields.
func (s *Server) AddSale(accountID int64, in SaleInput) (Sale, error) {
	return s.store.addSale(accountID, in, s.clock.Now())
}

// ChangeSale edits a stored sale after the fact (a late edit, a void) and returns it.
func (s *Server) ChangeSale(accountID, saleID int64, ch SaleChange) (Sale, error) {
	return s.store.changeSale(accountID, saleID, ch, s.clock.Now())
}

// AddRegister adds a register to a shop of an account, as a merchant opening a new till does,
// and returns it (an empty name becomes "Register n"). Give it sales with [Server.AddSale].
// The account's rate-limit bucket grows with it, as with a larger subscription.
func (s *Server) AddRegister(accountID, shopID int64, name string) (Register, error) {
	return s.store.addRegister(accountID, shopID, name, s.clock.Now())
}

// Sales lists an account's stored sales matching f, in saleID order, whatever their status.
func (s *Server) Sales(accountID int64, f SaleFilter) ([]Sale, error) {
	return s.store.listSales(accountID, f)
}
