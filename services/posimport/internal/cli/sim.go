package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/pkg/platform/server"
)

// simFlags are the flags of "posimport sim".
type simFlags struct {
	addr        string
	publicURL   string
	seed        uint64
	accounts    int
	shops       int
	registers   int
	salesPerDay int
	zones       []string
	from, until string
	tokenTTL    time.Duration
	clientID    string
	secret      string
	autoConsent bool
	noLimits    bool
	bucketSize  float64
	dripRate    float64
	burst       int
	timeScale   float64
	products    []string
	restaurant  restaurantFlags
}

// restaurantFlags are the K-Series (Lightspeed Restaurant) flags of "posimport sim".
type restaurantFlags struct {
	businesses  int
	locations   int
	devices     int
	salesPerDay int
	zones       []string
	dayStart    time.Duration
	tokenTTL    time.Duration
	rate        float64
	burst       int
}

// The products "posimport sim" can generate data for.
const (
	productRetail     = "retail"
	productRestaurant = "restaurant"
)

func newSimCommand(g *globals) *cobra.Command {
	f := &simFlags{}
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Serve the Lightspeed Retail (R-Series) and Restaurant (K-Series) simulator",
		Long: `Serve the Lightspeed simulator: for Retail (R-Series) OAuth2 and API V3 with its quirks and
rate limits, for Restaurant (K-Series) OAuth2 with single-use refresh tokens and the Financial
API (businesses, sales, sales-daily), the admin API (/admin/...) and the oracles, over seeded
generated data. Both products are served on one address; --products chooses which get data.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSim(cmd.Context(), g, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8089", "address to listen on")
	fl.StringVar(&f.publicURL, "public-url", "", "base URL in paging links (default http://<addr>)")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the generated data")
	fl.IntVar(&f.accounts, "accounts", 1, "accounts to generate (ids from 100001)")
	fl.IntVar(&f.shops, "shops", 2, "shops per account")
	fl.IntVar(&f.registers, "registers", 2, "registers per shop")
	fl.IntVar(&f.salesPerDay, "sales-per-day", 80, "mean sales per register and day (0: none)")
	fl.StringSliceVar(&f.zones, "zones", nil, "shop time zones, used in turn (default a mix of IANA and US/* names)")
	fl.StringVar(&f.from, "from", "", "first date with sales, 2006-01-02 (default a year before --until)")
	fl.StringVar(&f.until, "until", "", "last date with sales, 2006-01-02 (default yesterday)")
	fl.DurationVar(&f.tokenTTL, "token-ttl", 1800*time.Second, "access token lifetime")
	fl.StringVar(&f.clientID, "client-id", sim.DefaultClientID, "OAuth client id")
	fl.StringVar(&f.secret, "client-secret", sim.DefaultClientSecret, "OAuth client secret")
	fl.BoolVar(&f.autoConsent, "auto-consent", false, "skip the consent page")
	fl.BoolVar(&f.noLimits, "no-rate-limit", false, "turn the leaky bucket and burst limiter off")
	fl.Float64Var(&f.bucketSize, "bucket-size", 90, "bucket size of a one-register account (+10 per further register)")
	fl.Float64Var(&f.dripRate, "drip-rate", 1, "drips per second of a one-register account (+0.5 per further register)")
	fl.IntVar(&f.burst, "burst", 0, "requests per second the burst limiter allows (default 2/9 of the bucket)")
	fl.Float64Var(&f.timeScale, "time-scale", 1, "run the rate limiters' clock this many times faster")
	fl.StringSliceVar(&f.products, "products", []string{productRetail, productRestaurant}, "products to generate sales for: retail, restaurant")
	r := &f.restaurant
	fl.IntVar(&r.businesses, "restaurant-businesses", 1, "K-Series businesses to generate (ids from 300001)")
	fl.IntVar(&r.locations, "restaurant-locations", 2, "business locations per business")
	fl.IntVar(&r.devices, "restaurant-devices", 2, "devices per business location")
	fl.IntVar(&r.salesPerDay, "restaurant-sales-per-day", 80, "mean receipts per device and day (0: none)")
	fl.StringSliceVar(&r.zones, "restaurant-zones", nil, "business location time zones, used in turn (default London, Copenhagen, New York, Sydney)")
	fl.DurationVar(&r.dayStart, "restaurant-day-start", 5*time.Hour+30*time.Minute, "local time after midnight when a business day starts (sales-daily)")
	fl.DurationVar(&r.tokenTTL, "restaurant-token-ttl", time.Hour, "K-Series access token lifetime")
	fl.Float64Var(&r.rate, "restaurant-rate", 0, "K-Series requests per second per business before 429s (0: no limit)")
	fl.IntVar(&r.burst, "restaurant-burst", 0, "K-Series requests allowed at once (default the rate)")
	return cmd
}

func parseDay(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s: %w", name, err)
	}
	return t, nil
}

func runSim(ctx context.Context, g *globals, f *simFlags) error {
	log := g.logger()
	from, err := parseDay("from", f.from)
	if err != nil {
		return err
	}
	until, err := parseDay("until", f.until)
	if err != nil {
		return err
	}
	generate := map[string]bool{}
	for _, p := range f.products {
		if p != productRetail && p != productRestaurant {
			return fmt.Errorf("--products: unknown product %q (retail, restaurant)", p)
		}
		generate[p] = true
	}
	if f.restaurant.dayStart < 0 || f.restaurant.dayStart >= 24*time.Hour {
		return fmt.Errorf("--restaurant-day-start: %v is outside [0, 24h)", f.restaurant.dayStart)
	}
	salesPerDay, restaurantSales := f.salesPerDay, f.restaurant.salesPerDay
	if !generate[productRetail] {
		salesPerDay = 0
	}
	if !generate[productRestaurant] {
		restaurantSales = 0
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	base := "http://" + ln.Addr().String()
	if f.publicURL != "" {
		base = f.publicURL
	}
	start := time.Now()
	s, err := sim.New(sim.Options{
		Seed: f.seed,
		Data: sim.DataOptions{Accounts: f.accounts, ShopsPerAccount: f.shops, RegistersPerShop: f.registers,
			SalesPerDay: salesPerDay, Zones: f.zones, From: from, Until: until},
		Restaurant: sim.RestaurantOptions{
			Data: sim.RestaurantDataOptions{Businesses: f.restaurant.businesses, LocationsPerBusiness: f.restaurant.locations,
				DevicesPerLocation: f.restaurant.devices, SalesPerDay: restaurantSales, Zones: f.restaurant.zones,
				From: from, Until: until, DayStart: f.restaurant.dayStart},
			AccessTokenTTL: f.restaurant.tokenTTL,
			RateLimit:      sim.RestaurantRateLimit{RequestsPerSecond: f.restaurant.rate, Burst: f.restaurant.burst},
		},
		Clients:        []sim.Client{{ID: f.clientID, Secret: f.secret}},
		AccessTokenTTL: f.tokenTTL,
		AutoConsent:    f.autoConsent,
		RateLimit: sim.RateLimitOptions{Disabled: f.noLimits, BucketSize: f.bucketSize, DripRate: f.dripRate,
			Burst: f.burst, TimeScale: f.timeScale},
		PublicURL: base,
		Logger:    log,
	})
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("build simulator: %w", err)
	}
	log.InfoContext(ctx, "simulator ready", "generated_in", time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(g.stdout, "Lightspeed simulator on %s\n", base)
	if generate[productRetail] {
		fmt.Fprintf(g.stdout, "R-Series (Lightspeed Retail)\n")
		fmt.Fprintf(g.stdout, "  authorize  %s/auth/oauth/authorize  (client %s)\n", base, f.clientID)
		fmt.Fprintf(g.stdout, "  token      %s/auth/oauth/token\n", base)
		fmt.Fprintf(g.stdout, "  API        %s/API/V3/Account.json\n", base)
		for _, a := range s.Accounts() {
			fmt.Fprintf(g.stdout, "  account    %d: %s/API/V3/Account/%d/Sale.json (%d shops, %d registers)\n", a.ID, base, a.ID, len(a.Shops), a.Registers())
		}
	}
	if generate[productRestaurant] {
		fmt.Fprintf(g.stdout, "K-Series (Lightspeed Restaurant)\n")
		fmt.Fprintf(g.stdout, "  authorize  %s/oauth/authorize  (client %s, scope financial-api)\n", base, f.clientID)
		fmt.Fprintf(g.stdout, "  token      %s/oauth/token\n", base)
		fmt.Fprintf(g.stdout, "  API        %s/f/data/businesses\n", base)
		for _, b := range s.Businesses() {
			for _, l := range b.Locations {
				fmt.Fprintf(g.stdout, "  location   %d of business %d: %s/f/v2/business-location/%d/sales (%s, %d devices)\n",
					l.ID, b.ID, base, l.ID, l.TimeZone, len(l.Devices))
			}
		}
	}
	fmt.Fprintf(g.stdout, "  admin      %s/admin/accounts, /admin/businesses, /admin/faults, /admin/stats, /admin/oracle, /admin/restaurant-oracle\n", base)

	srv := server.NewHTTPServer(s, server.Config{}, log)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.InfoContext(ctx, "shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
