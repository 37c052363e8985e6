package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/posimport/posimport/pkg/civil"
	"github.com/posimport/posimport/pkg/lightspeed/sim"
	"github.com/posimport/posimport/services/posimport/internal/allinone"
)

// upFlags are the flags of "posimport up".
type upFlags struct {
	grpcAddr, httpAddr string
	databaseURL        string
	natsURL            string
	natsListen         string
	streamPrefix       string
	shutdownTimeout    time.Duration
	simulate           bool
	simulatorURL       string
	sim                simData
}

// simData shapes the in-process simulator's generated data.
type simData struct {
	addr        string
	seed        uint64
	shops       int
	registers   int
	salesPerDay int
	zones       []string
	days        int
	timeScale   float64
	noLimits    bool
}

// options builds the simulator's options: one Lightspeed Retail account and one Lightspeed
// Restaurant business of the same shape (a business location per shop, a device per
// register, in the same zones), sales until yesterday.
func (d simData) options(now time.Time) *sim.Options {
	until := now.AddDate(0, 0, -1)
	from := until.AddDate(0, 0, -(d.days - 1))
	return &sim.Options{
		Seed: d.seed,
		Data: sim.DataOptions{Accounts: 1, ShopsPerAccount: d.shops, RegistersPerShop: d.registers,
			SalesPerDay: d.salesPerDay, Zones: d.zones, From: from, Until: until},
		Restaurant: sim.RestaurantOptions{Data: sim.RestaurantDataOptions{Businesses: 1, LocationsPerBusiness: d.shops,
			DevicesPerLocation: d.registers, SalesPerDay: d.salesPerDay, Zones: d.zones, From: from, Until: until}},
		RateLimit: sim.RateLimitOptions{Disabled: d.noLimits, TimeScale: d.timeScale},
	}
}

func newUpCommand(g *globals) *cobra.Command {
	f := &upFlags{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run the four services in one process",
		Long: `Run config, auth, balance and import-worker in one process, from the same packages their separate
deployments use, on one gRPC port and one HTTP port (REST, /openapi.json, /metrics, /healthz,
/readyz), with JetStream embedded (no network listener unless --nats-listen).

PostgreSQL: DATABASE_URL, or else a private cluster that up initialises under <data-dir>/pg
with the PostgreSQL server packages' initdb and pg_ctl, starts, and stops on exit; it takes
its superuser's password only (in <data-dir>/pg/password, mode 0600), on its socket and on
127.0.0.1. Its data, the JetStream store (<data-dir>/nats) and the keys (<data-dir>/keys: the
root of the services' and operators' JWT keys and the POS token encryption key, made on first
run, mode 0600) are kept between runs.

Lightspeed: --simulate runs the simulator in this process and points the services at it, for
Lightspeed Retail (an account, 100001) and Lightspeed Restaurant (a business, 300001) alike;
--simulator-url points them at one running elsewhere ("posimport sim"); otherwise the
services read LIGHTSPEED_CLIENT_ID, LIGHTSPEED_CLIENT_SECRET and the other variables of
their separate deployments from the environment, as they do WORKER_SLOTS, SCHEDULE_TIME and
the rest (see the README).

Ctrl-C (SIGINT) or SIGTERM stops it cleanly: the import-worker stops taking jobs and finishes
or hands back the ones in flight, the servers stop, NATS drains and the private PostgreSQL
stops. Queued jobs stay in the JetStream store and in PostgreSQL, and resume at the next up.`,
		Example: `  posimport up --simulate
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/posimport posimport up
  posimport up --grpc-addr :9090 --http-addr :8080 --data-dir /var/lib/posimport`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runUp(cmd.Context(), g, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.grpcAddr, "grpc-addr", "127.0.0.1:9090", "gRPC address of the four services")
	fl.StringVar(&f.httpAddr, "http-addr", "127.0.0.1:8080", "HTTP address: REST, /openapi.json, /metrics, /healthz, /readyz, the OAuth callback")
	fl.StringVar(&f.databaseURL, "database-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL [$DATABASE_URL]; empty runs a private cluster under <data-dir>/pg")
	fl.StringVar(&f.natsURL, "nats-url", "", "external NATS JetStream server; empty embeds one storing under <data-dir>/nats")
	fl.StringVar(&f.natsListen, "nats-listen", "", "host:port where the embedded NATS accepts clients; empty accepts none")
	fl.StringVar(&f.streamPrefix, "stream-prefix", "", "prefix of the JetStream stream and consumer names, to share a NATS server")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 15*time.Second, "bound of each stage of a clean stop (in-flight jobs, then requests)")
	fl.BoolVar(&f.simulate, "simulate", false, "run the Lightspeed simulator in this process and point the services at it")
	fl.StringVar(&f.simulatorURL, "simulator-url", "", "point the services at a Lightspeed simulator running there (posimport sim)")
	addSimDataFlags(cmd, &f.sim, simData{addr: "127.0.0.1:8089", shops: 3, registers: 3, salesPerDay: 80, days: 365, timeScale: 1,
		zones: append([]string(nil), sim.DefaultZones...)})
	cmd.MarkFlagsMutuallyExclusive("simulate", "simulator-url")
	return cmd
}

// addSimDataFlags adds the in-process simulator's flags with defaults def.
func addSimDataFlags(cmd *cobra.Command, d *simData, def simData) {
	fl := cmd.Flags()
	fl.StringVar(&d.addr, "sim-addr", def.addr, "address of the in-process simulator")
	fl.Uint64Var(&d.seed, "sim-seed", 1, "seed of the simulator's generated sales")
	fl.IntVar(&d.shops, "sim-shops", def.shops, "shops of the simulated Retail account (and locations of the Restaurant business)")
	fl.IntVar(&d.registers, "sim-registers", def.registers, "registers per simulated shop (and devices per Restaurant location)")
	fl.IntVar(&d.salesPerDay, "sim-sales-per-day", def.salesPerDay, "mean sales per register (and receipts per device) and day")
	fl.StringSliceVar(&d.zones, "sim-zones", def.zones, "time zones of the simulated shops and locations, used in turn")
	fl.IntVar(&d.days, "sim-days", def.days, "days of simulated sales, until yesterday")
	fl.Float64Var(&d.timeScale, "sim-time-scale", def.timeScale, "run the simulator's rate limiters this many times faster")
	fl.BoolVar(&d.noLimits, "sim-no-rate-limit", false, "turn the simulator's rate limits off")
}

func (f *upFlags) options(g *globals, logger io.Writer) (allinone.Options, error) {
	dir, err := filepath.Abs(g.dataDir)
	if err != nil {
		return allinone.Options{}, err
	}
	o := allinone.Options{
		DataDir: dir, GRPCAddr: f.grpcAddr, HTTPAddr: f.httpAddr, DatabaseURL: f.databaseURL,
		NATSURL: f.natsURL, NATSListen: f.natsListen, ShutdownTimeout: f.shutdownTimeout,
		SimulatorURL: f.simulatorURL, StreamPrefix: f.streamPrefix, Logger: g.loggerTo(logger),
	}
	if f.simulate {
		if f.sim.days < 1 {
			return o, errors.New("--sim-days: at least 1")
		}
		o.Simulate, o.SimAddr = f.sim.options(time.Now()), f.sim.addr
	}
	return o, nil
}

func runUp(ctx context.Context, g *globals, f *upFlags) error {
	o, err := f.options(g, g.stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "posimport: starting in %s\n", o.DataDir)
	s, err := allinone.Start(ctx, o)
	if err != nil {
		return err
	}
	printUp(g.stdout, s, o)
	err = s.Run(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(g.stdout, "posimport: stopped cleanly; queued jobs resume at the next up")
	return nil
}

// printUp tells where everything is.
func printUp(w io.Writer, s *allinone.Stack, o allinone.Options) {
	base := "http://" + s.HTTPAddr
	fmt.Fprintf(w, "posimport is up: config, auth, balance and import-worker in one process\n")
	fmt.Fprintf(w, "  REST       %s/v1/clients/{client_id}/...\n", base)
	fmt.Fprintf(w, "  gRPC       %s\n", s.GRPCAddr)
	fmt.Fprintf(w, "  OpenAPI    %s/openapi.json\n", base)
	fmt.Fprintf(w, "  metrics    %s/metrics   health %s/healthz, %s/readyz\n", base, base, base)
	fmt.Fprintf(w, "  data       %s\n", o.DataDir)
	pg := s.PostgresURL
	if s.PrivatePostgres {
		pg += "  (private cluster in " + filepath.Join(o.DataDir, "pg") + ")"
	}
	fmt.Fprintf(w, "  postgres   %s\n", pg)
	fmt.Fprintf(w, "  nats       %s\n", s.NATS)
	if s.SimURL != "" {
		fmt.Fprintf(w, "  simulator  %s  (Lightspeed Retail and Restaurant; admin API %s/admin/accounts, /admin/businesses)\n", s.SimURL, s.SimURL)
	}
	yesterday := civil.Today(time.Now(), time.Local).AddDays(-1)
	fmt.Fprintf(w, "Try:\n")
	fmt.Fprintf(w, "  posimport --data-dir %s config settings set --client acme --pos-import-enabled --provider retail --addr %s\n", o.DataDir, s.GRPCAddr)
	fmt.Fprintf(w, "  posimport --data-dir %s token --client acme --role supervisor    # a token for REST calls\n", o.DataDir)
	fmt.Fprintf(w, "  posimport --data-dir %s import start --client acme --from %s --until %s --watch --addr %s\n",
		o.DataDir, yesterday.AddDays(-6), yesterday, s.GRPCAddr)
	fmt.Fprintf(w, "Press Ctrl-C to stop.\n")
}
